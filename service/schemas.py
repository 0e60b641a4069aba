"""API models: <Noun>Create in, <Noun>Public out, <Noun>List for collections."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from service.auth import Role
from service.models import RunStatus, SuspectStatus
from service.names import Name
from service.validation_errors import invalid

# The largest values the database's integer columns hold (PostgreSQL integer and bigint):
# hit numbers and epochs are integers, audit sequences bigints. Larger ones are a 422.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Probing controls (service.probing): the most records an agency may upload to a project in
# total; the near-duplicate share allowed; the fill under which a record counts as thin.
UploadBudget = Annotated[int, Field(ge=1, le=10**12)]
NearDuplicateShare = Annotated[float, Field(gt=0, le=1)]
FillShare = Annotated[float, Field(ge=0, lt=1)]


class PublicModel(BaseModel):
    """Base of everything that leaves the server; built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class HealthPublic(BaseModel):
    status: Literal["ok"] = "ok"


class AgencyCreate(BaseModel):
    name: Name


class AgencyPublic(PublicModel):
    id: uuid.UUID
    name: str


class AgencyList(BaseModel):
    items: list[AgencyPublic]


class PrincipalCreate(BaseModel):
    agency_id: uuid.UUID
    name: Name
    role: Role


class PrincipalPublic(PublicModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    name: str
    role: Role
    disabled_at: datetime | None = None  # set: its tokens no longer work
    # Until a second person activated its enrolment, its tokens are refused
    # (service.activation). activated_by: null for set-up, the hub operator, or older rows.
    pending_activation: bool = False
    activated_at: datetime | None = None
    activated_by: uuid.UUID | None = None


class PrincipalList(BaseModel):
    items: list[PrincipalPublic]


class PrincipalActivate(BaseModel):
    """The second person's activation: the enrolment check the principal read out to them."""

    enrolment_check: Annotated[str, Field(pattern=r"^[A-Za-z2-7 -]{8,16}$")]


class TokenPublic(PublicModel):
    id: uuid.UUID
    principal_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A new token. `token` is shown this once; the hub keeps only its hash."""

    token: str


class EnrolmentCreated(BaseModel):
    """A one-time enrolment code, shown this once: deliver it to the principal out of band.

    The principal redeems it (POST /v1/enrolment) for its own token before `expires_at`.
    """

    principal_id: uuid.UUID
    code: str
    expires_at: datetime


class EnrolmentTokenCreated(TokenCreated):
    """The token an enrolment code was redeemed for, and its enrolment check.

    The token works once a second person activated the principal, quoting the check the
    principal read out to them (service.activation).
    """

    enrolment_check: str


class PrincipalCreated(BaseModel):
    """A new principal with its enrolment code (shown this once); it holds no token yet."""

    principal: PrincipalPublic
    enrolment: EnrolmentCreated


class EnrolmentRedeem(BaseModel):
    """An enrolment code, as delivered (dashes, spaces and case do not matter)."""

    code: Annotated[str, Field(min_length=1, max_length=64)]


class ProjectCreate(BaseModel):
    name: Name
    purpose: Annotated[str, Field(min_length=1, max_length=2000)]
    legal_basis: Annotated[str, Field(min_length=1, max_length=2000)]
    agency_ids: Annotated[list[uuid.UUID], Field(min_length=2, max_length=100)]
    schema_fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{1,128}$")]
    key_check: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    threshold: Annotated[float | None, Field(gt=0, le=1)] = None
    min_agencies: Annotated[int, Field(ge=2, le=100)] = 2
    expires_at: AwareDatetime | None = None  # default: 100 days from now
    # Step-up: each agency's data officer approves releasing its envelopes per hit.
    disclosure_approval: bool = False
    upload_budget_records: UploadBudget | None = None  # null: no budget
    max_near_duplicate_share: NearDuplicateShare = 0.15
    min_fill_share: FillShare = 0.05
    require_salted_encodings: bool = True

    @model_validator(mode="after")
    def _agencies_suffice(self) -> Self:
        if len(set(self.agency_ids)) != len(self.agency_ids):
            raise invalid("agency_repeated", "agency_ids lists an agency twice")
        if self.min_agencies > len(self.agency_ids):
            raise invalid(
                "too_few_agencies", "min_agencies exceeds the number of participating agencies"
            )
        return self


class ProjectUpdate(BaseModel):
    """Settings an administrator may change on a project; those not given stay as they are.

    Runs already made keep the threshold and k they were made with.
    """

    model_config = ConfigDict(extra="forbid")

    threshold: Annotated[float | None, Field(gt=0, le=1)] = None  # null: chosen from the data
    min_agencies: Annotated[int | None, Field(ge=2, le=100)] = None
    expires_at: AwareDatetime | None = None
    disclosure_approval: bool | None = None
    upload_budget_records: UploadBudget | None = None  # null: no budget
    max_near_duplicate_share: NearDuplicateShare | None = None
    min_fill_share: FillShare | None = None
    require_salted_encodings: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise invalid("nothing_to_change", "name at least one setting to change")
        for name in sorted(self.model_fields_set - {"threshold", "upload_budget_records"}):
            if getattr(self, name) is None:
                raise invalid("null_setting", f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The settings given, by name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class ProjectPublic(PublicModel):
    id: uuid.UUID
    name: str
    purpose: str
    legal_basis: str
    agency_ids: list[uuid.UUID]
    schema_fingerprint: str
    key_check: str
    threshold: float | None
    min_agencies: int
    expires_at: datetime
    created_at: datetime
    key_epoch: int  # the epoch of key_check, the current one
    key_label: str | None  # the label the project's secret is bound to, once known
    disclosure_approval: bool
    # Probing controls at upload: see service.probing.
    upload_budget_records: int | None  # the most records one agency may upload; null: any
    max_near_duplicate_share: float
    min_fill_share: float
    require_salted_encodings: bool
    purged_at: datetime | None = None  # its data was deleted after expiry (service.purge)
    # Standing watch (service.watch): each batch added or replaced queues a run by itself.
    watch: bool = False


class ProjectList(BaseModel):
    items: list[ProjectPublic]


class MemberCreate(BaseModel):
    principal_id: uuid.UUID


class MemberPublic(PrincipalPublic):
    """A principal on a project's team; `pending` until a second person confirmed it."""

    status: Literal["pending", "confirmed"]
    added_by: uuid.UUID | None
    added_at: datetime | None
    confirmed_by: uuid.UUID | None
    confirmed_at: datetime | None


class MemberList(BaseModel):
    items: list[MemberPublic]  # pending members included


class PurgeReceiptPublic(BaseModel):
    """The hub's signed "fieldlink-purge-receipt/1"; `fieldlink audit verify-receipt` checks it.

    Every field is signed exactly as it is here (texts, not parsed values), so save the
    answer as it is.
    """

    format: Literal["fieldlink-purge-receipt/1"]
    project_id: str
    project: str
    agencies: list[str]
    expired_at: str  # ISO 8601 UTC, as linkage.audit.format_time writes it
    purged_at: str
    counts: dict[str, int]  # deleted, by kind: batches, encoded_records, envelopes, hits, ...
    audit_sequences: list[int]  # the audit entries (purge-<kind>) that logged the counts
    key_id: str  # the hub's audit signing key
    public_key: str  # its raw Ed25519 public key, hex; pin it from GET /v1/audit/keys
    signature: str


# Uploads


class WatchOutcome(BaseModel):
    """What the project's standing watch did about an upload: the run it queued, or why not."""

    run_id: uuid.UUID | None  # the run queued; None: none was, `reason` says why
    reason: str | None = None


class UploadPublic(PublicModel):
    """An agency's stored batch: metadata only; the encodings never leave the hub."""

    id: uuid.UUID
    project_id: uuid.UUID
    agency_id: uuid.UUID
    agency: str  # the agency's name
    uploaded_by: uuid.UUID
    record_count: int
    filter_bits: int
    digest: str  # SHA-256 of the uploaded file, hex
    size_bytes: int
    created_at: datetime
    key_check: str | None  # the batch's key check value: its epoch (None: before epochs)
    # Only in the answer to an upload or replacement on a watched project (service.watch).
    watch: WatchOutcome | None = None


class UploadList(BaseModel):
    items: list[UploadPublic]


# Runs, hits and the suspect list


class RunCreate(BaseModel):
    """Start a run; without a threshold the project's applies (or one chosen from the data)."""

    threshold: Annotated[float | None, Field(gt=0, le=1)] = None


class WatchUpdate(BaseModel):
    """Turn a project's standing watch on or off (service.watch)."""

    model_config = ConfigDict(extra="forbid")

    on: bool


class RunChanges(BaseModel):
    """What changed since the project's previous succeeded run, by the records in each hit.

    Counts only (`fieldlink runs compare` lists the hits): hits sharing no record with the
    earlier run's (new), holding one earlier hit's records and more (grown), sharing
    records with earlier hits otherwise (changed: split, merged, shrunk), holding exactly
    an earlier hit's records (unchanged), and earlier hits sharing no record with any (gone).
    """

    since_run_id: uuid.UUID
    new: int
    grown: int
    changed: int
    unchanged: int
    gone: int


class RunPublic(BaseModel):
    """A matching run: where it is, and counts only (never a reference or a filter)."""

    id: uuid.UUID
    project_id: uuid.UUID
    status: RunStatus
    stage: str
    progress: float  # 0..1
    attempts: int
    threshold: float | None  # the one used, once known; before that the one requested
    min_agencies: int
    records: dict[str, int]  # records compared, by agency name (data officers: own only)
    hit_count: int | None  # hits the caller may see, once the run succeeded
    estimated_precision: float | None
    estimated_recall: float | None
    # What the recall counts: "all pairs" (with recall_interval) or "compared pairs" only.
    recall_basis: str | None = None
    recall_interval: tuple[float, float] | None = None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # "analyst": started by one; "watch": queued by an upload under the standing watch.
    trigger: Literal["analyst", "watch"] = "analyst"
    trigger_upload_id: uuid.UUID | None = None  # that upload (the team only)
    changes: RunChanges | None = None  # since the previous succeeded run (the team only)


class RunList(BaseModel):
    items: list[RunPublic]


class HitMemberPublic(BaseModel):
    """A record of a hit: the agency holding it and its pseudonymous reference."""

    agency: str
    reference: str


class HitLinkPublic(BaseModel):
    """A scored pair inside a hit, by positions in its `members` list."""

    left: int
    right: int
    score: float


class HitPublic(BaseModel):
    """A group of records judged to be one person, as the caller may see it.

    Data officers get their own agency's members only (positions renumbered), the links
    between those, and the names of all agencies involved.
    """

    id: uuid.UUID
    number: int
    agencies: list[str]
    members: list[HitMemberPublic]
    links: list[HitLinkPublic]
    best_score: float
    agreed_fields: list[str] | None


class HitList(BaseModel):
    """One page of hits, by number; pass `next_after` as `after` for the next page."""

    items: list[HitPublic]
    next_after: int | None


class SuspectCreate(BaseModel):
    hit_id: uuid.UUID
    status: SuspectStatus = SuspectStatus.NEW
    note: Annotated[str, Field(max_length=4000)] = ""


class SuspectUpdate(BaseModel):
    status: SuspectStatus | None = None
    note: Annotated[str | None, Field(max_length=4000)] = None


class SuspectPublic(BaseModel):
    """A shortlisted hit with the team's status and note."""

    id: uuid.UUID
    hit_id: uuid.UUID
    run_id: uuid.UUID
    hit_number: int
    agencies: list[str]
    members: list[HitMemberPublic]
    status: SuspectStatus
    note: str
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime


class SuspectList(BaseModel):
    items: list[SuspectPublic]


# Audit log


class AuditEntryQuery(BaseModel):
    """Filters and keyset pagination for GET /v1/audit/entries."""

    project_id: uuid.UUID | None = None
    principal_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    action: Annotated[str | None, Field(max_length=120)] = None
    outcome: Annotated[int | None, Field(ge=100, le=599)] = None
    since: AwareDatetime | None = None  # inclusive
    until: AwareDatetime | None = None  # exclusive
    after: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0  # a sequence: the page starts after it
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class AuditEntryPublic(PublicModel):
    """One request the hub answered: ids and counts, never data (see linkage.audit)."""

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
    previous_hash: str
    entry_hash: str
    token_id: uuid.UUID | None = None  # the token that acted; None before tokens were recorded


class AuditEntryList(BaseModel):
    items: list[AuditEntryPublic]
    next_after: int | None  # pass as `after` for the next page; null on the last


class AuditCheckpointPublic(BaseModel):
    """The hub's Ed25519 signature over the chain head at `sequence`."""

    sequence: int
    entry_hash: str
    key_id: str
    signed_at: str
    signature: str


class AuditExport(BaseModel):
    """The "fieldlink-audit/1" document; `fieldlink audit verify` checks it offline."""

    format: Literal["fieldlink-audit/1"]
    exported_at: str
    from_sequence: int
    to_sequence: int
    public_keys: dict[str, str]  # signing key id -> raw Ed25519 public key, hex
    checkpoints: list[AuditCheckpointPublic]
    entries: list[AuditEntryPublic]  # `at` exactly as hashed: ISO UTC with microseconds


class AuditVerificationPublic(PublicModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_sequence: int | None
    problem: str | None  # what is wrong, in words: "entry 17 was altered"


class AuditKeysPublic(BaseModel):
    """The hub's audit signing keys, for auditors to pin."""

    active_key_id: str
    public_keys: dict[str, str]  # key id -> raw Ed25519 public key, hex


# Keys and disclosure

Base64Key = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]  # 32 bytes, base64
KeyCheck = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]


