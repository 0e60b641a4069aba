"""ORM tables: agencies, principals, projects; uploads, runs and hits; the suspect list; audit."""

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.auth import Role
from service.db import Base

PROJECT_LIFETIME = timedelta(days=100)  # the Field Lab cycle


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def _project_expiry() -> datetime:
    return utcnow() + PROJECT_LIFETIME


class Agency(Base):
    """An organisation taking part in Field Lab teams (municipality, police, FIU, ...)."""

    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Principal(Base):
    """A person or system acting for one agency in one role."""

    __tablename__ = "principals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="role",
            native_enum=False,
            values_callable=lambda roles: [r.value for r in roles],
        )
    )
    # Disabled principals' tokens stop working at once; the row stays for the audit log.
    disabled_at: Mapped[datetime | None]
    # Second-person control (service.activation): a principal registered or re-enrolled
    # through the API is pending, and its tokens are refused, until a second person
    # activated its enrolment. activated_by: the activating principal's id; None for
    # principals made active at set-up, by the hub operator, or before activation existed.
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[uuid.UUID | None]

    @property
    def pending_activation(self) -> bool:
        """True until a second person activated the principal's enrolment."""
        return self.activated_at is None


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class EnrolmentCode(Base):
    """A one-time code a principal redeems for its own first token; stored as its digest.

    An administrator creates it and delivers it out of band; it is short-lived and used once.
    """

    __tablename__ = "enrolment_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    redeemed_at: Mapped[datetime | None]  # also set when a newer code replaces this one
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))


class Project(Base):
    """One matching question, its legal basis, its linkage schema and its release rule."""

    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    schema_fingerprint: Mapped[str] = mapped_column(String(128))
    key_check: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float | None]
    min_agencies: Mapped[int] = mapped_column(default=2)
    expires_at: Mapped[datetime] = mapped_column(default=_project_expiry)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_epoch: Mapped[int] = mapped_column(default=1)  # the epoch of `key_check`
    # The label the custodian's secret is bound to (`fieldlink keys new --project`), learnt
    # from the first wrapped key deposited; the team needs it to open envelopes.
    key_label: Mapped[str | None] = mapped_column(String(200))
    # Step-up: envelopes are released only where the owning agency's data officer approved.
    disclosure_approval: Mapped[bool] = mapped_column(default=False)
    # Probing controls at upload (service.probing). Projects from before them keep
    # accepting unsalted encodings; new ones require salted ones.
    upload_budget_records: Mapped[int | None] = mapped_column(BigInteger)  # None: no budget
    max_near_duplicate_share: Mapped[float] = mapped_column(default=0.15)
    min_fill_share: Mapped[float] = mapped_column(default=0.05)
    require_salted_encodings: Mapped[bool] = mapped_column(default=True)
    # Set when the purge (service.purge) deleted the project's data after its expiry.
    purged_at: Mapped[datetime | None]
    # Standing watch (service.watch): an upload added or replaced queues a run by itself.
    watch: Mapped[bool] = mapped_column(default=False)

    agencies: Mapped[list[Agency]] = relationship(
        secondary="project_agencies", lazy="selectin", order_by=Agency.name
    )

    @property
    def agency_ids(self) -> list[uuid.UUID]:
        """Participating agencies, ordered by name."""
        return [agency.id for agency in self.agencies]


class ProjectAgency(Base):
    """An agency that takes part in a project (uploads data, receives its own hits)."""

    __tablename__ = "project_agencies"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)


class ProjectMember(Base):
    """A principal on the project's team (analyst, auditor, or named data officer).

    Dual control: an administrator proposes a member, a second person confirms it; until
    `confirmed_at` is set the membership grants nothing (service.store.members).
    """

    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Principal ids (principals are disabled, never deleted); None: before dual control.
    added_by: Mapped[uuid.UUID | None]
    added_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None]
    confirmed_at: Mapped[datetime | None]


