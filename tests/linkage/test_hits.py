import json
from pathlib import Path

import pytest

from linkage.hits import Group, Hits, Link, Member, read_hits, write_hits

GROUPS = (
    Group(
        members=(Member("gemeente", "r1"), Member("politie", "r2"), Member("politie", "r3")),
        links=(Link(0, 1, 0.98765, ("date_of_birth", "surname")), Link(0, 2, 0.9, ())),
        agreed_fields=("date_of_birth", "surname"),
    ),
    Group(members=(Member("gemeente", "r4"), Member("politie", "r5")), links=(), number=7),
)


@pytest.mark.parametrize("groups", [(), GROUPS[:1], GROUPS])
def test_hits_are_written_group_by_group_as_the_whole_document_would_be(
    tmp_path: Path, groups: tuple[Group, ...]
) -> None:
    hits = Hits(threshold=0.5, min_agencies=2, groups=groups)

    write_hits(hits, tmp_path / "hits.json")

    text = (tmp_path / "hits.json").read_text(encoding="utf-8")
    assert text == json.dumps(hits.to_json(), indent=2) + "\n"
    assert read_hits(tmp_path / "hits.json").groups == tuple(
        Group(
            members=g.members,
            links=tuple(Link(k.left, k.right, round(k.score, 4), k.agreed) for k in g.links),
            agreed_fields=g.agreed_fields,
            best_score=round(g.score, 4),
            number=g.number or n,
        )
        for n, g in enumerate(groups, 1)
    )


def test_hits_text_is_json_dumps_text_for_any_names_references_and_scores(
    tmp_path: Path,
) -> None:
    import random

    rng = random.Random(5)
    awkward = [
        "plain",
        'quote"d',
        "back\\slash",
        "tab\tnew\nline",
        "é ñ ü",
        "中文",
        "\x00\x1f",
        "%s %d",
    ]
    groups = []
    for number in range(300):
        members = tuple(
            Member(rng.choice([*awkward[:3], "gemeente"]), f"{rng.choice(awkward)}-{i}")
            for i in range(rng.randint(1, 5))
        )
        links = tuple(
            Link(
                rng.randrange(len(members)),
                rng.randrange(len(members)),
                rng.choice([1.0, 0.0, 0.5, 1 / 3, 1e-7, rng.random(), 0.99995]),
                tuple(rng.sample(awkward, rng.randint(0, 3))),
            )
            for _ in range(rng.randint(0, 4))
        )
        groups.append(
            Group(
                members=members,
                links=links,
                agreed_fields=tuple(rng.sample(awkward, rng.randint(0, 2))),
                number=rng.choice([None, number * 3]),
                best_score=rng.choice([None, 0.25]),
                unshown_agencies=tuple(rng.sample(["fiu", "kmar"], rng.randint(0, 2))),
            )
        )
    hits = Hits(threshold=0.61, min_agencies=2, groups=tuple(groups))

    write_hits(hits, tmp_path / "hits.json")

    assert (tmp_path / "hits.json").read_text(encoding="utf-8") == (
        json.dumps(hits.to_json(), indent=2) + "\n"
    )
