"""Each role's daily work with `fieldlink` commands only, against a real hub over HTTP.

One hub serves the module (tests/contract/live_hub.py). Four agencies' made-up records are
encoded in two halves each; project Carousel (four agencies) starts with seven uploads and
one run, project Pilot (politie and kmar) starts empty for the data officer's own batches.
Principals enrol with one-time codes and a second person confirms the team, as in the demo.
"""

import csv
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.contract.live_hub import Answer, LiveHub, enrol, fieldlink, free_port, live_hub

AGENCIES = ("gemeente", "politie", "fiu", "kmar")
README = Path(__file__).resolve().parents[2] / "README.md"
# A fenced block the README marks `<!-- doctest: WHO -->` runs as written, with WHO's token.
_MARKED = re.compile(r"<!-- doctest: (\w+)[^>]*-->\n```sh\n(.*?)```", re.DOTALL)
KEEP_BACK = 5  # records left out of politie's second half in its replacement


@dataclass(frozen=True)
class World:
    hub: LiveHub
    batches: Path  # {agency}-1.arrow, -2.arrow; -1b and -2b: the halves less KEEP_BACK records

    def batch(self, name: str) -> str:
        return str(self.batches / f"{name}.arrow")


def ok(answer: Answer) -> Answer:
    assert answer.status == 0, answer.out + answer.err
    return answer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("fieldlab")
    batches = folder / "batches"
    key_check = _encode_agencies(batches)
    with live_hub(folder / "hub") as hub:
        _register(hub, key_check)
        for agency in AGENCIES:
            halves = [f"{agency}-1", f"{agency}-2"] if agency != "kmar" else ["kmar-1"]
            paths = [str(batches / f"{half}.arrow") for half in halves]
            ok(hub.as_(agency, "upload", *paths, "--project", "Carousel"))
        ok(hub.as_("analyst", "run", "--project", "Carousel"))
        yield World(hub=hub, batches=batches)


def _encode_agencies(folder: Path) -> str:
    ok(fieldlink("synth", "--out", str(folder), "--persons", "150", "--seed", "7"))
    secret = str(folder / "project.key")
    ok(fieldlink("keys", "new", "--project", "carousel", "--out", secret))
    for agency in AGENCIES:
        header, *rows = (folder / f"{agency}.csv").read_text(encoding="utf-8").splitlines()
        middle = len(rows) // 2
        parts = {
            "1": rows[:middle],
            "1b": rows[: middle - KEEP_BACK],
            "2": rows[middle:],
            "2b": rows[middle:-KEEP_BACK],
        }
        for part, lines in parts.items():
            (folder / f"{agency}-{part}.csv").write_text("\n".join([header, *lines]) + "\n")
            ok(_encode(folder, f"{agency}-{part}", agency, secret))
    return ok(fieldlink("keys", "check", secret)).out.split()[-1]


def _encode(folder: Path, name: str, agency: str, secret: str) -> Answer:
    source, target = str(folder / f"{name}.csv"), str(folder / f"{name}.arrow")
    return fieldlink(
        *("encode", source, "--secret", secret, "--agency", agency, "--id-column", "record_id"),
        *("--out", target, "--workers", "1", "--quiet"),
    )


def _register(hub: LiveHub, key_check: str) -> None:
    for agency in AGENCIES:
        ok(hub.as_("admin", "admin", "add-agency", agency))
    project = ["admin", "add-project", "--key-check", key_check, "--purpose", "p"]
    every = [word for agency in AGENCIES for word in ("--agency", agency)]
    ok(hub.as_("admin", *project, "--legal-basis", "b", "--name", "Carousel", *every))
    pilot = ["--agency", "politie", "--agency", "kmar"]
    ok(hub.as_("admin", *project, "--legal-basis", "b", "--name", "Pilot", *pilot))
    for agency in AGENCIES:
        enrol(hub, agency, f"{agency} data officer", "data_officer", agency)
    enrol(hub, "politie", "Field Lab analyst", "analyst", "analyst", "Carousel")
    enrol(hub, "politie", "Carousel auditor", "auditor", "auditor", "Carousel")
    for name in ("Field Lab analyst", "Carousel auditor"):  # dual control: a second person
        confirm = ["team", "confirm", "--project", "Carousel", "--principal", name]
        ok(hub.as_("kmar", *confirm))


def ids_in(listing: str) -> list[str]:
    """The short ids a list command printed, one per line (the summary line has none)."""
    return [line.split()[0] for line in listing.splitlines()[:-1]]


# data officer ----------------------------------------------------------------------------


