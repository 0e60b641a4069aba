"""What the analyst's pages read: hits filtered and compared, a link explained, run quality.

Reads only; every function takes a run the caller was already admitted to (the pages check
access with the API's rules first, `service.web.access`). Hits are the analysts' view:
every member of every hit, as `GET .../hits` shows them.

What a run stores, and so what these pages can show:

- per hit: its members, its links as [left, right, posterior (or Dice), agreed mask,
  levels] and the names of the comparisons that agreed on some link (`Hit.links`,
  `agreed_fields`); the levels (`Link.levels`) name the salt family that scored the link
  and the level each comparison reached;
- per run (its report): the learned probabilities of each class and comparison level per
  salt family, the classes' shares, the threshold, the estimated precision and recall, the
  match weights of every compared pair (a histogram) and the estimates at a ladder of
  thresholds (`MatchReport.class_models`, `weight_histogram`, `cuts`).

Runs made before links kept their levels and the report its histogram show less: the
comparisons that agreed with their learned weights and the others as one remainder, and
estimates from the stored links, from the chosen threshold up.
"""

import json
import math
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from threading import Lock
from typing import Any

import numpy as np
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from linkage.hits import HitChanges, HitRecords, Member, compare_hits
from linkage.match.scoring import PosteriorProfile
from service.models import EVERY_AGENCY, Hit, HitMember, HitView, Principal
from service.store.hits import iter_hits

PAGE_SIZE = 50
SORTS = ("number", "score", "agencies")
CHANGES = ("new", "grown", "changed", "unchanged")
_LOGIT_CAP = 1e-12  # posteriors of 1.0 (to float precision) are drawn at about 40 bits


@dataclass(frozen=True, slots=True)
class HitFilter:
    """The hits table's filters: each narrows the list; empty ones do nothing."""

    agencies: tuple[uuid.UUID, ...] = ()  # hits holding a record of each of these
    min_agencies: int = 0
    min_score: float = 0.0
    agreed: tuple[str, ...] = ()  # comparisons that all agreed on some link
    change: str = ""  # against the previous run: one of CHANGES
    sort: str = "number"


@dataclass(frozen=True, slots=True)
class HitSummary:
    """One hit's row before its members are read."""

    number: int
    best_score: float
    agency_count: int
    agreed: tuple[str, ...]


def find_hits(session: Session, run_id: uuid.UUID, wanted: HitFilter) -> list[HitSummary]:
    """Every hit of the run that passes the filters (but `change`), sorted as asked."""
    query = select(Hit.number, Hit.best_score, Hit.agency_count, Hit.agreed_fields).where(
        Hit.run_id == run_id
    )
    if wanted.min_agencies:
        query = query.where(Hit.agency_count >= wanted.min_agencies)
    if wanted.min_score:
        query = query.where(Hit.best_score >= wanted.min_score)
    for agency in wanted.agencies:
        holding = exists().where(and_(HitMember.hit_id == Hit.id, HitMember.agency_id == agency))
        query = query.where(holding)
    needed = set(wanted.agreed)
    found = [
        HitSummary(number, score, count, tuple(agreed or ()))
        for number, score, count, agreed in session.execute(query)
        if needed <= set(agreed or ())
    ]
    return sorted(found, key=_sort_key(wanted.sort))


def _sort_key(sort: str) -> Any:
    if sort == "score":
        return lambda hit: (-hit.best_score, hit.number)
    if sort == "agencies":
        return lambda hit: (-hit.agency_count, hit.number)
    return lambda hit: hit.number


def hit_views(session: Session, run_id: uuid.UUID, numbers: Sequence[int]) -> dict[int, Any]:
    """The analysts' stored views (HitPublic shape) of these hits, by number."""
    if not numbers:
        return {}
    query = select(HitView.number, HitView.body).where(
        HitView.run_id == run_id,
        HitView.audience == EVERY_AGENCY,
        HitView.number.in_(list(numbers)),
    )
    return {number: json.loads(body) for number, body in session.execute(query)}


class _Changes:
    """Hit changes between two succeeded runs, kept for a few pairs (runs never change)."""

    def __init__(self, size: int = 16) -> None:
        self._kept: OrderedDict[tuple[uuid.UUID, uuid.UUID], HitChanges] = OrderedDict()
        self._lock, self._size = Lock(), size

    def get(self, session: Session, old: uuid.UUID, new: uuid.UUID) -> HitChanges:
        key = (old, new)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        changes = compare_hits(_records(session, old), _records(session, new))
        with self._lock:
            self._kept[key] = changes
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return changes


