import pickle

import pytest

from keys import KeyFileError
from linkage.errors import InvalidValue, RecordError


@pytest.mark.parametrize(
    "error",
    [
        RecordError(12, "dob", "is not a valid date"),
        InvalidValue("is not a valid date"),
        KeyFileError("/k", "does not exist"),
    ],
)
def test_errors_survive_pickling_between_worker_processes(error: Exception) -> None:
    again = pickle.loads(pickle.dumps(error))

    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)


def test_record_error_names_line_and_field() -> None:
    assert (
        str(RecordError(12, "dob", "is not a valid date"))
        == "line 12: field 'dob' is not a valid date"
    )
