"""The first administrator, for `fieldlink hub init` and tests."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import store
from service.auth import Role, hash_token, new_token
from service.errors import Conflict
from service.models import Principal, utcnow


def create_first_admin(session: Session, agency_name: str, name: str) -> str:
    """Create an agency with one administrator and return its bearer token (shown once).

    Commits, as a route would: this is a whole unit of work. Refuses when any
    administrator exists, so it cannot be used to mint tokens on a running hub.
    """
    admins = select(Principal.id).where(Principal.role == Role.ADMINISTRATOR).limit(1)
    if session.scalars(admins).first() is not None:
        raise Conflict("an administrator exists already")
    agency = store.find_agency_by_name(session, agency_name) or store.add_agency(
        session, name=agency_name
    )
    admin = store.add_principal(session, agency_id=agency.id, name=name, role=Role.ADMINISTRATOR)
    token = new_token()
    store.add_token(session, principal_id=admin.id, token_hash=hash_token(token), now=utcnow())
    session.commit()
    return token