def test_a_data_officer_lists_replaces_and_deletes_own_uploads(world: World) -> None:
    hub, pilot = world.hub, ["--project", "Pilot"]
    ok(hub.as_("politie", "upload", world.batch("politie-1"), world.batch("politie-2"), *pilot))

    listed = ok(hub.as_("politie", "uploads", "list", *pilot)).out
    first, second = ids_in(listed)
    replaced = ok(
        hub.as_("politie", "uploads", "replace", second, world.batch("politie-2b"), *pilot)
    )
    deleted = ok(hub.as_("politie", "uploads", "delete", first, *pilot))

    assert "2 uploads in project Pilot" in listed
    assert f"upload {second}" in replaced.out and "replaced by" in replaced.out
    assert f"deleted upload {first}" in deleted.out
    left = ok(hub.as_("politie", "uploads", "list", *pilot)).out
    assert ids_in(left) == [second] and "1 uploads in project Pilot" in left
    counts = [int(line.split()[2]) for line in listed.splitlines()[:-1]]
    assert f"{counts[1] - KEEP_BACK} records" in left  # the replacement's count, same id
    # Another agency's officer sees none of them and cannot touch them.
    assert "0 uploads" in ok(hub.as_("kmar", "uploads", "list", *pilot)).out
    refused = hub.as_("kmar", "uploads", "delete", second, *pilot)
    assert refused.status == 1 and f"no upload {second} in project Pilot" in refused.err


# analyst --------------------------------------------------------------------------------


def test_an_analyst_follows_lists_and_compares_three_runs(world: World) -> None:
    hub, carousel = world.hub, ["--project", "Carousel"]
    before = len(ids_in(ok(hub.as_("analyst", "runs", "list", *carousel)).out))
    ok(hub.as_("kmar", "upload", world.batch("kmar-2"), *carousel))
    started = ok(hub.as_("analyst", "run", "--no-wait", *carousel)).out
    second = started.split()[1]

    followed = ok(hub.as_("analyst", "runs", "follow", second[:8], *carousel)).out
    grown = ok(hub.as_("analyst", "runs", "compare", "previous", "latest", "--list", *carousel))

    assert f"following run {second}" in followed and f"run {second} succeeded" in followed
    assert f"-> run {second}" in grown.out
    counts = dict(pair.split() for pair in grown.out.splitlines()[1].split(", "))
    assert int(counts["new"]) + int(counts["grown"]) > 0  # kmar's second half adds records
    assert "kmar" in grown.out
    fiu = ids_in(ok(hub.as_("fiu", "uploads", "list", *carousel)).out)
    ok(hub.as_("fiu", "uploads", "delete", fiu[-1], *carousel))
    third = ok(hub.as_("analyst", "run", *carousel)).out
    shrunk = ok(hub.as_("analyst", "runs", "compare", "previous", "latest", *carousel)).out
    assert "succeeded" in third
    gone = dict(pair.split() for pair in shrunk.splitlines()[1].split(", "))["gone"]
    assert int(gone) > 0  # fiu's second half is no longer matched
    runs = ok(hub.as_("analyst", "runs", "list", *carousel)).out
    assert f"{before + 2} runs of project Carousel" in runs
    assert runs.count("succeeded") == before + 2
    assert ids_in(runs)[1] == second[:8]  # newest first


def test_an_analyst_filters_hits_and_every_answer_names_its_run(
    world: World, tmp_path: Path
) -> None:
    hub, carousel = world.hub, ["--project", "Carousel"]
    latest = ids_in(ok(hub.as_("analyst", "runs", "list", *carousel)).out)[0]

    summary = ok(hub.as_("analyst", "hits", *carousel)).out
    listed = ok(
        hub.as_("analyst", "hits", "--list", "--agency", "KMAR", "--min-agencies", "3", *carousel)
    )
    agreed = listed.out.split("agreed: ")[1].splitlines()[0].split(", ")[0]
    narrow = ok(hub.as_("analyst", "hits", "--agreed", agreed, "--min-score", "0.5", *carousel))
    nothing = hub.as_("analyst", "hits", "--agency", "kmar", "--min-score", "1.5", *carousel)

    assert summary.startswith(f"run {latest}") and "hits: " in summary
    lines = listed.out.splitlines()[:-1]
    assert lines and all("kmar" in line and line.count(",") >= 2 for line in lines)
    assert f"run {latest}" in listed.out and "hits match" in listed.out
    assert f"run {latest}" in narrow.out and "hits match" in narrow.out
    assert nothing.status == 1 and f"no hit of run {latest}" in nothing.err
    target = tmp_path / "kmar.csv"
    written = hub.as_(
        "analyst", "hits", "--agency", "kmar", "--out", str(target), "--format", "csv", *carousel
    )
    assert f"of run {latest}" in ok(written).out
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert rows and all("kmar" in row["agencies"] for row in rows)
    older = ok(hub.as_("analyst", "hits", "--run", "previous", *carousel)).out
    assert not older.startswith(f"run {latest}") and older.startswith("run ")


