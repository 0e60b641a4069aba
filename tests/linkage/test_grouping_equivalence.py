"""Grouping and hits on arrays give exactly what the record-by-record versions gave.

The references below are the straightforward versions the array code replaced (a loop
over every component; dictionaries of members and links per group): numbers, members,
links and their order must not change, since hit numbers are what the hub shows.
"""

from collections.abc import Sequence

import numpy as np
import pytest

from linkage.hits import Group, Link, Member, agreed_on
from linkage.match import grouping
from linkage.match.dice import DicePairs
from linkage.match.grouping import group_records
from linkage.match.pool import Pool, hit_groups


def _random_pairs(seed: int, records: int = 600, agencies: int = 4):
    rng = np.random.default_rng(seed)
    agency = np.sort(rng.integers(0, agencies, records))
    # Persons of 1 to 6 records, then some pairs across persons (bridges, namesakes).
    person = np.sort(rng.integers(0, records // 3, records))
    rng.shuffle(person)
    left, right = [], []
    for group in np.unique(person):
        members = np.flatnonzero(person == group)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if agency[a] != agency[b] and rng.random() < 0.8:
                    left.append(a)
                    right.append(b)
    for _ in range(records // 10):
        a, b = rng.integers(0, records, 2)
        if agency[a] != agency[b]:
            left.append(min(a, b))
            right.append(max(a, b))
    left_array, right_array = np.array(left, np.int64), np.array(right, np.int64)
    score = rng.uniform(0.5, 1.0, len(left_array))
    return agency, left_array, right_array, score


def _reference_groups(agency, left, right, score, *, threshold, cap=3, rank=None, compared=None):
    keep = grouping._best_links(agency, left, right, score if rank is None else rank, cap)
    left, right, score = left[keep], right[keep], score[keep]
    component = grouping._components(len(agency), left, right)
    group = np.full(len(agency), -1, dtype=np.int64)
    next_group = 0
    known = grouping._known_pairs(component, compared) if compared is not None else None
    every = np.ones(len(agency), dtype=bool)
    for members, pair_index in grouping._by_component(component, left, every):
        links = (left[pair_index], right[pair_index], score[pair_index])
        if known is not None:
            links = known.get(int(component[members[0]]), links)
        next_group = grouping._cohere(
            members, links, agency, threshold, group, next_group, only_known=known is not None
        )
    return group, next_group


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("with_compared", [False, True])
def test_groups_are_numbered_as_the_loop_over_every_component_numbered_them(
    seed: int, with_compared: bool
) -> None:
    agency, left, right, score = _random_pairs(seed)
    linked = score >= 0.7
    compared = (left, right, score) if with_compared else None
    rank = np.log(score[linked]) if seed % 2 else None

    expected, count = _reference_groups(
        agency,
        left[linked],
        right[linked],
        score[linked],
        threshold=0.7,
        rank=rank,
        compared=compared,
    )
    found = group_records(
        agency,
        left[linked],
        right[linked],
        score[linked],
        threshold=0.7,
        rank=rank,
        compared=compared,
    )

    sizes = np.bincount(expected[expected >= 0])
    assert (sizes == 2).any() and (sizes > 2).any()  # both kinds of component are there
    assert np.array_equal(found.group, expected)
    assert found.groups == count


def _reference_hits(
    pool: Pool,
    group: np.ndarray,
    pairs: DicePairs,
    min_agencies: int,
    agreed: Sequence[tuple[str, ...]] | None = None,
) -> list[Group]:
    inside = (group[pairs.left] >= 0) & (group[pairs.left] == group[pairs.right])
    links_of: dict[int, list[int]] = {}
    for index in np.flatnonzero(inside).tolist():
        links_of.setdefault(int(group[pairs.left[index]]), []).append(index)
    members_of: dict[int, list[int]] = {}
    for record in np.flatnonzero(group >= 0).tolist():
        members_of.setdefault(int(group[record]), []).append(record)
    out = []
    for number in sorted(members_of):
        members = members_of[number]
        if len({int(pool.agency[m]) for m in members}) < min_agencies:
            continue
        position = {record: slot for slot, record in enumerate(members)}
        links = tuple(
            Link(
                position[int(pairs.left[i])],
                position[int(pairs.right[i])],
                float(pairs.score[i]),
                agreed[i] if agreed is not None else (),
            )
            for i in links_of.get(number, [])
        )
        out.append(
            Group(
                members=tuple(
                    Member(pool.agencies[pool.agency[m]], pool.references[m]) for m in members
                ),
                links=links,
                agreed_fields=agreed_on(links),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("min_agencies", [2, 3])
@pytest.mark.parametrize("with_agreed", [False, True])
def test_hits_hold_the_members_and_links_the_dictionaries_gave(
    seed: int, min_agencies: int, with_agreed: bool
) -> None:
    agency, left, right, score = _random_pairs(seed)
    names = ("gemeente", "politie", "fiu", "kmar")
    pool = Pool(
        agencies=names,
        agency=agency,
        references=tuple(f"r{i}" for i in range(len(agency))),
        filter_parts=(np.zeros((len(agency), 8), np.uint8),),
        starts=np.searchsorted(agency, np.arange(4)),
    )
    grouped = group_records(agency, left, right, score, threshold=0.6)
    pairs = DicePairs(left, right, score)
    choices = [(), ("date_of_birth",), ("surname", "date_of_birth"), ("phone",)]
    agreed = [choices[i % 4] for i in range(len(left))] if with_agreed else None

    found = hit_groups(pool, grouped.group, pairs, min_agencies, agreed)
    expected = _reference_hits(pool, grouped.group, pairs, min_agencies, agreed)

    assert len(expected) > 20 and any(len(g.links) > 1 for g in expected)
    assert found == expected


def _component(seed: int, members: int, agencies: int, ties: bool):
    """A connected-ish component: persons of a few records, bridges between them."""
    rng = np.random.default_rng(seed)
    agency = rng.integers(0, agencies, members)
    pairs = set()
    for a in range(members):
        for b in rng.choice(members, size=3, replace=False).tolist():
            if agency[a] != agency[b]:
                pairs.add((min(a, b), max(a, b)))
    left, right = (np.array(side, dtype=np.int64) for side in zip(*sorted(pairs), strict=True))
    values = np.array([0.5, 0.7, 0.9, 1.0]) if ties else None
    score = rng.choice(values, len(left)) if ties else rng.uniform(0.0, 1.0, len(left))
    return agency, left, right, score


def _dense_labels(agency, left, right, score, threshold, only_known):
    matrices = grouping._dense_matrices((left, right, score), agency, only_known=only_known)
    return grouping._average_link(*matrices, threshold)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("only_known", [False, True])
def test_large_components_agglomerate_over_their_links_as_the_dense_matrices_did(
    seed: int, only_known: bool
) -> None:
    agency, left, right, score = _component(seed, 150 + 20 * seed, 2 + seed % 4, seed % 2 == 0)
    threshold = 0.5 if only_known else 0.1  # every pair counted: means are small

    dense = _dense_labels(agency, left, right, score, threshold, only_known)
    sparse = grouping._average_link_sparse(
        (left, right, score), agency, threshold, only_known=only_known
    )

    assert len(np.unique(dense)) < len(agency)  # some merges happened
    np.testing.assert_array_equal(sparse, dense)


def test_a_giant_component_is_grouped_without_members_squared_memory() -> None:
    # 200,000 records in one chain of links: dense matrices would take 320 GB each.
    records = 200_000
    agency = np.arange(records) % 2
    left = np.arange(records - 1, dtype=np.int64)
    right = left + 1
    score = np.where(left % 4 == 3, 0.55, 0.95)  # weaker links every fourth

    found = group_records(agency, left, right, score, threshold=0.5, cap=3)

    # As the dense version groups a short chain (checked at 2,000 records): the weak links
    # do not hold, each stretch of four makes one group (three of its records, alternating
    # agencies, reach the threshold on average; the fourth stays out).
    assert found.groups == records // 4
    assert (np.bincount(found.group[found.group >= 0]) == 3).all()
