"""Who is one person: records of several agencies grouped from scored pairs.

Single-link grouping (connected components of all pairs above the threshold) lets one
bridge record chain unrelated people together. Here grouping is done in three steps:

1. best links per agency pair: a record keeps only its `cap` best links into each other
   agency, and a link survives only if both ends keep it;
2. connected components of the surviving links;
3. a coherence check inside each component: average-link agglomeration, where clusters
   merge only while the average similarity over their cross-agency record pairs (a
   missing link counts as 0) reaches the threshold. A bridge record joins the side it
   resembles, but cannot pull two people together. A component of more than
   `DENSE_MEMBERS` records is agglomerated over its links alone (the same merges,
   without members-squared matrices).

Several records of one agency may share a group (the police meet the same person in
several cities): same-agency pairs are never compared, so they neither help nor hinder.
"""

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

ScoredPairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]
# The compared pairs whose two records are in one component marked big (component of
# each record, big per component root), for a caller that holds them elsewhere.
ComparedInside = Callable[[npt.NDArray[np.int64], npt.NDArray[np.bool_]], ScoredPairs]


@dataclass(frozen=True, slots=True)
class Grouping:
    """Groups as arrays: `group[i]` is record i's group, -1 for records in no group."""

    group: npt.NDArray[np.int64]
    groups: int


def group_records(
    agency: npt.NDArray[np.int64],
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    *,
    threshold: float,
    cap: int = 3,
    rank: npt.NDArray[np.float64] | None = None,
    compared: ScoredPairs | ComparedInside | None = None,
) -> Grouping:
    """Group records from scored cross-agency pairs.

    Args:
        agency: Agency index of every record.
        left: First record of each pair.
        right: Second record of each pair (of another agency).
        score: Similarity of each pair, all at or above `threshold`.
        threshold: Minimum average similarity for two clusters to merge.
        cap: Links a record may keep into each other agency.
        rank: What orders a record's links for the cap (default: score). Field scoring
            passes match weights: posteriors of strong pairs all round to 1.0.
        compared: Every pair that was scored, below the threshold too (left, right,
            score). Given, the coherence check averages over compared pairs only, with
            their own scores: a pair never compared (salt families that share no salt,
            `linkage.salting`) is unknown rather than a disagreement. None: every
            cross-agency pair counts, a missing link as 0. Or a function that gives the
            compared pairs inside the larger components once they are known (each pair
            once), for a run that does not hold them all (`floor`).

    Returns:
        A group number per record (-1: no group); groups with a single record are dropped.
    """
    keep = _best_links(agency, left, right, score if rank is None else rank, cap)
    left, right, score = left[keep], right[keep], score[keep]
    component = _components(len(agency), left, right)
    group = np.full(len(agency), -1, dtype=np.int64)
    # Components of two records are one group each: only larger ones need the coherence
    # check. Groups are numbered in order of their component's root either way.
    roots = np.unique(component[left])
    sizes = np.bincount(component, minlength=len(agency))[roots]
    pairs_of, larger = roots[sizes == 2], roots[sizes > 2]
    big = np.zeros(len(agency), dtype=bool)
    big[larger] = True
    inside = compared if compared is None or callable(compared) else _inside_of(compared)
    known = _known_pairs(component, inside(component, big)) if inside is not None else None
    made, total = [], 0  # groups each larger component made, and all of them so far
    for members, pair_index in _by_component(component, left, big):
        links = (left[pair_index], right[pair_index], score[pair_index])
        if known is not None:
            links = known.get(int(component[members[0]]), links)
        first = int(np.searchsorted(pairs_of, component[members[0]])) + total
        end = _cohere(members, links, agency, threshold, group, first, only_known=known is not None)
        made.append(end - first)
        total += end - first
    before = np.concatenate([[0], np.cumsum(made, dtype=np.int64)])
    numbers = np.arange(len(pairs_of)) + before[np.searchsorted(larger, pairs_of)]
    index = np.full(len(agency), -1, dtype=np.int64)
    index[pairs_of] = np.arange(len(pairs_of))
    paired = index[component]
    group[paired >= 0] = numbers[paired[paired >= 0]]
    return Grouping(group=group, groups=len(pairs_of) + int(before[-1]))


def pairs_inside(
    compared: ScoredPairs, component: npt.NDArray[np.int64], big: npt.NDArray[np.bool_]
) -> ScoredPairs:
    """The compared pairs whose ends are both in one of the `big` components."""
    left, right, score = compared
    keep = np.flatnonzero(big[component[left]] & (component[left] == component[right]))
    return left[keep], right[keep], score[keep]


def _inside_of(compared: ScoredPairs) -> ComparedInside:
    return lambda component, big: pairs_inside(compared, component, big)


