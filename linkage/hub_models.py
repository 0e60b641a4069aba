"""The hub's answers as the client sees them (pydantic models; unknown fields ignored)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class HubModel(BaseModel):
    """A hub answer; fields the client does not know yet are ignored, not rejected."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Agency(HubModel):
    id: uuid.UUID
    name: str


class PrincipalInfo(HubModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    name: str
    role: str
    # Enrolled, but its tokens work only once a second person activated it.
    pending_activation: bool = False


class Enrolled(HubModel):
    """A redeemed enrolment code: the own token, and the check to read out to the activator."""

    principal_id: uuid.UUID
    token: str
    enrolment_check: str


class NewPrincipal(HubModel):
    """A registered principal and its one-time enrolment code (the administrator delivers it)."""

    principal: PrincipalInfo
    code: str
    expires_at: datetime


class EnrolmentCode(HubModel):
    """A one-time enrolment code for a principal, shown once; it expires at `expires_at`."""

    principal_id: uuid.UUID
    code: str
    expires_at: datetime


class Member(PrincipalInfo):
    """A principal on a project's team; `pending` until a second person confirmed it."""

    status: str = "confirmed"


class Project(HubModel):
    id: uuid.UUID
    name: str
    agency_ids: list[uuid.UUID]
    schema_fingerprint: str
    key_check: str
    threshold: float | None
    min_agencies: int
    expires_at: datetime
    key_epoch: int = 1
    key_label: str | None = None  # the label the project's secret is bound to, once known
    disclosure_approval: bool = False
    # Probing controls at upload (older hubs lack them: no budget, unsalted accepted).
    upload_budget_records: int | None = None  # the most records one agency may upload
    max_near_duplicate_share: float = 1.0
    min_fill_share: float = 0.0
    require_salted_encodings: bool = False
    watch: bool = False  # standing watch: each batch added or replaced queues a run


class WatchOutcome(HubModel):
    """What a project's standing watch did about an upload: the run queued, or why none."""

    run_id: uuid.UUID | None = None
    reason: str | None = None


class Upload(HubModel):
    id: uuid.UUID
    project_id: uuid.UUID
    agency: str
    record_count: int
    filter_bits: int
    digest: str
    created_at: datetime
    key_check: str | None = None
    size_bytes: int | None = None
    already_stored: bool = False  # set by the client: the hub had this file already (200)
    watch: WatchOutcome | None = None  # on a watched project: the run the upload queued


class RunChanges(HubModel):
    """What changed since the project's previous succeeded run (counts of hits)."""

    since_run_id: uuid.UUID
    new: int
    grown: int
    changed: int
    unchanged: int
    gone: int


class Run(HubModel):
    id: uuid.UUID
    project_id: uuid.UUID
    status: str
    stage: str
    progress: float
    threshold: float | None
    hit_count: int | None
    error: str | None
    min_agencies: int | None = None
    records: dict[str, int] = {}  # records compared, by agency name (data officers: own)
    estimated_precision: float | None = None
    estimated_recall: float | None = None
    recall_basis: str | None = None  # "all pairs" (with recall_interval) or "compared pairs"
    recall_interval: tuple[float, float] | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    trigger: str = "analyst"  # or "watch": queued by an upload under the standing watch
    trigger_upload_id: uuid.UUID | None = None  # that upload (shown to the team only)
    changes: RunChanges | None = None  # since the previous succeeded run (the team only)

    @property
    def finished(self) -> bool:
        """True once the run succeeded or failed."""
        return self.status in ("succeeded", "failed")


class HitMember(HubModel):
    agency: str
    reference: str


class Hit(HubModel):
    id: uuid.UUID
    number: int
    agencies: list[str]
    members: list[HitMember]
    best_score: float
    agreed_fields: list[str] | None = None  # comparisons that agreed (field scoring)


class Suspect(HubModel):
    id: uuid.UUID
    hit_id: uuid.UUID
    status: str
    note: str
    agencies: list[str]
    run_id: uuid.UUID | None = None  # the run and hit it was shortlisted from
    hit_number: int | None = None


class RegisteredKey(HubModel):
    """A public key registered at the hub (`public_key` is base64, as in key files)."""

    id: uuid.UUID
    kind: str
    owner: str
    agency_id: uuid.UUID
    project_id: uuid.UUID | None
    key_id: str
    public_key: str


class DepositedKey(HubModel):
    """A wrapped key at the hub; `document` only in the own agency's copy."""

    agency_id: uuid.UUID
    agency: str
    epoch: int
    key_check: str
    recipient_key_id: str
    document: dict[str, Any] | None = None


class EnvelopeRelease(HubModel):
    """A hit's released envelopes (fieldlink-envelope/1 documents) and what was withheld."""

    hit_id: uuid.UUID
    hit_number: int
    envelopes: list[dict[str, str]]
    pending_agencies: list[str]
    unsealed_agencies: list[str]
    unavailable_agencies: list[str]


class Approval(HubModel):
    hit_id: uuid.UUID
    hit_number: int
    agency: str
    approved: bool


class AuditEntry(HubModel):
    """One request the hub answered: who, what, where, the outcome; ids, never data."""

    sequence: int
    at: datetime
    request_id: str
    principal_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    role: str | None
    action: str
    method: str
    project_id: uuid.UUID | None
    resource: str | None
    outcome: int
    records: int | None
    entry_hash: str


class AuditCheck(HubModel):
    """The hub's verification of its own stored chain."""

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_sequence: int | None = None
    problem: str | None = None