_CHANGES = _Changes()


def hit_changes(session: Session, old: uuid.UUID, new: uuid.UUID) -> HitChanges:
    """What changed from run `old` to run `new`, by the records in each hit (as the CLI)."""
    return _CHANGES.get(session, old, new)


def change_of(changes: HitChanges) -> dict[int, str]:
    """Each new-run hit's change: new, grown, changed or unchanged."""
    kinds: dict[int, str] = dict.fromkeys(changes.new, "new")
    kinds |= dict.fromkeys(changes.grown, "grown")
    kinds |= dict.fromkeys(changes.changed, "changed")
    kinds |= dict.fromkeys(changes.unchanged, "unchanged")
    return kinds


def _records(session: Session, run_id: uuid.UUID) -> HitRecords:
    records: dict[int, frozenset[Member]] = {}
    for hits, members in iter_hits(session, run_id, agency_id=None):
        by_number: dict[int, set[Member]] = {hit.number: set() for hit in hits}
        for member in members:
            by_number[member.number].add(Member(member.agency, member.reference or ""))
        records.update((number, frozenset(found)) for number, found in by_number.items())
    return records


def gone_hits(session: Session, run_id: uuid.UUID, numbers: Sequence[int]) -> dict[int, Any]:
    """The old run's views of hits that are gone in the newer one."""
    return hit_views(session, run_id, numbers)


# A link explained -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One comparison's part in a link's match weight."""

    comparison: str
    level: str  # "agree" (or "swapped" dates), or "unknown" when not stored
    weight: float | None  # bits; None where the level is not stored
    low: float | None = None  # the weight's range over salt families, if several
    high: float | None = None
    m: float | None = None
    u: float | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """A link's match weight, from the prior through the comparisons to the posterior."""

    prior: float  # the learned share of matches among candidates
    prior_weight: float  # bits
    steps: tuple[Step, ...]  # the comparisons that agreed, in the schema's order
    remainder: float  # bits: every comparison that did not agree, together
    not_agreed: tuple[str, ...]  # their names
    total: float  # bits
    posterior: float
    capped: bool  # the posterior is 1 to float precision: its weight is drawn at the cap
    # Runs that store each link's levels (`Link.levels`): every comparison's level, its
    # weight log2(m / r) against the related class of the family that scored the link;
    # `remainder` is then what the chance class takes off (the total is exact).
    exact: bool = False
    family: str = ""


def logit2(probability: float) -> float:
    """Match weight in bits of a probability: log2(p / (1 - p)), capped near 0 and 1."""
    p = min(max(probability, _LOGIT_CAP), 1.0 - _LOGIT_CAP)
    return math.log2(p / (1.0 - p))


def weight_table(
    report: dict[str, Any],
) -> dict[str, dict[str, list[tuple[str, float, float, float]]]]:
    """The report's learned levels: comparison -> level -> [(family, m, u, bits), ...]."""
    table: dict[str, dict[str, list[tuple[str, float, float, float]]]] = {}
    for name, level, m, u, bits in report.get("field_weights") or ():
        family, _, comparison = str(name).rpartition("/")
        table.setdefault(comparison, {}).setdefault(str(level), []).append(
            (family, float(m), float(u), float(bits))
        )
    return table


def class_table(
    report: dict[str, Any],
) -> dict[str, dict[str, list[tuple[str, float, float, float]]]]:
    """Levels against the related class: comparison -> level -> [(family, m, r, bits)].

    The weight a link's explanation uses (`explain_levels`). Empty for runs that did not
    keep their class probabilities, or unsalted ones (use `weight_table` there).
    """
    table: dict[str, dict[str, list[tuple[str, float, float, float]]]] = {}
    for family, comparison, level, m, r, _ in report.get("class_models") or ():
        if not family:
            return {}  # an unsalted run: u is a real chance rate, its table says more
        table.setdefault(str(comparison), {}).setdefault(str(level), []).append(
            (str(family), float(m), float(r), _bits(float(m), float(r)))
        )
    return table


def comparisons_of(report: dict[str, Any]) -> list[str]:
    """The run's comparison names, in the schema's order."""
    return list(weight_table(report))