def _known_pairs(component: npt.NDArray[np.int64], compared: ScoredPairs) -> dict[int, ScoredPairs]:
    """The compared pairs inside each component, by the component's root."""
    left, right, score = compared
    inside = np.flatnonzero(component[left] == component[right])
    roots = component[left[inside]]
    order = np.argsort(roots, kind="stable")
    runs = np.split(inside[order], np.flatnonzero(np.diff(roots[order])) + 1)
    return {
        int(component[left[run[0]]]): (left[run], right[run], score[run])
        for run in runs
        if len(run)
    }


def _best_links(
    agency: npt.NDArray[np.int64],
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    cap: int,
) -> npt.NDArray[np.bool_]:
    # Rank each pair among the links of its left record into the right record's agency,
    # and vice versa; a link survives when it ranks within the cap at both ends.
    return _ranked_within(left, agency[right], score, cap) & _ranked_within(
        right, agency[left], score, cap
    )


def _ranked_within(
    record: npt.NDArray[np.int64],
    other_agency: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    cap: int,
) -> npt.NDArray[np.bool_]:
    order = np.lexsort((-score, other_agency, record))
    rank = np.zeros(len(score), dtype=np.int64)
    sorted_record, sorted_agency = record[order], other_agency[order]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (sorted_record[1:] != sorted_record[:-1]) | (
        sorted_agency[1:] != sorted_agency[:-1]
    )
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(order)), 0))
    rank[order] = np.arange(len(order)) - run_start
    return rank < cap


@njit(cache=True)
def _find(parent, node):
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


@njit(cache=True)
def _components(size, left, right):
    parent = np.arange(size)
    for index in range(left.shape[0]):
        root_left, root_right = _find(parent, left[index]), _find(parent, right[index])
        if root_left != root_right:
            parent[max(root_left, root_right)] = min(root_left, root_right)
    for node in range(size):
        parent[node] = _find(parent, node)
    return parent


