"""compare_hits: what changed between two runs' hits, judged by the records they hold."""

from linkage.hits import Member, compare_hits


def records(*refs: str) -> frozenset[Member]:
    return frozenset(Member(ref.split(":")[0], ref) for ref in refs)


def test_each_kind_of_change_is_told_apart() -> None:
    old = {
        1: records("p:1", "k:1"),  # unchanged
        2: records("p:2", "k:2"),  # grows by a fiu record
        3: records("p:3", "k:3", "g:3"),  # splits in two
        4: records("p:4", "k:4"),  # gone
    }
    new = {
        1: records("p:1", "k:1"),
        2: records("p:2", "k:2", "f:2"),
        3: records("p:3", "g:9"),
        4: records("k:3", "g:3"),
        5: records("p:5", "k:5"),  # new
    }

    changes = compare_hits(old, new)

    assert changes.unchanged == {1: 1}
    assert changes.grown == {2: 2}
    assert changes.changed == {3: [3], 4: [3]}
    assert changes.new == [5]
    assert changes.gone == [4]


def test_two_old_hits_merged_into_one_are_a_change_not_growth() -> None:
    old = {1: records("p:1", "k:1"), 2: records("g:2", "f:2")}
    new = {1: records("p:1", "k:1", "g:2", "f:2")}

    changes = compare_hits(old, new)

    assert changes.changed == {1: [1, 2]} and not (changes.grown or changes.gone or changes.new)
