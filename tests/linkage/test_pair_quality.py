"""The benchmarks' pair quality: counted per person, as pair by pair would count it."""

from itertools import product

from benchmarks.fields_bench import _febrl_person, pair_quality
from linkage.hits import Group, Hits, Member


def test_pair_quality_counts_the_true_pairs_of_every_group() -> None:
    a = ["rec-1-org", "rec-2-org", "rec-2-org-c1", "rec-3-org"]
    b = ["rec-1-dup-0", "rec-2-dup-0", "rec-2-dup-0-c1", "rec-9-dup-0", "rec-3-dup-1"]
    refmaps = {
        "a": {f"a{i}": r for i, r in enumerate(a)},
        "b": {f"b{i}": r for i, r in enumerate(b)},
    }
    groups = (
        [
            Member("a", "a0"),
            Member("a", "a1"),
            Member("b", "b0"),
            Member("b", "b1"),
            Member("b", "b3"),
        ],
        [Member("a", "a2"), Member("a", "a3"), Member("b", "b2"), Member("b", "b4")],
    )
    hits = Hits(0.9, 2, tuple(Group(members=tuple(g), links=()) for g in groups))

    quality = pair_quality(hits, refmaps, _febrl_person, 3)

    pairs = [
        (refmaps["a"][x.reference], refmaps["b"][y.reference])
        for g in groups
        for x, y in product(g, g)
        if x.agency == "a" and y.agency == "b"
    ]
    correct = sum(_febrl_person(x) == y for x, y in pairs)
    assert (quality["pairs"], correct) == (len(pairs), 3) == (10, 3)
    assert quality["precision"] == 3 / 10 and quality["recall"] == 1.0
