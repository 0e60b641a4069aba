"""What a 422 says of a failed request validation: where, and what kind of error; no value.

pydantic's messages quote the input (a UUID error names the offending character and its
position) and its context (`ctx`) can hold the input or a validator's exception. So a
problem lists, per error, its location and a fixed phrase for its type, nothing else:

- pydantic's own error types get the phrase of `_PHRASES`, else their type name spelt out
  ("string_too_long" -> "string too long"): never `input`, never `ctx`;
- the hub's own validators raise `pydantic_core.PydanticCustomError` with a fixed message
  and no context (`invalid()`); that message is shown as it is;
- a location part that came from the input (the name of a field the model does not have)
  is replaced by "*".
"""

from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ErrorType

MAX_ERRORS = 50  # a list of 10,000 bad items gets the first 50 errors, not 10,000
_BUILT_IN = frozenset(get_args(ErrorType))
_INPUT_KEYS = frozenset({"extra_forbidden", "invalid_key"})  # the last loc part is input
_PHRASES = {
    "missing": "required",
    "extra_forbidden": "not a known field",
    "json_invalid": "not valid JSON",
    "uuid_parsing": "not a valid UUID",
    "uuid_type": "not a valid UUID",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "float_parsing": "not a number",
    "bool_parsing": "not true or false",
    "literal_error": "not one of the allowed values",
    "enum": "not one of the allowed values",
    "greater_than": "too small",
    "greater_than_equal": "too small",
    "less_than": "too large",
    "less_than_equal": "too large",
    "string_too_short": "too short",
    "string_too_long": "too long",
    "too_short": "too few items",
    "too_long": "too many items",
    "string_pattern_mismatch": "not in the expected format",
    "datetime_parsing": "not a valid date and time",
    "datetime_from_date_parsing": "not a valid date and time",
    "timezone_aware": "needs a time zone",
    "value_error": "not a valid value",
}


def invalid(kind: str, message: str) -> PydanticCustomError:
    """A validation error of the hub's own, shown with its fixed message (no value in it)."""
    return PydanticCustomError(kind, message)


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[tuple[list[str], str]]:
    """(location, message) per error, at most MAX_ERRORS, with no input value in either."""
    found: list[tuple[list[str], str]] = []
    for error in errors:
        if len(found) == MAX_ERRORS:
            break
        found.append((_location(error), _message(error)))
    return found


def _location(error: Mapping[str, Any]) -> list[str]:
    loc = [str(part) for part in error.get("loc", ())]
    if error.get("type") in _INPUT_KEYS and loc:
        loc[-1] = "*"
    return loc


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", "value_error"))
    if kind in _BUILT_IN:
        return _PHRASES.get(kind, kind.replace("_", " "))
    if not error.get("ctx"):  # ours (`invalid`): a fixed message, nothing interpolated
        return str(error.get("msg", kind))
    return kind.replace("_", " ")
