"""Agencies taking part in Field Lab teams; administrators register them."""

from fastapi import APIRouter

from service import store
from service.deps import AdminDep, DirectoryReaderDep, SessionDep
from service.errors import Conflict, problem_responses
from service.schemas import AgencyCreate, AgencyList, AgencyPublic

router = APIRouter(prefix="/agencies", tags=["agencies"])


@router.post("", status_code=201, responses=problem_responses(401, 403, 409, 422))
def create_agency(body: AgencyCreate, admin: AdminDep, session: SessionDep) -> AgencyPublic:
    """Register an agency."""
    if store.find_agency_by_name(session, body.name) is not None:
        raise Conflict("an agency with this name exists")
    agency = store.add_agency(session, name=body.name)
    session.commit()
    return AgencyPublic.model_validate(agency)


@router.get("", responses=problem_responses(401, 403))
def list_agencies(reader: DirectoryReaderDep, session: SessionDep) -> AgencyList:
    """List all agencies by name (administrators; auditors, to name them in the log)."""
    agencies = store.list_agencies(session)
    return AgencyList(items=[AgencyPublic.model_validate(agency) for agency in agencies])
