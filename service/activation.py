"""Second-person control over principals: nobody can act as a principal they registered.

An administrator registers a principal and hands its one-time enrolment code over out of
band (service.routes.principals), so an administrator could redeem that code itself. A
principal registered or given a new code through the API is therefore *pending*: its
tokens are refused (service.deps) until a second person activates its enrolment, quoting
the enrolment check that the principal read out to them (`auth.enrolment_check`; it is
derived from the token the code was redeemed for, so it binds the activation to the
token the real person holds).

Who is that second person (`refusal`):

- for a data officer, analyst, auditor or key custodian: an active data officer or key
  custodian of the principal's own agency, who vouches for its own people;
- where that agency has nobody active yet (its first officer): an active administrator
  who never created an enrolment code for the principal;
- for an administrator: another active administrator who never created one for it;
- where no such administrator exists (a hub with one administrator): the hub operator,
  on the hub machine, with `fieldlink hub activate` (`operator_refusal`), audited.

Nobody activates itself. Every activation, and every refused request of a pending
principal, is in the audit log with the acting token.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.audit import sign_checkpoint
from service import auth
from service.auth import Role, enrolment_check, same_enrolment_check
from service.errors import AccessDenied, Conflict, HubError, InvalidInput, NotFound
from service.hub_keys import HubKeys
from service.models import Principal, utcnow
from service.request_ids import new_request_id
from service.store import audit as audit_store
from service.store import enrolment as store
from service.store.audit import EntryDraft

OPERATOR_ROLE = "hub-operator"  # the audit entry's role for `fieldlink hub activate`
OPERATOR_ACTION = "hub-activate_principal"

# Those who vouch for their agency's people: persons of the agency, holding no data rights
# beyond its own (a key custodian), or the agency's data rights themselves (a data officer).
AGENCY_VOUCHERS = (Role.DATA_OFFICER, Role.KEY_CUSTODIAN)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pending, enrolled principal, with the enrolment check its activation must quote."""

    principal: Principal
    check: str  # the enrolment check of the token its latest code was redeemed for


def candidate(session: Session, principal: Principal) -> Candidate:
    """The principal as a candidate for activation; Conflict when it cannot be one now.

    Ask only once the caller may activate it (`refusal`): the answer tells its state.
    """
    if principal.disabled_at is not None:
        raise Conflict("the principal is disabled")
    if not principal.pending_activation:
        raise Conflict("the principal is active already")
    token = store.enrolled_token(session, principal.id)
    if token is None:
        raise Conflict("the principal has not redeemed its enrolment code yet")
    return Candidate(principal, enrolment_check(token.token_hash))


def refusal(session: Session, target: Principal, caller: auth.Principal) -> HubError | None:
    """Why the caller may not activate this principal; None when it is the second person."""
    if caller.principal_id == target.id:
        return AccessDenied("a second person activates a principal, never the principal itself")
    if caller.role in AGENCY_VOUCHERS:
        if target.role is Role.ADMINISTRATOR or caller.agency_id != target.agency_id:
            return NotFound("principal")  # other agencies' people are not the caller's to see
        return None
    if caller.role is not Role.ADMINISTRATOR:
        return AccessDenied()
    if caller.principal_id in store.code_creators(session, target.id):
        return AccessDenied(
            "an administrator who created the principal's enrolment code cannot activate it"
        )
    if target.role is not Role.ADMINISTRATOR and _agency_has_voucher(session, target):
        return AccessDenied(
            "a data officer or key custodian of the principal's agency activates it"
        )
    return None


def operator_refusal(session: Session, target: Principal) -> HubError | None:
    """Why the hub operator may not activate this principal; None when nobody else can.

    The operator (on the hub machine, with the database) only closes the bootstrap gap:
    an administrator that no other active administrator can activate.
    """
    if target.role is not Role.ADMINISTRATOR:
        return AccessDenied(
            "the hub operator activates administrators only; an administrator, or a data "
            "officer of the principal's agency, activates the others"
        )
    excluded = [target.id, *store.code_creators(session, target.id)]
    if store.has_active(session, [Role.ADMINISTRATOR], excluding=excluded):
        return AccessDenied("another administrator activates it: `fieldlink activate`")
    return None


def check_matches(found: Candidate, given: str) -> None:
    """InvalidInput unless `given` is the principal's enrolment check."""
    if not same_enrolment_check(found.check, given):
        raise InvalidInput(
            "the enrolment check does not match: ask the principal for the one "
            "`fieldlink enrol` printed (a new enrolment code makes a new one)"
        )


def _agency_has_voucher(session: Session, target: Principal) -> bool:
    return store.has_active(
        session, AGENCY_VOUCHERS, agency_id=target.agency_id, excluding=[target.id]
    )


def activate_by_operator(
    session: Session, spec: str, given_check: str, *, keys: HubKeys, checkpoint_every: int
) -> Principal:
    """`fieldlink hub activate`: the hub operator activates an administrator nobody else can.

    One transaction under the audit chain's lock: the activation and its audit entry
    (role "hub-operator", no token: the operator acts on the database) commit together.
    Commits; raises HubError (the message says why) and changes nothing otherwise.
    """
    audit_store.lock_chain(session)  # first: SQLite takes its write lock before any read
    principal = _named(session, spec)
    refused = operator_refusal(session, principal)
    if refused is not None:
        raise refused
    check_matches(candidate(session, principal), given_check)
    now = utcnow()
    store.activate(session, principal, by=None, now=now)
    draft = EntryDraft(
        at=now,
        request_id=new_request_id(),
        principal_id=None,
        agency_id=None,
        role=OPERATOR_ROLE,
        action=OPERATOR_ACTION,
        method="SETUP",
        project_id=None,
        resource=f"/v1/principals/{principal.id}/activate",
        outcome=200,
        records=None,
    )
    for row in audit_store.append_entries(session, [draft]):
        if row["sequence"] % checkpoint_every == 0:  # as the hub's audit writer signs
            _sign(session, keys, row["sequence"], row["entry_hash"])
    session.commit()
    return principal


def _named(session: Session, spec: str) -> Principal:
    # By name (any case) or by id or its first characters (4 or more), as the CLI names them.
    wanted = spec.strip().casefold()
    found = [
        item
        for item in session.scalars(select(Principal))
        if item.name.casefold() == wanted or (len(wanted) >= 4 and str(item.id).startswith(wanted))
    ]
    if len(found) != 1:
        raise NotFound("no principal has this name or id, or several have: name it by its id")
    return found[0]


def _sign(session: Session, keys: HubKeys, sequence: int, entry_hash: str) -> None:
    audit_store.add_checkpoint(
        session,
        sequence=sequence,
        entry_hash=entry_hash,
        key_id=keys.signing.active_id,
        signature=sign_checkpoint(keys.signer(), sequence, entry_hash),
        signed_at=utcnow(),
    )