def _by_component(
    component: npt.NDArray[np.int64], left: npt.NDArray[np.int64], chosen: npt.NDArray[np.bool_]
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """(member records, pair indices) of every `chosen` component (by root) that has a pair."""
    pair_component = component[left]
    mine = np.flatnonzero(chosen[pair_component])
    order = mine[np.argsort(pair_component[mine], kind="stable")]
    pair_runs = np.split(order, np.flatnonzero(np.diff(pair_component[order])) + 1)
    nodes = np.flatnonzero(chosen[component])
    node_order = nodes[np.argsort(component[nodes], kind="stable")]
    node_component = component[node_order]
    out = []
    for pairs in pair_runs:
        if len(pairs):
            root = pair_component[pairs[0]]
            start = np.searchsorted(node_component, root, side="left")
            stop = np.searchsorted(node_component, root, side="right")
            out.append((node_order[start:stop], pairs))
    return out


def _cohere(
    members: npt.NDArray[np.int64],
    links: ScoredPairs,
    agency: npt.NDArray[np.int64],
    threshold: float,
    group: npt.NDArray[np.int64],
    next_group: int,
    *,
    only_known: bool,
) -> int:
    if len(members) == 2:  # one link, already at or above the threshold
        group[members] = next_group
        return next_group + 1
    left, right, score = links
    members = np.sort(members)
    local_left = np.searchsorted(members, left)
    local_right = np.searchsorted(members, right)
    member_agency = agency[members]
    if len(members) > DENSE_MEMBERS:
        labels = _average_link_sparse(
            (local_left, local_right, score), member_agency, threshold, only_known=only_known
        )
    else:
        similarity, cross = _dense_matrices(
            (local_left, local_right, score), member_agency, only_known=only_known
        )
        labels = _average_link(similarity, cross, threshold)
    for label in np.unique(labels):
        cluster = members[labels == label]
        if len(cluster) > 1:
            group[cluster] = next_group
            next_group += 1
    return next_group


def _dense_matrices(
    links: ScoredPairs, member_agency: npt.NDArray[np.int64], *, only_known: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """`_average_link`'s inputs, as members x members matrices.

    The links' scores, and which pairs a mean counts: the compared pairs (`only_known`),
    or every cross-agency pair.
    """
    left, right, score = links
    similarity = np.zeros((len(member_agency), len(member_agency)))
    similarity[left, right] = similarity[right, left] = score
    if only_known:
        cross = np.zeros_like(similarity)
        cross[left, right] = cross[right, left] = 1.0
    else:
        cross = (member_agency[:, None] != member_agency[None, :]).astype(np.float64)
    return similarity, cross


# Components larger than this are agglomerated over their links alone (`_average_link_sparse`):
# the dense matrices take members squared memory and the scan members cubed time (a
# component of 829,220 records asked for 5 TiB on FEBRL copies at 3,000,000 a side).
DENSE_MEMBERS = 400


def _average_link_sparse(
    links: ScoredPairs, member_agency: npt.NDArray[np.int64], threshold: float, *, only_known: bool
) -> npt.NDArray[np.int64]:
    """`_average_link` over the links of a large component, without its dense matrices.

    The same merges in the same order, the same labels: clusters merge by the highest mean
    similarity over their cross-agency record pairs (ties: the lowest pair of cluster
    numbers), each named by its lowest member. Only clusters joined by a link can reach
    a positive threshold, so only linked cluster pairs are kept, with the sum of their
    links' scores; the pairs a mean is taken over are counted from the clusters' agency
    counts (every cross-agency pair, a missing link 0) or, with `only_known`, are the
    compared pairs among the links. A heap holds every linked pair's current mean (at or
    above the threshold); entries whose mean has changed since are passed over.

    Args:
        links: (left, right, score) as indices into the members, each pair once.
        member_agency: Each member's agency.
        threshold: The mean a merge needs.
        only_known: Average over the given pairs only (else over all cross-agency pairs).

    Returns:
        Each member's cluster label.
    """
    size = len(member_agency)
    clusters = _SparseClusters(size, member_agency, only_known)
    for a, b, value in zip(*(column.tolist() for column in links), strict=True):
        clusters.link(a, b, value)
    heap = [(-clusters.mean(a, b), a, b) for a in range(size) for b in clusters.sums[a] if a < b]
    heap = [entry for entry in heap if -entry[0] >= threshold]
    heapq.heapify(heap)
    label = np.arange(size)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if b not in clusters.sums[a] or clusters.mean(a, b) != -negative:
            continue  # merged away, or its mean changed since (a newer entry holds it)
        label[clusters.members[b]] = a
        for c in clusters.merge(a, b):
            low, high = min(a, c), max(a, c)
            value = clusters.mean(low, high)
            if value >= threshold:
                heapq.heappush(heap, (-value, low, high))
    return label


class _SparseClusters:
    """Clusters of `_average_link_sparse`: link sums, compared pairs and agency counts."""

    def __init__(self, size: int, member_agency: npt.NDArray[np.int64], only_known: bool):
        agencies = int(member_agency.max()) + 1 if size else 0
        self.counts = np.zeros((size, agencies), dtype=np.int64)  # members per agency
        self.counts[np.arange(size), member_agency] = 1
        self.sums: list[dict[int, float]] = [{} for _ in range(size)]
        self.known: list[dict[int, float]] = [{} for _ in range(size)]  # compared pairs
        self.members: list[list[int]] = [[node] for node in range(size)]
        self.only_known = only_known

    def link(self, a: int, b: int, value: float) -> None:
        """A link between two members (as the dense matrix: a pair given twice keeps the last)."""
        self.sums[a][b] = self.sums[b][a] = value
        if self.only_known:
            self.known[a][b] = self.known[b][a] = 1.0

    def mean(self, a: int, b: int) -> float:
        """Mean similarity of two linked clusters over the pairs it is taken over."""
        if self.only_known:
            pairs = self.known[a][b]
        else:
            own, other = self.counts[a], self.counts[b]
            pairs = float(own.sum() * other.sum() - own @ other)
        return self.sums[a][b] / pairs if pairs > 0 else -1.0

    def merge(self, a: int, b: int) -> list[int]:
        """Cluster b into cluster a; the clusters whose mean with a may have changed."""
        # Sums change with b's neighbours; without only_known every count with a does.
        touched = [c for c in self.sums[b] if c != a]
        for table in (self.sums, self.known) if self.only_known else (self.sums,):
            for c, value in table[b].items():
                if c != a:
                    table[a][c] = table[a].get(c, 0.0) + value  # a's + b's, as the dense rows
                    table[c][a] = table[a][c]
                    del table[c][b]
            table[a].pop(b, None)
            table[b] = {}
        self.counts[a] += self.counts[b]
        self.members[a].extend(self.members[b])
        self.members[b] = []
        return touched if self.only_known else list(self.sums[a])


@njit(cache=True)
def _average_link(similarity, cross, threshold):
    # Greedy agglomeration on cluster sums: merge the pair of clusters with the highest
    # mean similarity over their cross-agency record pairs while it reaches the threshold.
    size = similarity.shape[0]
    sums, counts = similarity.copy(), cross.copy()
    label = np.arange(size)
    active = np.ones(size, dtype=np.bool_)
    while True:
        best, best_a, best_b = -1.0, -1, -1
        for a in range(size):
            if not active[a]:
                continue
            for b in range(a + 1, size):
                if active[b] and counts[a, b] > 0:
                    mean = sums[a, b] / counts[a, b]
                    if mean > best:
                        best, best_a, best_b = mean, a, b
        if best < threshold:
            return label
        sums[best_a, :] += sums[best_b, :]
        sums[:, best_a] += sums[:, best_b]
        counts[best_a, :] += counts[best_b, :]
        counts[:, best_a] += counts[:, best_b]
        active[best_b] = False
        for node in range(size):
            if label[node] == best_b:
                label[node] = best_a
