import numpy as np

from linkage.match.grouping import group_records


def grouped(
    agency: list[int], links: list[tuple[int, int, float]], *, threshold: float = 0.8, cap: int = 3
) -> list[set[int]]:
    left, right, score = (np.array(column) for column in zip(*links, strict=True))
    result = group_records(
        np.array(agency),
        left.astype(np.int64),
        right.astype(np.int64),
        score.astype(np.float64),
        threshold=threshold,
        cap=cap,
    )
    groups: dict[int, set[int]] = {}
    for record, number in enumerate(result.group.tolist()):
        if number >= 0:
            groups.setdefault(number, set()).add(record)
    return sorted(groups.values(), key=min)


def test_a_linked_pair_is_one_group() -> None:
    assert grouped([0, 1, 1], [(0, 1, 0.9)]) == [{0, 1}]


def test_a_bridge_record_does_not_chain_two_people() -> None:
    # person P: 0 (gemeente), 1 (politie); person Q: 2 (fiu), 3 (kmar);
    # record 4 (politie) resembles both a little.
    agency = [0, 1, 2, 3, 1]
    links = [(0, 1, 0.95), (2, 3, 0.93), (0, 4, 0.82), (2, 4, 0.81)]

    assert grouped(agency, links) == [{0, 1, 4}, {2, 3}]


def test_the_bridge_merges_only_when_the_average_bar_is_that_low() -> None:
    agency = [0, 1, 2, 3, 1]
    links = [(0, 1, 0.95), (2, 3, 0.93), (0, 4, 0.82), (2, 4, 0.81)]

    # the two clusters share one link (0.81) among six cross-agency pairs: mean 0.135
    groups = grouped(agency, links, threshold=0.13)

    assert groups == [{0, 1, 2, 3, 4}]


def test_several_records_of_one_agency_share_a_group() -> None:
    # the police (1) met the person twice; gemeente (0) and fiu (2) once each
    agency = [0, 1, 1, 2]
    links = [(0, 1, 0.9), (0, 2, 0.88), (1, 3, 0.86), (2, 3, 0.9), (0, 3, 0.92)]

    assert grouped(agency, links) == [{0, 1, 2, 3}]


def test_links_beyond_the_cap_into_one_agency_are_dropped() -> None:
    # record 0 resembles five police records; with cap 2 it keeps its two best
    agency = [0, 1, 1, 1, 1, 1]
    links = [(0, 1, 0.81), (0, 2, 0.95), (0, 3, 0.82), (0, 4, 0.9), (0, 5, 0.83)]

    assert grouped(agency, links, cap=2) == [{0, 2, 4}]


def test_records_without_links_are_in_no_group() -> None:
    result = group_records(
        np.array([0, 1]), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), threshold=0.8
    )

    assert result.group.tolist() == [-1, -1]
    assert result.groups == 0
