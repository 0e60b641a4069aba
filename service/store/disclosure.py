"""Hit members for envelope release, and disclosure approvals. Flushes, never commits."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Subquery, and_, exists, func, select
from sqlalchemy.orm import Session

from service.models import Agency, DisclosureApproval, Hit, HitMember


@dataclass(frozen=True, slots=True, repr=False)
class Member:
    """One record of a hit: its agency (id and name) and pseudonymous reference."""

    agency_id: uuid.UUID
    agency: str
    reference: str

    def __repr__(self) -> str:  # never a reference in a log line or a traceback
        return f"Member(agency={self.agency!r})"


@dataclass(frozen=True, slots=True)
class HitMembers:
    """A hit with every member, in position order."""

    id: uuid.UUID
    number: int
    agency_count: int
    members: list[Member] = field(default_factory=list)

    @property
    def agency_ids(self) -> set[uuid.UUID]:
        """The agencies holding a record of the hit."""
        return {member.agency_id for member in self.members}


def hits_with_members(
    session: Session, run_id: uuid.UUID, numbers: Sequence[int]
) -> dict[int, HitMembers]:
    """The run's hits with these numbers (absent ones left out), with all their members."""
    hits = {
        number: HitMembers(hit_id, number, agency_count)
        for hit_id, number, agency_count in session.execute(
            select(Hit.id, Hit.number, Hit.agency_count).where(
                Hit.run_id == run_id, Hit.number.in_(numbers)
            )
        )
    }
    query = (
        select(Hit.number, HitMember.agency_id, Agency.name, HitMember.reference)
        .join(HitMember, HitMember.hit_id == Hit.id)
        .join(Agency, Agency.id == HitMember.agency_id)
        .where(Hit.run_id == run_id, Hit.number.in_(numbers))
        .order_by(Hit.number, HitMember.position)
    )
    for number, agency_id, agency, reference in session.execute(query):
        hits[number].members.append(Member(agency_id, agency, reference))
    return hits


def approvals_of(
    session: Session, hit_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, DisclosureApproval]]:
    """Approvals of these hits: hit id -> agency id -> approval."""
    query = select(DisclosureApproval).where(DisclosureApproval.hit_id.in_(hit_ids))
    found: dict[uuid.UUID, dict[uuid.UUID, DisclosureApproval]] = {}
    for approval in session.scalars(query):
        found.setdefault(approval.hit_id, {})[approval.agency_id] = approval
    return found


def add_approval(session: Session, approval: DisclosureApproval) -> tuple[DisclosureApproval, bool]:
    """Record an approval; the stored one (and False) when the agency approved already."""
    stored = session.get(DisclosureApproval, (approval.hit_id, approval.agency_id))
    if stored is not None:
        return stored, False
    session.add(approval)
    session.flush()
    return approval, True


def approval_page(
    session: Session, run_id: uuid.UUID, *, agency_id: uuid.UUID | None, after: int, limit: int
) -> list[int]:
    """Numbers of the run's hits after `after` (holding a record of `agency_id` if given)."""
    query = select(Hit.number).where(Hit.run_id == run_id, Hit.number > after)
    if agency_id is not None:
        holding = and_(HitMember.hit_id == Hit.id, HitMember.agency_id == agency_id)
        query = query.where(exists().where(holding))
    return list(session.scalars(query.order_by(Hit.number).limit(limit)))


def own_hit_numbers(
    session: Session, run_id: uuid.UUID, agency_id: uuid.UUID, *, after: int, limit: int
) -> dict[int, int]:
    """The agency's own hits numbered above `after` (1..n, as its officers see them).

    Returns run hit number -> own number, in order.
    """
    ranks = _own_ranks(run_id, agency_id)
    query = select(ranks.c.number, ranks.c.own).where(ranks.c.own > after)
    rows = session.execute(query.order_by(ranks.c.own).limit(limit))
    return {int(number): int(own) for number, own in rows}


def run_hit_number(
    session: Session, run_id: uuid.UUID, agency_id: uuid.UUID, own: int
) -> int | None:
    """The run's number of the agency's own hit numbered `own`; None when there is none."""
    ranks = _own_ranks(run_id, agency_id)
    found: int | None = session.scalar(select(ranks.c.number).where(ranks.c.own == own))
    return found


def _own_ranks(run_id: uuid.UUID, agency_id: uuid.UUID) -> Subquery:
    # The hits holding a record of the agency, ranked in run order: the officer's numbers.
    holding = and_(HitMember.hit_id == Hit.id, HitMember.agency_id == agency_id)
    return (
        select(Hit.number, func.row_number().over(order_by=Hit.number).label("own"))
        .where(Hit.run_id == run_id, exists().where(holding))
        .subquery()
    )
