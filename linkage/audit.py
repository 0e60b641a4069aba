"""The audit chain shared by the hub and its auditors: entry hashes, signed checkpoints, checks.

Each entry records one request the hub answered. Its hash covers a domain label, the hash of
the entry before it and the entry's canonical JSON, so changing, removing or reordering an
entry breaks the chain at that point. Anyone can recompute hashes, so the hub also signs the
chain head with Ed25519 (RFC 8032) every N entries and on every export: a checkpoint pins
everything up to it, and a rewritten chain or a cut-off tail no longer matches the signatures.

Entries hold ids, never data: who (principal, agency, role, and the id of the token that
acted), what (action, method, resource path with ids), which project, the answer's status
and a record count. The token id came later: an entry's hash covers it only where it is
set, so entries written before it verify as they were.
"""

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

AUDIT_FORMAT = "fieldlink-audit/1"
GENESIS_HASH = "0" * 64  # the previous_hash of entry 1
ENTRY_FIELDS = (
    "sequence",
    "at",
    "request_id",
    "principal_id",
    "agency_id",
    "role",
    "action",
    "method",
    "project_id",
    "resource",
    "outcome",
    "records",
    "previous_hash",
)
# Covered by the hash when not null; absent or null in entries written before they existed.
OPTIONAL_ENTRY_FIELDS = ("token_id",)
# Domain separation: an entry hash can never be mistaken for another fieldlink digest.
_ENTRY_LABEL = b"fieldlink-audit/1 entry\n"
_CHECKPOINT_LABEL = "fieldlink-audit/1 checkpoint"
_EXPORTED_FIELDS = frozenset((*ENTRY_FIELDS, "entry_hash"))
_EXPORTED_WITH_OPTIONAL = _EXPORTED_FIELDS | frozenset(OPTIONAL_ENTRY_FIELDS)


def format_time(moment: datetime) -> str:
    """An entry's `at`: ISO 8601 in UTC with microseconds, e.g. 2026-05-01T09:30:00.000000Z."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry hash covers: compact JSON with sorted keys.

    The fixed field set, plus those of the optional fields that are set.

    Raises:
        KeyError: a field of ENTRY_FIELDS is missing.
    """
    fields = {name: entry[name] for name in ENTRY_FIELDS}
    fields |= {name: entry[name] for name in OPTIONAL_ENTRY_FIELDS if entry.get(name) is not None}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the domain label, the previous entry's hash and the canonical entry, hex."""
    digest = hashlib.sha256(_ENTRY_LABEL)
    digest.update(str(entry["previous_hash"]).encode("utf-8"))
    digest.update(canonical_entry(entry))
    return digest.hexdigest()


def checkpoint_message(sequence: int, head_hash: str) -> bytes:
    """What a checkpoint signature covers: the format label, a sequence and its entry hash."""
    message = {"format": _CHECKPOINT_LABEL, "sequence": sequence, "entry_hash": head_hash}
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode("ascii")


def sign_checkpoint(key: Ed25519PrivateKey, sequence: int, head_hash: str) -> str:
    """The hex Ed25519 signature of a checkpoint at `sequence` over `head_hash`."""
    return key.sign(checkpoint_message(sequence, head_hash)).hex()