def agreed_on_link(link: Sequence[Any], agreed_fields: Sequence[str] | None) -> list[str]:
    """The comparisons that agreed on one stored link (bit i: agreed_fields[i])."""
    if not agreed_fields or len(link) < 4:
        return []
    mask = int(link[3])
    return [name for bit, name in enumerate(agreed_fields) if mask >> bit & 1]


def explain(report: dict[str, Any], posterior: float, agreed: Sequence[str]) -> Explanation | None:
    """A field-scored link's waterfall; None for runs scored on the record-level filter."""
    table, prior = weight_table(report), report.get("prior")
    if not table or prior is None:
        return None
    steps = []
    for comparison, levels in table.items():
        if comparison not in agreed:
            continue
        rows = levels.get("agree") or next(iter(levels.values()))
        bits = [row[3] for row in rows]
        steps.append(
            Step(
                comparison,
                "agree",
                sum(bits) / len(bits),
                min(bits) if len(bits) > 1 else None,
                max(bits) if len(bits) > 1 else None,
                sum(row[1] for row in rows) / len(rows),
                sum(row[2] for row in rows) / len(rows),
            )
        )
    prior_weight, total = logit2(float(prior)), logit2(posterior)
    agreed_sum = sum(step.weight or 0.0 for step in steps)
    return Explanation(
        prior=float(prior),
        prior_weight=prior_weight,
        steps=tuple(steps),
        remainder=total - prior_weight - agreed_sum,
        not_agreed=tuple(name for name in table if name not in agreed),
        total=total,
        posterior=posterior,
        capped=posterior >= 1.0 - _LOGIT_CAP,
    )


def explain_levels(report: dict[str, Any], posterior: float, levels: str) -> Explanation | None:
    """A link's waterfall from its stored levels; None where the run did not keep them.

    Per comparison, the level the link reached and log2(m / r): how much likelier that
    level is among matches than among the related non-matches (relatives, namesakes) of
    the salt family that scored the link; missing counts 0. The prior is the family's
    log2 of matches to related pairs. Scoring weighs the chance class too, so what is
    left to the exact total (from the stored posterior) is shown as its own step.
    """
    family, _, digits = levels.partition(":")
    names = report.get("comparison_levels") or ()
    shares = {str(row[0]): row for row in report.get("class_shares") or ()}
    if not digits or len(digits) != len(names) or family not in shares:
        return None
    table = {
        (str(c), str(level)): (float(m), float(r))
        for f, c, level, m, r, _ in report.get("class_models") or ()
        if f == family
    }
    matches, related = float(shares[family][1]), float(shares[family][2])
    prior_weight = _bits(matches, related)
    steps = []
    for (comparison, level_names), digit in zip(names, digits, strict=True):
        level = str(level_names[int(digit)])
        if int(digit) == 0 or (comparison, level) not in table:
            steps.append(Step(str(comparison), "missing", 0.0))
            continue
        m, r = table[(comparison, level)]
        steps.append(Step(str(comparison), level, _bits(m, r), m=m, u=r))
    total = logit2(posterior)
    return Explanation(
        prior=matches,
        prior_weight=prior_weight,
        steps=tuple(steps),
        remainder=total - prior_weight - sum(step.weight or 0.0 for step in steps),
        not_agreed=(),
        total=total,
        posterior=posterior,
        capped=posterior >= 1.0 - _LOGIT_CAP,
        exact=True,
        family=family,
    )


def _bits(top: float, bottom: float) -> float:
    return math.log2(max(top, 1e-300) / max(bottom, 1e-300))


def stored_hit(session: Session, run_id: uuid.UUID, number: int) -> Hit | None:
    """The run's hit with this number."""
    query = select(Hit).where(Hit.run_id == run_id, Hit.number == number)
    return session.scalars(query).one_or_none()


# Run quality ----------------------------------------------------------------------------


def link_scores(session: Session, run_id: uuid.UUID) -> list[float]:
    """The score of every stored link of the run's hits (posteriors, or Dice for CLK runs)."""
    scores: list[float] = []
    for (links,) in session.execute(select(Hit.links).where(Hit.run_id == run_id)):
        scores.extend(float(link[2]) for link in links)
    return scores


def score_histogram(
    scores: Sequence[float], *, fields: bool, threshold: float, bins: int = 16
) -> tuple[list[int], list[float]]:
    """Counts and bin edges: match weights in bits for field scoring, else Dice scores."""
    values = [logit2(score) for score in scores] if fields else list(scores)
    low = logit2(threshold) if fields else threshold
    high = max([low + 1.0, *values]) if values else low + 1.0
    counts, edges = np.histogram(values, bins=bins, range=(math.floor(low), math.ceil(high)))
    return [int(count) for count in counts], [float(edge) for edge in edges]


