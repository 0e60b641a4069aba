from pathlib import Path

from linkage.match.engine import MatchSettings, match_batches
from tests.linkage.test_engine import three_agencies


def test_progress_runs_through_the_stages_and_ends_at_one() -> None:
    seen: list[tuple[str, float]] = []

    match_batches(three_agencies(), MatchSettings(), progress=lambda *step: seen.append(step))

    stages = [stage for stage, _ in seen]
    assert stages[0] == "choosing threshold"
    assert stages.count("comparing") == 1 + 3  # the stage change, then one per task
    assert stages[-2:] == ["grouping", "matched"]
    assert [fraction for _, fraction in seen] == sorted(fraction for _, fraction in seen)
    assert seen[-1][1] == 1.0


def test_a_fixed_threshold_skips_choosing_one() -> None:
    seen: list[str] = []

    match_batches(
        three_agencies(),
        MatchSettings(threshold=0.75),
        progress=lambda stage, _: seen.append(stage),
    )

    assert "choosing threshold" not in seen


def test_a_salted_run_names_the_family_it_is_working_on(tmp_path: Path) -> None:
    from tests.linkage.field_data import synth_batches

    seen: list[tuple[str, float]] = []
    match_batches(synth_batches(tmp_path).batches, progress=lambda *event: seen.append(event))

    stages = [stage for stage, _ in seen]
    assert "choosing threshold (salt family 1 of 8: born_surname)" in stages
    assert "comparing (salt family 8 of 8: document)" in stages
    assert [fraction for _, fraction in seen] == sorted(fraction for _, fraction in seen)
    assert stages[-2:] == ["grouping", "matched"]
