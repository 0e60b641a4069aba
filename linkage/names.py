"""Agency and project names are case-insensitive identifiers.

`Gemeente` and `gemeente` are one agency. An agency's name labels its batches and its
reference key, so two spellings would make a second key (and references that never agree
with the first) and batches the hub refuses. Agency names are therefore kept in lower case,
a form the offline commands (encode, new-ref) compute without asking the hub. Project names
keep the spelling they were created with and are found whatever the case.
"""


def agency_name(text: str) -> str:
    """The one spelling of an agency name: trimmed and lower case ("Gemeente" -> "gemeente")."""
    return text.strip().lower()


def same_name(left: str, right: str) -> bool:
    """Whether two agency or project names are the same identifier (case and edges ignored)."""
    return left.strip().casefold() == right.strip().casefold()
