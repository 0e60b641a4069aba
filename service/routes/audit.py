"""The audit log: auditors list, export and verify the hub's whole chain; its keys are public."""

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from linkage.audit import AUDIT_FORMAT, AuditVerification, ChainVerifier, format_time
from service.audit_writer import AuditWriter
from service.deps import AuditorDep, SessionDep
from service.errors import problem_responses
from service.hub_keys import HubKeys
from service.models import utcnow
from service.schemas import (
    INT64_MAX,
    AuditEntryList,
    AuditEntryPublic,
    AuditEntryQuery,
    AuditExport,
    AuditKeysPublic,
    AuditVerificationPublic,
)
from service.store import audit as store

router = APIRouter(prefix="/audit", tags=["audit"])

_SIGN_TIMEOUT_S = 30.0


@router.get("/entries", responses=problem_responses(401, 403, 422))
def list_audit_entries(
    query: Annotated[AuditEntryQuery, Query()],
    auditor: AuditorDep,
    session: SessionDep,
    request: Request,
) -> AuditEntryList:
    """List audit entries in chain order, filtered; page with `after` and `limit`."""
    where = store.EntryFilter(**query.model_dump(exclude={"after", "limit"}))
    rows = store.list_entries(session, where, after=query.after, limit=query.limit + 1)
    rows, more = rows[: query.limit], len(rows) > query.limit  # one extra row: is there more?
    request.state.audit_records = len(rows)
    next_after = rows[-1].sequence if more else None
    return AuditEntryList(
        items=[AuditEntryPublic.model_validate(row) for row in rows], next_after=next_after
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {"model": AuditExport, "description": "The fieldlink-audit/1 document"},
        **problem_responses(401, 403, 422),
    },
)
def export_audit_log(
    auditor: AuditorDep,
    session: SessionDep,
    request: Request,
    from_sequence: Annotated[int, Query(alias="from", ge=1, le=INT64_MAX)] = 1,
    to_sequence: Annotated[int | None, Query(alias="to", ge=1, le=INT64_MAX)] = None,
) -> StreamingResponse:
    """Export the chain (or entries from..to) with its signed checkpoints, streamed."""
    writer: AuditWriter = request.app.state.audit_writer
    # Every export ends on a checkpoint signed now, so a cut-off tail shows in verification.
    head = writer.sign_head(to_sequence).result(timeout=_SIGN_TIMEOUT_S)
    last = head["sequence"] if head is not None else 0
    keys: HubKeys = request.app.state.hub_keys
    header = {
        "format": AUDIT_FORMAT,
        "exported_at": format_time(utcnow()),
        "from_sequence": from_sequence,
        "to_sequence": last,
        "public_keys": keys.public_keys(),
        "checkpoints": [
            store.checkpoint_record(checkpoint)
            for checkpoint in store.list_checkpoints(session, first=from_sequence, last=last)
        ],
    }
    request.state.audit_records = max(0, last - from_sequence + 1)
    return StreamingResponse(
        _export_chunks(session, header, first=from_sequence, last=last),
        media_type="application/json",
    )


@router.get("/verify", responses=problem_responses(401, 403))
def verify_audit_log(
    auditor: AuditorDep, session: SessionDep, request: Request
) -> AuditVerificationPublic:
    """Check the stored chain: every entry hash, link and checkpoint signature."""
    keys: HubKeys = request.app.state.hub_keys
    result = _verify_stored_chain(session, keys.public_keys())
    request.state.audit_records = result.entries_checked
    return AuditVerificationPublic.model_validate(result)


@router.get("/keys")
def get_audit_keys(request: Request) -> AuditKeysPublic:
    """The hub's audit signing public keys by id (no token needed), for auditors to pin."""
    keys: HubKeys = request.app.state.hub_keys
    return AuditKeysPublic(active_key_id=keys.signing.active_id, public_keys=keys.public_keys())


def _verify_stored_chain(session: Session, public_keys: dict[str, str]) -> AuditVerification:
    head, _ = store.chain_head(session)
    checkpoints = store.list_checkpoints(session, first=1, last=head)
    verifier = ChainVerifier(
        [store.checkpoint_record(checkpoint) for checkpoint in checkpoints],
        public_keys,
        trusted_keys=list(public_keys.values()),  # the hub trusts its own keyring only
    )
    for page in store.iter_entry_pages(session, first=1, last=head):
        for row in page:
            verifier.feed(store.entry_record(row))
    # The live chain has unsigned entries after its last checkpoint; that is no fault.
    return verifier.result(require_signed_head=False)


def _export_chunks(
    session: Session, header: dict[str, Any], *, first: int, last: int
) -> Iterator[bytes]:
    opening = json.dumps(header)
    yield (opening[:-1] + ', "entries": [\n').encode()
    separator = ""
    for page in store.iter_entry_pages(session, first=first, last=last):
        lines = ",\n".join(json.dumps(store.entry_record(row)) for row in page)
        yield (separator + lines).encode()
        separator = ",\n"
    yield b"\n]}\n"
