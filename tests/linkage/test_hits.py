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