@dataclass(frozen=True, slots=True)
class Cut:
    """Estimated precision and recall of keeping the links at or above one threshold."""

    threshold: float
    links: int
    precision: float
    recall: float | None


def cuts(
    scores: Sequence[float], *, threshold: float, recall: float | None, steps: int = 8
) -> list[Cut]:
    """Label-free estimates per posterior threshold, from the chosen one upwards.

    Precision is the mean posterior of the links kept (the model's expected share of true
    links); recall is the run's estimate at its threshold times the expected share of its
    true links that a higher threshold keeps. Only stored links count: none below the
    chosen threshold is kept, so no threshold below it can be estimated here.
    """
    profile = PosteriorProfile.of(np.asarray(scores, dtype=np.float64))
    found = sorted({threshold, *_ladder(threshold, steps)})
    out = []
    for cut in found:
        precision, share = profile.estimate(cut)
        kept = int((profile.posteriors >= cut).sum())
        out.append(Cut(cut, kept, precision, None if recall is None else recall * share))
    return out


def candidate_histogram(report: dict[str, Any]) -> tuple[list[int], list[float]] | None:
    """Every compared pair's match weight, binned by the run (None for older runs)."""
    bins = report.get("weight_histogram") or ()
    if not bins:
        return None
    starts = [float(start) for start, _ in bins]
    width = starts[1] - starts[0] if len(starts) > 1 else 1.0
    return [int(count) for _, count in bins], [*starts, starts[-1] + width]


def report_cuts(report: dict[str, Any]) -> list[Cut] | None:
    """The run's own estimates per threshold over every compared pair, with its chosen one.

    None for runs made before runs kept them (the pages then estimate from stored links).
    """
    rows = report.get("cuts") or ()
    if not rows:
        return None
    threshold = float(report.get("threshold", 0.0))
    found = [Cut(float(c), int(k), float(p), float(r)) for c, k, p, r in rows if c != threshold]
    chosen = Cut(
        threshold,
        int(report.get("pairs_at_threshold", 0)),
        float(report.get("estimated_precision") or 0.0),
        report.get("estimated_recall"),
    )
    return sorted([*found, chosen], key=lambda cut: cut.threshold)


def _ladder(threshold: float, steps: int) -> list[float]:
    # Thresholds evenly spaced in match weight between the chosen one and 1 - 1e-9.
    low, high = logit2(threshold), logit2(1.0 - 1e-9)
    return [
        round(1.0 / (1.0 + 2.0 ** -(low + (high - low) * i / steps)), 12) for i in range(1, steps)
    ]


@dataclass(frozen=True, slots=True)
class Overlap:
    """How many hits (persons) agencies share: per pair, and per exact combination."""

    agencies: tuple[str, ...]  # agency ids, in the project's order
    pairs: dict[tuple[str, str], int]  # hits holding records of both
    alone: dict[str, int]  # hits holding a record of this agency
    combinations: list[tuple[tuple[str, ...], int]]  # exact agency sets, most hits first


def overlap(session: Session, run_id: uuid.UUID, agencies: Sequence[str]) -> Overlap:
    """The agencies' shared hits in one run (counts only)."""
    holders: dict[uuid.UUID, set[str]] = {}
    query = select(HitMember.hit_id, HitMember.agency_id).where(HitMember.run_id == run_id)
    for hit_id, agency_id in session.execute(query):
        holders.setdefault(hit_id, set()).add(str(agency_id))
    order = {agency: index for index, agency in enumerate(agencies)}
    sets = [
        tuple(sorted(found, key=lambda a: order.get(a, len(order)))) for found in holders.values()
    ]
    pairs: Counter[tuple[str, str]] = Counter()
    alone: Counter[str] = Counter()
    for found in sets:
        alone.update(found)
        pairs.update(combinations(found, 2))
    together = Counter(sets).most_common()
    return Overlap(tuple(agencies), dict(pairs), dict(alone), together)


def principal_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Principals' names by id (for "uploaded by", "started by")."""
    wanted = set(ids)
    if not wanted:
        return {}
    query = select(Principal.id, Principal.name).where(Principal.id.in_(wanted))
    return {row.id: row.name for row in session.execute(query)}