def test_an_analyst_keeps_the_suspect_list(world: World) -> None:
    hub, carousel = world.hub, ["--project", "Carousel"]
    latest = ids_in(ok(hub.as_("analyst", "runs", "list", *carousel)).out)[0]

    added = ok(hub.as_("analyst", "suspects", "add", "--hit", "3", *carousel)).out
    again = hub.as_("analyst", "suspects", "add", "--hit", "3", *carousel)
    listed = ok(hub.as_("analyst", "suspects", "list", *carousel)).out
    suspect = next(line for line in listed.splitlines() if f"run {latest} hit 3 " in line)
    short = suspect.split()[0]
    status = ok(hub.as_("analyst", "suspects", "status", short, "under_review", *carousel)).out
    note = ok(hub.as_("analyst", "suspects", "note", short, "seen in two cities", *carousel)).out
    removed = ok(hub.as_("analyst", "suspects", "remove", short, *carousel)).out

    assert added.startswith(f"shortlisted 1 hits of run {latest}")
    assert again.status == 1 and "on the list already" in again.err
    assert "under_review" in status and "seen in two cities" in note
    assert "removed from the suspect list of Carousel" in removed
    after = ok(hub.as_("analyst", "suspects", "list", *carousel)).out
    assert short not in after
    missing = hub.as_("analyst", "suspects", "remove", short, *carousel)
    assert missing.status == 1 and f"no suspect {short}" in missing.err
    unnamed = hub.as_("analyst", "suspects", "add", *carousel)
    assert unnamed.status == 2 and "--hit" in unnamed.err


def test_ctrl_c_stops_following_and_the_run_goes_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, carousel = world.hub, ["--project", "Carousel"]
    ok(hub.as_("analyst", "run", "--no-wait", *carousel))  # the one worker is busy with it
    queued = ok(hub.as_("analyst", "run", "--no-wait", *carousel)).out.split()[1]

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("linkage.client.time.sleep", interrupt)
        stopped = hub.as_("analyst", "runs", "follow", queued, *carousel)
    finished = ok(hub.as_("analyst", "runs", "follow", queued, *carousel))

    assert stopped.status == 130
    assert f"stopped following run {queued}" in stopped.err
    assert f"fieldlink runs follow {queued[:8]} --project Carousel" in stopped.err
    assert f"run {queued} succeeded" in finished.out


# auditor --------------------------------------------------------------------------------


def test_an_auditor_filters_the_log_and_reads_names(world: World, tmp_path: Path) -> None:
    hub = world.hub
    ok(hub.as_("analyst", "suspects", "add", "--hit", "2", "--project", "Carousel"))
    latest = ids_in(ok(hub.as_("analyst", "runs", "list", "--project", "Carousel")).out)[0]
    denied = hub.as_("auditor", "run", "--project", "Carousel")

    table = ok(hub.as_("auditor", "audit", "log", "--action", "suspects-create_suspect", "--table"))
    mine = ok(
        hub.as_(
            "auditor", "audit", "log", "--principal", "field lab analyst", "--project", "Carousel"
        )
    )
    refusals = ok(hub.as_("auditor", "audit", "log", "--outcome", "403", "--agency", "politie"))

    assert denied.status == 1 and "403" in denied.err
    row = table.out.splitlines()[-1]
    assert "Field Lab analyst" in row and "politie" in row and f"run {latest} hit 2" in row
    entries = [json.loads(line) for line in mine.out.splitlines()]
    assert entries and {(e["principal"], e["project"]) for e in entries} == {
        ("Field Lab analyst", "Carousel")
    }
    denials = [json.loads(line) for line in refusals.out.splitlines()]
    assert ("Carousel auditor", "runs-start_run") in {
        (e["principal"], e["action"]) for e in denials
    }
    future = hub.as_("auditor", "audit", "log", "--since", "2999-01-01")
    assert future.status == 1 and "no audit entry matches" in future.err
    past = hub.as_("auditor", "audit", "log", "--until", "2000-01-01", "--table")
    assert past.status == 1


def test_an_auditor_checks_the_chain_with_the_pinned_key(world: World, tmp_path: Path) -> None:
    hub = world.hub
    keys = ok(hub.as_("", "audit", "keys")).out  # public: no token needed
    active = next(line.split()[1] for line in keys.splitlines() if "(active)" in line)
    export = tmp_path / "audit.json"

    at_hub = ok(hub.as_("auditor", "audit", "verify")).out
    ok(hub.as_("auditor", "audit", "export", "--out", str(export)))
    offline = ok(fieldlink("audit", "verify", str(export), "--public-key", active)).out

    assert at_hub.startswith("the hub verified its chain: ok:")
    assert offline.startswith("ok: ")


