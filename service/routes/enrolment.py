"""Redeeming an enrolment code for the principal's own first token (no bearer token needed).

The code is looked up by its SHA-256 digest, as tokens are: 120 random bits leave nothing to
guess, so the answer costs one indexed read, the same for every wrong code (unknown, used,
expired, or a disabled principal's), and each code works once (`store.enrolment.spend`).
The answer carries the token's enrolment check, which the principal reads out to the second
person who activates it (service.activation); the token works from then on.
"""

from fastapi import APIRouter, Request

from service.auth import Principal, enrolment_check, hash_enrolment_code, hash_token
from service.deps import SessionDep
from service.errors import InvalidEnrolmentCode, problem_responses
from service.models import Principal as PrincipalRow
from service.models import utcnow
from service.routes.principals import issue_token
from service.schemas import EnrolmentRedeem, EnrolmentTokenCreated
from service.store import enrolment as store

router = APIRouter(prefix="/enrolment", tags=["principals"])


@router.post("", status_code=201, responses=problem_responses(401, 422))
def redeem_enrolment_code(
    body: EnrolmentRedeem, request: Request, session: SessionDep
) -> EnrolmentTokenCreated:
    """Exchange a one-time enrolment code for the principal's own token, shown this once.

    The token works once a second person activated the principal with the enrolment check
    answered here.
    """
    now = utcnow()
    code = store.find_live_code(session, hash_enrolment_code(body.code), now=now)
    if code is None or not store.spend(session, code, now=now):
        raise InvalidEnrolmentCode()
    token = issue_token(session, code.principal_id)
    code.token_id = token.id
    owner = session.get_one(PrincipalRow, code.principal_id)
    store.deactivate(session, owner)  # every enrolment needs its own activation
    session.commit()
    # The audit entry names the principal that enrolled and its new token.
    request.state.principal = Principal(
        principal_id=owner.id, agency_id=owner.agency_id, role=owner.role, token_id=token.id
    )
    check = enrolment_check(hash_token(token.token))
    return EnrolmentTokenCreated(**token.model_dump(), enrolment_check=check)
