"""ORM tables: agencies, principals and their tokens, projects and who takes part."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Enum, ForeignKey, String, Text
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
    """A principal on the project's team (analyst, auditor, or named data officer)."""

    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True
    )