def test_auditors_may_read_the_directories_analysts_may_not(world: World) -> None:
    hub = world.hub

    principals = ok(hub.as_("auditor", "admin", "principals", "--agency", "politie")).out
    refused = hub.as_("analyst", "admin", "principals")

    assert "Field Lab analyst" in principals and "politie data officer" in principals
    assert refused.status == 1 and "403" in refused.err


# administrator --------------------------------------------------------------------------


def test_an_administrator_lists_agencies_principals_projects_and_members(world: World) -> None:
    hub = world.hub

    agencies = ok(hub.as_("admin", "admin", "agencies")).out
    officers = ok(hub.as_("admin", "admin", "principals", "--role", "data_officer")).out
    projects = ok(hub.as_("admin", "admin", "projects")).out
    members = ok(hub.as_("admin", "admin", "members", "--project", "Carousel")).out

    assert all(agency in agencies for agency in AGENCIES) and "5 agencies" in agencies
    assert "4 principals" in officers and "kmar data officer" in officers
    assert "Carousel" in projects and "Pilot" in projects and "2 projects" in projects
    assert "Field Lab analyst" in members and "Carousel auditor" in members
    assert "2 members of project Carousel" in members


def test_names_ignore_case_and_exports_open_in_dutch_excel(world: World, tmp_path: Path) -> None:
    hub, carousel = world.hub, ["--project", "carousel"]  # created as "Carousel"
    hits, suspects = tmp_path / "hits.csv", tmp_path / "suspects.csv"

    twin = hub.as_("admin", "admin", "add-agency", "Gemeente")
    ok(hub.as_("analyst", "hits", "--out", str(hits), "--excel", *carousel))
    ok(hub.as_("analyst", "suspects", "export", "--out", str(suspects), "--excel", *carousel))

    assert twin.status == 1 and "agency 'gemeente' is registered already" in twin.err
    assert "5 agencies" in ok(hub.as_("admin", "admin", "agencies")).out
    for path in (hits, suspects):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    lines = hits.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "hit;agencies;agency;reference;best_score;agreed_fields"
    scores = [row["best_score"] for row in csv.DictReader(lines, delimiter=";")]
    assert scores and all("," in score and "." not in score for score in scores)
    assert suspects.read_text(encoding="utf-8-sig").startswith("suspect;status;note;")


# every command ----------------------------------------------------------------------------


def test_errors_name_the_hub_tried_and_exit_codes_say_what_happened(world: World) -> None:
    hub, carousel = world.hub, ["--project", "Carousel"]
    closed = f"http://127.0.0.1:{free_port()}"

    unreachable = hub.as_("analyst", "runs", "list", *carousel, "--hub", closed)
    unknown = hub.as_("analyst", "runs", "follow", "deadbeef", *carousel)
    too_short = hub.as_("analyst", "runs", "follow", "de", *carousel)
    no_key = hub.as_("analyst", "hits", "--open", *carousel)

    assert unreachable.status == 1 and f"cannot reach the hub at {closed}" in unreachable.err
    assert unknown.status == 1 and "no run deadbeef in project Carousel" in unknown.err
    assert too_short.status == 2 and no_key.status == 2


# the README -------------------------------------------------------------------------------


def readme_blocks() -> list[tuple[str, list[list[str]]]]:
    """The README's marked blocks: who runs them, and their commands as argument lists."""
    blocks = []
    for who, body in _MARKED.findall(README.read_text(encoding="utf-8")):
        lines = body.replace("\\\n", " ").splitlines()
        blocks.append((who, [words for line in lines if (words := shlex.split(line, True))]))
    return blocks


def test_the_readme_role_commands_run_as_written(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = world.hub
    monkeypatch.chdir(tmp_path)
    shutil.copy(world.batch("politie-1"), tmp_path / "politie.arrow")  # uploaded already
    shutil.copy(world.batch("politie-1b"), tmp_path / "politie-fixed.arrow")
    assert hub.as_("analyst", "admin", "agencies").status == 1  # a refusal for the auditor
    keys = ok(hub.as_("auditor", "audit", "keys")).out
    pinned = next(line.split()[1] for line in keys.splitlines() if "(active)" in line)
    blocks = readme_blocks()

    assert {who for who, _ in blocks} >= {"admin", "politie", "analyst", "auditor"}
    for who, commands in blocks:
        for words in commands:
            assert words[0] == "fieldlink", f"not a fieldlink command: {words}"
            answer = hub.as_(who, *(pinned if word == "HEX" else word for word in words[1:]))
            assert answer.status == 0, f"{shlex.join(words)}: {answer.err}"
