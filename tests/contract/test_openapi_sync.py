import json

from service.openapi import SPEC_PATH, main, render


def test_committed_spec_matches_app() -> None:
    assert SPEC_PATH.read_text(encoding="utf-8") == render(), "run: python -m service.openapi"


def test_check_mode_reports_a_fresh_spec() -> None:
    assert main(["--check"]) == 0


def test_spec_has_stable_operation_ids_and_one_tag_per_route() -> None:
    spec = json.loads(render())
    operations = [op for item in spec["paths"].values() for op in item.values()]

    assert all(len(op["tags"]) == 1 for op in operations)
    assert all(
        op["operationId"] == f"{op['tags'][0]}-{op['operationId'].split('-', 1)[1]}"
        for op in operations
    )