class PublicKeyCreate(BaseModel):
    """A public key file's owner label and raw X25519 key; the hub computes the key id."""

    owner: Annotated[str, Field(min_length=1, max_length=80)]
    public_key: Base64Key


class PublicKeyPublic(BaseModel):
    """A registered public key: an agency's (wrapped secrets) or a project team's (envelopes)."""

    id: uuid.UUID
    kind: Literal["agency", "team"]
    owner: str
    agency_id: uuid.UUID  # the agency it belongs to (team keys: the registrant's agency)
    project_id: uuid.UUID | None  # team keys only
    key_id: str  # 16 hex digits, as `fieldlink keys generate-pair` prints it
    public_key: str  # base64
    created_at: datetime
    revoked_at: datetime | None


class PublicKeyList(BaseModel):
    items: list[PublicKeyPublic]


class KeyCheckUpdate(BaseModel):
    """Rotate the project to a new secret: its epoch and key check value."""

    epoch: Annotated[int, Field(ge=2, le=1_000_000)]
    key_check: KeyCheck


class WrappedKeyPublic(BaseModel):
    """A deposited wrapped key's public labels (the ciphertext is not echoed)."""

    project_id: uuid.UUID
    agency_id: uuid.UUID
    agency: str
    epoch: int
    key_check: str
    recipient_key_id: str
    created_by: uuid.UUID
    created_at: datetime


