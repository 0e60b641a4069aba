"""Each link says which salt family scored it and the level every comparison reached."""

from pathlib import Path

from benchmarks.agencies import encode_agencies
from linkage.comparisons import comparison_layout
from linkage.hits import read_hits, write_hits
from linkage.match.engine import match_batches
from linkage.schema import load_schema
from linkage.synth import generate


def test_links_carry_the_family_and_level_of_every_comparison(tmp_path: Path) -> None:
    generate(tmp_path, persons=200, seed=5)
    batches, _ = encode_agencies(tmp_path, load_schema("person"))

    hits, report = match_batches(batches)
    write_hits(hits, tmp_path / "hits.json")
    again = read_hits(tmp_path / "hits.json")

    names = dict(report.comparison_levels)
    families = {row[0] for row in report.class_shares}
    links = [link for group in hits.groups for link in group.links]
    assert links and families == set(comparison_layout(load_schema("person")).family_names)
    for link in links:
        family, _, digits = link.levels.partition(":")
        assert family in families and len(digits) == len(names)
        reached = {c: names[c][int(d)] for c, d in zip(names, digits, strict=True)}
        # the agreed names are exactly the comparisons whose level counts as agreeing
        assert set(link.agreed) == {
            c for c, level in reached.items() if level in ("agree", "swapped")
        }
    stored = [link.levels for group in again.groups for link in group.links]
    assert stored == [link.levels for link in links]
