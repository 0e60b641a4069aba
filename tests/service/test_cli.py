"""`fieldlink hub ...`, through the real `fieldlink` entry point and its plugin group."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from linkage.cli import main, parser
from service.hub_keys import load_hub_keys


def hub_args(tmp_path: Path) -> list[str]:
    return ["--database-url", f"sqlite:///{tmp_path / 'hub.db'}", "--data-dir", str(tmp_path)]


def test_the_hub_group_is_added_through_the_entry_point() -> None:
    help_text = parser().format_help()

    assert "hub" in help_text


def test_init_creates_database_keys_and_one_admin_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "admin.token"

    status = main(["hub", "init", *hub_args(tmp_path), "--token-file", str(token_file)])

    assert status == 0
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert len(token_file.read_text().strip()) >= 43
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    assert {"projects", "uploads", "audit_entries"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    keys = load_hub_keys(tmp_path, create=False)
    out = capsys.readouterr().out
    assert keys.public_keys()[keys.signing.active_id] in out
    assert token_file.read_text().strip() not in out


def test_a_second_init_makes_no_second_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["hub", "init", *hub_args(tmp_path), "--token-file", str(tmp_path / "admin.token")])

    status = main(["hub", "init", *hub_args(tmp_path)])

    assert status == 0
    assert "exists already" in capsys.readouterr().out


def test_serve_refuses_an_uninitialised_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["hub", "serve", *hub_args(tmp_path)])

    assert status == 1
    assert "fieldlink hub init" in capsys.readouterr().err


def test_rotate_key_needs_an_initialised_hub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["hub", "rotate-key", "signing", *hub_args(tmp_path)])

    assert status == 1
    assert "fieldlink hub init" in capsys.readouterr().err


def test_rotate_key_refuses_a_key_that_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDLINK_STORAGE_KEY", "44" * 32)
    main(["hub", "init", *hub_args(tmp_path), "--token-file", str(tmp_path / "admin.token")])

    status = main(["hub", "rotate-key", "storage", *hub_args(tmp_path)])

    err = capsys.readouterr().err
    assert status == 1
    assert "FIELDLINK_STORAGE_KEY" in err
    assert "44" * 32 not in err


def test_rotate_signing_key_keeps_the_old_public_key(tmp_path: Path) -> None:
    main(["hub", "init", *hub_args(tmp_path), "--token-file", str(tmp_path / "admin.token")])
    before = load_hub_keys(tmp_path, create=False)

    assert main(["hub", "rotate-key", "signing", *hub_args(tmp_path)]) == 0

    after = load_hub_keys(tmp_path, create=False)
    assert after.signing.active_id != before.signing.active_id
    assert set(before.public_keys()) < set(after.public_keys())


def test_rotate_storage_key_reseals_the_stored_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["hub", "init", *hub_args(tmp_path), "--token-file", str(tmp_path / "admin.token")])

    assert main(["hub", "rotate-key", "storage", *hub_args(tmp_path)]) == 0

    assert "re-encrypted 0 stored batches" in capsys.readouterr().out
    assert len(load_hub_keys(tmp_path, create=False).storage.keys) == 2
