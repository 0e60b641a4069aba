"""API models: <Noun>Create in, <Noun>Public out, <Noun>List for collections."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from service.auth import Role

Name = Annotated[str, Field(min_length=1, max_length=200)]


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


class PrincipalList(BaseModel):
    items: list[PrincipalPublic]


class TokenPublic(PublicModel):
    id: uuid.UUID
    principal_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A new token. `token` is shown this once; the hub keeps only its hash."""

    token: str


class PrincipalCreated(BaseModel):
    """A new principal with its first token (shown this once)."""

    principal: PrincipalPublic
    token: TokenCreated


class ProjectCreate(BaseModel):
    name: Name
    purpose: Annotated[str, Field(min_length=1, max_length=2000)]
    legal_basis: Annotated[str, Field(min_length=1, max_length=2000)]
    agency_ids: Annotated[list[uuid.UUID], Field(min_length=2, max_length=100)]
    schema_fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{1,128}$")]
    key_check: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    threshold: Annotated[float | None, Field(gt=0, le=1)] = None
    min_agencies: Annotated[int, Field(ge=2)] = 2
    expires_at: AwareDatetime | None = None  # default: 100 days from now

    @model_validator(mode="after")
    def _agencies_suffice(self) -> Self:
        if len(set(self.agency_ids)) != len(self.agency_ids):
            raise ValueError("agency_ids lists an agency twice")
        if self.min_agencies > len(self.agency_ids):
            raise ValueError("min_agencies exceeds the number of participating agencies")
        return self


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


class ProjectList(BaseModel):
    items: list[ProjectPublic]


class MemberCreate(BaseModel):
    principal_id: uuid.UUID


class MemberList(BaseModel):
    items: list[PrincipalPublic]


# Uploads


# Runs, hits and the suspect list


# Audit log