class WrappedKeyDocument(WrappedKeyPublic):
    """The own agency's wrapped key with its fieldlink-wrapped-key/1 document, to unwrap."""

    document: dict[str, Any]


class ReleasedEnvelopePublic(BaseModel):
    """One record's sealed envelope (fieldlink-envelope/1); only the team key opens it."""

    format: Literal["fieldlink-envelope/1"]
    agency: str  # the batch's agency label, which the envelope is bound to
    reference: str
    ephemeral_key: str
    team_key_id: str
    sealed: str  # base64


class EnvelopeRelease(BaseModel):
    """The envelopes the hub released for one hit, and the members it released none for."""

    run_id: uuid.UUID
    hit_id: uuid.UUID
    hit_number: int
    envelopes: list[ReleasedEnvelopePublic]
    pending_agencies: list[str]  # step-up: the agency's data officer has not approved yet
    unsealed_agencies: list[str]  # the agency's batch carries no envelopes
    unavailable_agencies: list[str]  # the matched batch was replaced or deleted since


class EnvelopeReleaseCreate(BaseModel):
    """Release the envelopes of several hits at once (each stored batch is read once)."""

    hits: Annotated[
        list[Annotated[int, Field(ge=1, le=INT32_MAX)]], Field(min_length=1, max_length=500)
    ]


class EnvelopeReleaseList(BaseModel):
    items: list[EnvelopeRelease]


class ApprovalPublic(BaseModel):
    """An agency's approval (or its absence) of releasing its envelopes of one hit."""

    hit_id: uuid.UUID
    hit_number: int
    agency: str
    approved: bool
    approved_by: uuid.UUID | None
    approved_at: datetime | None


class ApprovalList(BaseModel):
    """Approvals of a run's hits as the caller may see them (data officers: own agency)."""

    required: bool  # whether the project releases envelopes only after approval
    items: list[ApprovalPublic]
    next_after: int | None  # pass as `after` for the next page of hits; null on the last
