"""Names of agencies, principals and projects: one rule for what a name may hold.

Names are shown in the CLI, the web pages, exports and log lines, and agencies label their
batch files with their agency's name. So a name is NFC-normalised, trimmed, 1-80 characters
(a batch label's limit, `linkage.batch`), printable (no control characters, no NUL, which
PostgreSQL text cannot hold, and no bidirectional or zero-width format characters, which
make a name display as another), holds no path separator (slash or backslash) and is not
`.` or `..`, so that a name used in a file or URL path stays one segment.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

MAX_NAME_CHARS = 80
_SEPARATORS = frozenset("/\\")


def check_name(value: str) -> str:
    """The name as stored: normalised and trimmed; the error says which rule it breaks."""
    name = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise PydanticCustomError(
            "name_length", f"a name must be 1-{MAX_NAME_CHARS} characters, spaces around it aside"
        )
    if not name.isprintable():
        raise PydanticCustomError(
            "name_unprintable", "a name must hold printable characters only (no control or format)"
        )
    if _SEPARATORS.intersection(name) or name.strip(".") == "":
        raise PydanticCustomError(
            "name_path", "a name must not hold a path separator or be only dots"
        )
    return name


# The bounds are checked again after trimming; these are the spec's and refuse long input early.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(check_name)]