def signature_is_valid(public_key_hex: str, sequence: int, head_hash: str, signature: str) -> bool:
    """Whether `signature` (hex) is the key's Ed25519 signature of this checkpoint."""
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        public_key.verify(bytes.fromhex(signature), checkpoint_message(sequence, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The outcome of checking a chain; `problem` names the first thing wrong, in words."""

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_sequence: int | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class _Failure:
    sequence: int | None
    problem: str


class ChainVerifier:
    """Checks entries fed in export order; holds the checkpoints, never the whole chain.

    The hub streams its stored chain through one of these; `verify_export` feeds it a
    document. After the first problem the verifier only looks ahead for an entry that a
    gap in the sequence numbers left out, to tell "missing" from "out of order".
    """

    def __init__(
        self,
        checkpoints: Iterable[Mapping[str, Any]],
        public_keys: Mapping[str, str],
        *,
        trusted_keys: Collection[str] | None = None,
        first_sequence: int = 1,
    ) -> None:
        self._public_keys = dict(public_keys)
        self._trusted = None if trusted_keys is None else {key.lower() for key in trusted_keys}
        self._expected = first_sequence
        # A partial export starts mid-chain: its first previous_hash is taken as given.
        self._previous: str | None = GENESIS_HASH if first_sequence == 1 else None
        self._last_signed = first_sequence - 1
        self._entries_ok = self._checkpoints_ok = self._position = 0
        self._gap: tuple[int, int] | None = None  # (sequence expected, sequence seen)
        self._failure: _Failure | None = None
        self._checkpoints: dict[int, Mapping[str, Any]] = {}
        for position, checkpoint in enumerate(checkpoints, 1):
            self._add_checkpoint(position, checkpoint)

    def feed(self, entry: Mapping[str, Any]) -> None:
        """Check the next entry of the export."""
        self._position += 1
        if self._gap is not None:
            self._look_for_gap(entry)
        elif self._failure is None:
            self._failure = self._check(entry)

    def result(self, *, require_signed_head: bool = True) -> AuditVerification:
        """The verdict once every entry was fed.

        Args:
            require_signed_head: An export always ends on a checkpoint, so unsigned entries at
                its end mean the signed head was cut off. The hub's live chain has an
                unsigned tail between checkpoints; it checks itself with False.
        """
        failure = self._failure or self._gap_failure() or self._tail_failure(require_signed_head)
        if failure is None:
            return AuditVerification(True, self._entries_ok, self._checkpoints_ok)
        return AuditVerification(
            False, self._entries_ok, self._checkpoints_ok, failure.sequence, failure.problem
        )

    def _add_checkpoint(self, position: int, checkpoint: Mapping[str, Any]) -> None:
        sequence = checkpoint.get("sequence") if isinstance(checkpoint, Mapping) else None
        fields = ("entry_hash", "key_id", "signature")
        if not _is_int(sequence) or not all(isinstance(checkpoint.get(f), str) for f in fields):
            self._failure = self._failure or _Failure(None, f"checkpoint {position} is malformed")
            return
        if sequence >= self._expected:  # earlier ones lie outside a partial export
            self._checkpoints[sequence] = checkpoint

    def _check(self, entry: Mapping[str, Any]) -> _Failure | None:
        sequence = _sequence_of(entry)
        if sequence is None:
            return _Failure(None, f"the entry at position {self._position} is malformed")
        if sequence > self._expected:
            self._gap = (self._expected, sequence)
            return None
        if sequence < self._expected:
            return _Failure(sequence, f"entry {sequence} appears twice")
        if entry_hash(entry) != entry["entry_hash"]:
            return _Failure(sequence, f"entry {sequence} was altered")
        failure = self._check_link(sequence, entry) or self._check_checkpoint(sequence, entry)
        if failure is None:
            self._previous, self._expected = entry["entry_hash"], sequence + 1
            self._entries_ok += 1
        return failure

    def _check_link(self, sequence: int, entry: Mapping[str, Any]) -> _Failure | None:
        if self._previous is None or entry["previous_hash"] == self._previous:
            return None
        if self._previous == GENESIS_HASH:
            return _Failure(sequence, f"entry {sequence} was altered (it does not start the chain)")
        return _Failure(
            sequence - 1,
            f"the chain breaks between entries {sequence - 1} and {sequence} "
            "(one of them was altered and its hash recomputed)",
        )

    def _check_checkpoint(self, sequence: int, entry: Mapping[str, Any]) -> _Failure | None:
        checkpoint = self._checkpoints.pop(sequence, None)
        if checkpoint is None:
            return None
        failure = self._signature_failure(sequence, checkpoint)
        if failure is None and checkpoint["entry_hash"] != entry["entry_hash"]:
            first = self._last_signed + 1
            failure = _Failure(
                first,
                f"entries {first} to {sequence} were rewritten "
                f"(signed checkpoint {sequence} does not match them)",
            )
        if failure is None:
            self._checkpoints_ok += 1
            self._last_signed = sequence
        return failure

    def _signature_failure(self, sequence: int, checkpoint: Mapping[str, Any]) -> _Failure | None:
        key_id = checkpoint["key_id"]
        public_key = self._public_keys.get(key_id)
        if public_key is None:
            return _Failure(sequence, f"checkpoint at {sequence} names an unknown key {key_id}")
        if self._trusted is not None and public_key.lower() not in self._trusted:
            return _Failure(
                sequence, f"checkpoint at {sequence} is signed by key {key_id}, which is not pinned"
            )
        if not signature_is_valid(
            public_key, sequence, checkpoint["entry_hash"], checkpoint["signature"]
        ):
            return _Failure(sequence, f"checkpoint at {sequence} has a bad signature")
        return None

    def _look_for_gap(self, entry: Mapping[str, Any]) -> None:
        assert self._gap is not None  # noqa: S101 - only called with a gap open
        expected, seen = self._gap
        if self._failure is None and _sequence_of(entry) == expected:
            self._failure = _Failure(expected, f"entries {expected} and {seen} are out of order")

    def _gap_failure(self) -> _Failure | None:
        if self._gap is None:
            return None
        expected, seen = self._gap
        if seen == expected + 1:
            return _Failure(expected, f"entry {expected} is missing")
        return _Failure(expected, f"entries {expected} to {seen - 1} are missing")

    def _tail_failure(self, require_signed_head: bool) -> _Failure | None:
        last = self._expected - 1
        if self._checkpoints:  # signed checkpoints beyond the last entry
            sequence = min(self._checkpoints)
            failure = self._signature_failure(sequence, self._checkpoints[sequence])
            return failure or _Failure(
                last + 1,
                f"the export ends before signed checkpoint {sequence} (entries removed at the end)",
            )
        if require_signed_head and self._entries_ok and self._last_signed < last:
            first = self._last_signed + 1
            return _Failure(
                first,
                f"entries {first} to {last} are not covered by a signed checkpoint "
                "(the export's signed head was removed)",
            )
        return None


def verify_export(
    document: Any,
    trusted_keys: Collection[str] | None = None,
    *,
    require_signed_head: bool = True,
) -> AuditVerification:
    """Check a "fieldlink-audit/1" export: every entry, link and checkpoint signature.

    Args:
        document: The parsed JSON export.
        trusted_keys: Hex Ed25519 public keys the auditor pinned (from GET /v1/audit/keys, or
            out of band). Checkpoints signed by any other key fail. Without pins the keys
            listed in the export itself are used, which proves integrity only against
            someone who cannot also replace those keys.
        require_signed_head: See `ChainVerifier.result`.

    Returns:
        The verdict; `problem` names the first altered, missing or misplaced entry or
        checkpoint, and `first_bad_sequence` its sequence number.
    """
    if not isinstance(document, Mapping) or document.get("format") != AUDIT_FORMAT:
        return AuditVerification(False, 0, 0, None, f"not a {AUDIT_FORMAT} document")
    entries, checkpoints = document.get("entries"), document.get("checkpoints", [])
    public_keys, first = document.get("public_keys", {}), document.get("from_sequence", 1)
    if not (
        isinstance(entries, list)
        and isinstance(checkpoints, list)
        and _is_str_map(public_keys)
        and _is_int(first)
        and first >= 1
    ):
        return AuditVerification(False, 0, 0, None, f"not a well-formed {AUDIT_FORMAT} document")
    verifier = ChainVerifier(
        checkpoints, public_keys, trusted_keys=trusted_keys, first_sequence=first
    )
    for entry in entries:
        verifier.feed(entry)
    return verifier.result(require_signed_head=require_signed_head)


def _sequence_of(entry: Any) -> int | None:
    if not isinstance(entry, Mapping) or set(entry) not in (
        _EXPORTED_FIELDS,
        _EXPORTED_WITH_OPTIONAL,
    ):
        return None
    sequence = entry["sequence"]
    hashes_are_text = isinstance(entry["previous_hash"], str) and isinstance(
        entry["entry_hash"], str
    )
    return sequence if _is_int(sequence) and hashes_are_text else None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


# Purge receipts -----------------------------------------------------------------------

RECEIPT_FORMAT = "fieldlink-purge-receipt/1"
_RECEIPT_LABEL = b"fieldlink-purge-receipt/1\n"


@dataclass(frozen=True, slots=True)
class ReceiptVerification:
    """The outcome of checking a purge receipt; `problem` says what is wrong, in words."""

    ok: bool
    problem: str | None = None


def receipt_message(receipt: Mapping[str, Any]) -> bytes:
    """What a receipt's signature covers: a label and every field but the signature."""
    body = {name: value for name, value in receipt.items() if name != "signature"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return _RECEIPT_LABEL + text.encode("ascii")


def signing_key_id(public_key_hex: str) -> str:
    """The hub's 16-hex id of an audit signing key, from its raw public key (hex)."""
    return hashlib.sha256(b"signing\0" + bytes.fromhex(public_key_hex)).hexdigest()[:16]


def sign_receipt(key: Ed25519PrivateKey, body: Mapping[str, Any]) -> str:
    """The hex Ed25519 signature of a receipt (its `signature` field, if any, is ignored)."""
    return key.sign(receipt_message(body)).hex()


def verify_receipt(
    document: Any, trusted_keys: Collection[str] | None = None
) -> ReceiptVerification:
    """Check a purge receipt's signature, offline.

    Args:
        document: The parsed receipt.
        trusted_keys: Hex Ed25519 public keys pinned (GET /v1/audit/keys); without them the
            key inside the receipt is used, which proves only that the receipt is intact.
    """
    if not isinstance(document, Mapping) or document.get("format") != RECEIPT_FORMAT:
        return ReceiptVerification(False, f"not a {RECEIPT_FORMAT} document")
    public_key, signature = document.get("public_key"), document.get("signature")
    if not isinstance(public_key, str) or not isinstance(signature, str):
        return ReceiptVerification(False, "the receipt lacks its public key or signature")
    try:
        key_id = signing_key_id(public_key)
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(signature), receipt_message(document))
    except (InvalidSignature, ValueError):
        return ReceiptVerification(False, "the signature does not match the receipt")
    if document.get("key_id") != key_id:
        return ReceiptVerification(False, "the receipt's key id does not match its key")
    if trusted_keys is not None and public_key.lower() not in {k.lower() for k in trusted_keys}:
        return ReceiptVerification(False, f"signed by key {key_id}, which is not pinned")
    return ReceiptVerification(True)


# What an entry was about, read from its resource path (for tables and pages).
_RUN = re.compile(r"runs/([0-9a-f-]{36})|run=([0-9a-f-]{36})")
_HIT = re.compile(r"hits/(\d+)|hits?=([\d,-]+)")
_SUSPECT = re.compile(r"suspects/([0-9a-f-]{36})")
_UPLOAD = re.compile(r"uploads/([0-9a-f-]{36})|upload=([0-9a-f-]{36})")


def about(resource: str | None) -> str:
    """What an entry was about, from its resource: run, hit(s), suspect, upload (short ids).

    A run the standing watch queued reads "run 3f2a1b9c upload 9d8e7f6a": the upload that
    queued it.
    """
    parts: list[str] = []
    text = resource or ""
    if match := _RUN.search(text):
        parts.append(f"run {(match.group(1) or match.group(2))[:8]}")
    if match := _HIT.search(text):
        hits = match.group(1) or match.group(2)
        parts.append(f"hit{'s' if not hits.isdigit() else ''} {hits}")
    if match := _SUSPECT.search(text):
        parts.append(f"suspect {match.group(1)[:8]}")
    if match := _UPLOAD.search(text):
        parts.append(f"upload {(match.group(1) or match.group(2))[:8]}")
    return " ".join(parts)