def _enum(kind: type[StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, native_enum=False, values_callable=lambda v: [m.value for m in v])


class Upload(Base):
    """One agency's encoded batch in a project; the encodings sit encrypted in the vault."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("project_id", "agency_id", "digest"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the uploaded file
    record_count: Mapped[int]
    filter_bits: Mapped[int]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The batch's key check value (its epoch); None: stored before epochs were recorded,
    # when the project's first key check value was the only one accepted.
    key_check: Mapped[str | None] = mapped_column(String(16))
    # `service.probing.content_digest` of the batch, computed on admission; None: stored
    # before it was kept, and a run then reads the batch whole to compute it.
    content_digest: Mapped[str | None] = mapped_column(String(64))


class AcceptedContent(Base):
    """A batch content an agency had accepted in a project: what its upload budget counts.

    Kept when the upload is deleted or replaced, so that neither resets the budget; keyed by
    the content's digest (`service.probing.content_digest`), so the same records uploaded
    again (the same file, or re-encoded alike) count once.
    """

    __tablename__ = "accepted_contents"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunStatus(StrEnum):
    """Where a matching run is; `queued` and `running` are the live states."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Run(Base):
    """One matching run over a project's uploads at the time it was started."""

    __tablename__ = "runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    started_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus, "run_status"), index=True)
    upload_ids: Mapped[list[str]] = mapped_column(JSON)  # the exact inputs, sorted
    # upload id -> content digest when the run was started: envelopes are released only
    # from the very batches matched (None: a run started before digests were recorded).
    upload_digests: Mapped[dict[str, str] | None] = mapped_column(JSON)
    threshold: Mapped[float | None]  # as requested; None: chosen from the data
    min_agencies: Mapped[int]
    progress: Mapped[float] = mapped_column(default=0.0)  # 0..1
    stage: Mapped[str] = mapped_column(String(80), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)  # counts and kinds only, never data
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # linkage MatchReport, counts
    hit_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Renewed while a hub process executes the run; a `running` run whose heartbeat is
    # stale was left by a crashed process (service.jobs requeues it), a fresh one is not.
    heartbeat_at: Mapped[datetime | None]
    # The upload that queued this run under the project's standing watch (service.watch);
    # None: an analyst started it. No foreign key: the upload may be deleted, the run stays.
    trigger_upload_id: Mapped[uuid.UUID | None]
    # What changed since the project's previous succeeded run, counted when this one
    # succeeded (service.run_changes): that run's id and hits new, grown, changed, gone.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Hit(Base):
    """A group of records from at least k agencies that the run judged to be one person."""

    __tablename__ = "hits"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1.. in the run's deterministic order
    agency_count: Mapped[int]
    best_score: Mapped[float]
    links: Mapped[list[list[float]]] = mapped_column(JSON)  # [left, right, score] by position
    agreed_fields: Mapped[list[str] | None] = mapped_column(JSON)


class HitMember(Base):
    """One record of a hit: the agency holding it and its pseudonymous reference."""

    __tablename__ = "hit_members"
    __table_args__ = (Index("ix_hit_members_run_agency", "run_id", "agency_id", "hit_id"),)

    hit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hits.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    reference: Mapped[str] = mapped_column(String(64))


EVERY_AGENCY = "all"  # HitView.audience of the analysts' view, which shows every member


class HitView(Base):
    """A hit page entry rendered once, when its run is stored: hits never change afterwards.

    Pages are the hub's hottest read; serving one is then a single index range scan, with
    no join, decoding or encoding per request. `audience` is EVERY_AGENCY (the analysts'
    view) or an agency id (a data officer's view: the own agency's references only).
    """

    __tablename__ = "hit_views"

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)  # one HitPublic as JSON


class SuspectStatus(StrEnum):
    """Where a shortlisted hit stands in the Field Lab team's work."""

    NEW = "new"
    UNDER_REVIEW = "under_review"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    HANDED_OVER = "handed_over"  # signalled to the RIEC


class Suspect(Base):
    """A hit the team shortlisted into the project's suspect list."""

    __tablename__ = "suspects"
    __table_args__ = (UniqueConstraint("project_id", "hit_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    hit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"))
    status: Mapped[SuspectStatus] = mapped_column(_enum(SuspectStatus, "suspect_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One request, allowed or not; `entry_hash` chains it to the entry before."""

    __tablename__ = "audit_entries"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    request_id: Mapped[str] = mapped_column(String(64))
    principal_id: Mapped[uuid.UUID | None]
    agency_id: Mapped[uuid.UUID | None]
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(120), index=True)
    method: Mapped[str] = mapped_column(String(10))
    project_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    resource: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[int]  # the HTTP status answered
    records: Mapped[int | None]  # records uploaded, hits returned, ...
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # The bearer token that acted (its id, never the token); None before tokens were recorded.
    token_id: Mapped[uuid.UUID | None]


class AuditCheckpoint(Base):
    """The hub's Ed25519 signature over the chain head at one sequence number."""

    __tablename__ = "audit_checkpoints"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


class KeyKind(StrEnum):
    """Whose public key: an agency's (receives wrapped secrets) or a project team's."""

    AGENCY = "agency"
    TEAM = "team"


class ProjectKeyEpoch(Base):
    """One of a project's successive key check values; the highest epoch is the current one."""

    __tablename__ = "project_key_epochs"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(primary_key=True)
    key_check: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgencyKey(Base):
    """A registered X25519 public key: an agency's, or a project team's (public data)."""

    __tablename__ = "agency_keys"
    __table_args__ = (Index("ix_agency_keys_owner", "agency_id", "project_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))  # the registrant's
    project_id: Mapped[uuid.UUID | None] = mapped_column(  # set for team keys only
        ForeignKey("projects.id", ondelete="CASCADE")
    )
    kind: Mapped[KeyKind] = mapped_column(_enum(KeyKind, "key_kind"))
    owner: Mapped[str] = mapped_column(String(80))  # the key file's owner label
    key_id: Mapped[str] = mapped_column(String(16))  # computed by the hub from the key
    public_key: Mapped[str] = mapped_column(String(64))  # raw 32 bytes, hex
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class WrappedKey(Base):
    """A project secret wrapped for one agency, stored opaque; the hub cannot unwrap it."""

    __tablename__ = "wrapped_keys"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    recipient_key_id: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)  # the fieldlink-wrapped-key/1 JSON, as sent
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DisclosureApproval(Base):
    """An agency's data officer approved releasing the agency's envelopes of one hit."""

    __tablename__ = "disclosure_approvals"

    hit_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hits.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    approved_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("principals.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurgeReceipt(Base):
    """The hub's signed receipt for purging an expired project's data (service.purge)."""

    __tablename__ = "purge_receipts"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    purged_at: Mapped[datetime]
    document: Mapped[str] = mapped_column(Text)  # fieldlink-purge-receipt/1 JSON, signed


class WebSession(Base):
    """A signed-in browser (service.web.sessions): the session id is stored only as a digest.

    Bound to the token it was opened with: revoking that token, or disabling the principal,
    ends the session at its next request. Expires when idle and at an absolute time.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute end, whatever the activity
