"""The checks a wrapped key passes before the hub relays it: public labels only.

The hub cannot unwrap a `fieldlink-wrapped-key/1` document and does not try to. It checks
what it can see: the document's shape, that it names the agency it is deposited for and
one of that agency's registered live keys, that its (epoch, key check value) pair is one
of the project's, and that its project label is the one the project's other wrapped keys
carry. The key check value is derived from the secret and its project label, so a matching
one binds the document to this project's secret. Refusals name the failed label, never a
binary field.
"""

from dataclasses import dataclass
from typing import Any

from service.errors import InvalidInput

WRAPPED_KEY_FORMAT = "fieldlink-wrapped-key/1"
MAX_FIELD_CHARS = 512
_FIELDS = frozenset(
    {
        "format",
        "project",
        "recipient",
        "recipient_key_id",
        "epoch",
        "key_check",
        "ephemeral_key",
        "nonce",
        "ciphertext",
    }
)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class WrappedLabels:
    """The public labels of a wrapped-key document."""

    project: str
    recipient: str
    recipient_key_id: str
    epoch: int
    key_check: str


def read_labels(document: dict[str, Any]) -> WrappedLabels:
    """The labels of a wrapped-key document; InvalidInput when it is not well formed."""
    if set(document) != _FIELDS or document["format"] != WRAPPED_KEY_FORMAT:
        raise InvalidInput(f"not a {WRAPPED_KEY_FORMAT} document")
    if not all(isinstance(document[name], str) for name in _FIELDS - {"epoch"}):
        raise InvalidInput("a field of the wrapped key is not text")
    if any(len(document[name]) > MAX_FIELD_CHARS for name in _FIELDS - {"epoch"}):
        raise InvalidInput("a field of the wrapped key is too long")
    epoch = document["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise InvalidInput("epoch must be a whole number from 1")
    labels = WrappedLabels(
        project=document["project"],
        recipient=document["recipient"],
        recipient_key_id=document["recipient_key_id"],
        epoch=epoch,
        key_check=document["key_check"],
    )
    for name in ("recipient_key_id", "key_check"):
        if not _is_id(getattr(labels, name)):
            raise InvalidInput(f"{name} must be 16 hex digits")
    if not labels.project:
        raise InvalidInput("project label is empty")
    return labels


def check_binding(
    labels: WrappedLabels, *, agency: str, epochs: dict[int, str], project_label: str | None
) -> None:
    """Refuse a document that is not for this agency, epoch and project (InvalidInput)."""
    if labels.recipient != agency:
        raise InvalidInput(f"the wrapped key is not for {agency!r}")  # never the input's label
    if epochs.get(labels.epoch) != labels.key_check:
        raise InvalidInput(
            f"the project has no epoch {labels.epoch} with the wrapped key's key check value"
        )
    if project_label is not None and labels.project != project_label:
        raise InvalidInput(
            f"the wrapped key is bound to another project label than {project_label!r}"
        )


def _is_id(value: str) -> bool:
    return len(value) == 16 and set(value) <= _HEX
