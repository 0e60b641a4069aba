"""Hub test data built through service.store, as the routes build it."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import store
from service.auth import Role, hash_token, new_token
from service.models import PROJECT_LIFETIME, Agency, ApiToken, Principal, Project, utcnow

KEY_CHECK = "0123456789abcdef"
FINGERPRINT = "ab" * 32


def make_agency(session: Session, name: str = "Politie Zeeland-West-Brabant") -> Agency:
    agency = store.add_agency(session, name=name)
    session.commit()
    return agency


def make_principal(
    session: Session, agency: Agency, *, role: Role = Role.ANALYST, name: str = "Principal"
) -> tuple[Principal, str]:
    """Return the principal and its raw bearer token (only tests and *Created ever see it)."""
    principal = store.add_principal(session, agency_id=agency.id, name=name, role=role)
    token = new_token()
    store.add_token(session, principal_id=principal.id, token_hash=hash_token(token), now=utcnow())
    session.commit()
    return principal, token


def second_admin(session: Session, name: str = "Second administrator") -> str:
    """An active second administrator's token, as the hub operator's set-up makes one.

    Separation of duties needs two: one registers principals, the other activates an
    agency's first officer and proposes team members (service.activation).
    """
    agency = store.find_agency_by_name(session, "Hub operations") or make_agency(
        session, "Hub operations"
    )
    _, token = make_principal(session, agency, role=Role.ADMINISTRATOR, name=name)
    return token


def make_project(
    session: Session,
    agencies: Sequence[Agency],
    *,
    name: str = "Carousel",
    members: Sequence[Principal] = (),
    require_salted_encodings: bool = False,
    upload_budget_records: int | None = None,
) -> Project:
    # Most tests upload random, unsalted filters (batch_files.make_batch), so the factory's
    # project accepts them; a project registered through the API requires salted ones.
    project = store.add_project(
        session,
        name=name,
        purpose="Find persons moved between cities",
        legal_basis="Art. 20 Wpg",
        agencies=agencies,
        schema_fingerprint=FINGERPRINT,
        key_check=KEY_CHECK,
        threshold=None,
        min_agencies=2,
        expires_at=utcnow() + PROJECT_LIFETIME,
        require_salted_encodings=require_salted_encodings,
        upload_budget_records=upload_budget_records,
    )
    for member in members:
        store.add_member(session, project_id=project.id, principal_id=member.id)
    session.commit()
    return project


def token_of(session: Session, principal: Principal) -> ApiToken:
    return session.scalars(select(ApiToken).where(ApiToken.principal_id == principal.id)).one()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
