"""Each role's work from start to end, with `fieldlink` commands only, against a real hub.

One story, played once for the module (`journey`): the administrator registers four
agencies, project Carousel and its people; each data officer encodes its records in two
halves and uploads them; the analyst runs the matching, runs it again after three
agencies sent their second halves, and turns on the standing watch, so that the last
agency's second upload queues the third run by itself; the team works the suspect list.
Every command's answer is kept, and the tests below check, role by role, what each said:
the runs newest first, the newest succeeded run used (and named) by default, an older one
by name, what changed between runs (counted by the hub and by `runs compare` alike), hits
per agency, the suspect list, the audit log's filters and the administrator's lists.

The README's role sections show these commands; `tests/contract/test_cli_roles.py` runs
its marked blocks as written.
"""

import argparse
import json
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from linkage.cli import main
from linkage.cli import parser as cli_parser
from tests.contract import live_hub as live_hub_module
from tests.contract.live_hub import Answer, LiveHub, enrol, fieldlink, live_hub

AGENCIES = ("gemeente", "politie", "fiu", "kmar")
CAROUSEL = ("--project", "Carousel")
ANALYST, AUDITOR = "Field Lab analyst", "Carousel auditor"
_SINCE = re.compile(
    r"since run (\w{8}): (\d+) new hits, (\d+) grown, (\d+) changed, (\d+) gone, (\d+) unchanged"
)
_COUNTS = re.compile(r"new (\d+), gone (\d+), grown (\d+), changed (\d+), unchanged (\d+)")


@dataclass
class Journey:
    hub: LiveHub
    folder: Path
    said: dict[str, Answer] = field(default_factory=dict)  # step -> the command's answer
    runs: list[str] = field(default_factory=list)  # run ids, oldest first
    uploads: dict[str, str] = field(default_factory=dict)  # "kmar-2" -> upload id

    def do(self, step: str, who: str, *argv: str, env: dict[str, str] | None = None) -> Answer:
        """Run one command of the story as `who` (""): no token); it must succeed."""
        token = {"FIELDLINK_TOKEN_FILE": str(self.hub.token(who))} if who else {}
        answer = fieldlink(*argv, env={"FIELDLINK_HUB_URL": self.hub.url, **token, **(env or {})})
        assert answer.status == 0, f"{step}: {answer.out}{answer.err}"
        self.said[step] = answer
        return answer

    def at(self, agency: str, name: str) -> str:
        """A file on the agency's own machine (its folder)."""
        return str(self.folder / agency / name)


def ok(answer: Answer) -> Answer:
    assert answer.status == 0, answer.out + answer.err
    return answer


def ids_in(listing: str) -> list[str]:
    """The short ids a list command printed, one per line (the summary line has none)."""
    return [line.split()[0] for line in listing.splitlines()[:-1]]


def since(answer: Answer) -> tuple[str, dict[str, int]]:
    """The run a "since run ..." line compares with, and its counts."""
    found = _SINCE.search(answer.out)
    assert found is not None, answer.out
    names = ("new", "grown", "changed", "gone", "unchanged")
    return found.group(1), dict(zip(names, map(int, found.groups()[1:]), strict=True))


def compared(answer: Answer) -> dict[str, int]:
    """The counts `runs compare` printed."""
    found = _COUNTS.search(answer.out)
    assert found is not None, answer.out
    names = ("new", "gone", "grown", "changed", "unchanged")
    return dict(zip(names, map(int, found.groups()), strict=True))


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    folder = tmp_path_factory.mktemp("journey")
    ok(fieldlink("synth", "--out", str(folder), "--persons", "120", "--seed", "13"))
    with pytest.MonkeyPatch.context() as patch, live_hub(folder / "hub") as hub:
        # Every command line the story runs is recorded: the README test asks for them.
        patch.setattr(live_hub_module, "main", _recording(main))
        story = Journey(hub=hub, folder=folder)
        _administrator_registers(story)
        _keys_go_round(story)
        _officers_encode(story)
        _first_halves_and_run(story)
        _second_halves_and_runs(story)
        _the_team_works_the_list(story)
        _officers_read_their_hits(story)
        _auditor_reads_the_log(story)
        yield story


RUN: list[list[str]] = []  # every command line the module ran


def _recording(main: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    def recorded(argv: list[str]) -> int:
        RUN.append(list(argv))
        return main(argv)

    return recorded


def _administrator_registers(story: Journey) -> None:
    # The key custodian makes the project secret; the administrator registers its check value.
    custodian = story.folder / "custodian"
    custodian.mkdir()
    story.do(
        "keys new",
        "",
        "keys",
        "new",
        "--project",
        "carousel",
        "--out",
        str(custodian / "project.key"),
    )
    key_check = story.do("custodian check", "", "keys", "check", str(custodian / "project.key"))
    for agency in AGENCIES:
        story.do(f"add-agency {agency}", "admin", "admin", "add-agency", agency)
    every = [word for agency in AGENCIES for word in ("--agency", agency)]
    project = ["admin", "add-project", "--name", "Carousel", *every]
    project += ["--key-check", key_check.out.split()[-1], "--purpose", "p", "--legal-basis", "b"]
    story.do("add-project", "admin", *project)
    for agency in AGENCIES:
        enrol(story.hub, agency, f"{agency} data officer", "data_officer", agency)
    enrol(story.hub, "politie", ANALYST, "analyst", "analyst", "Carousel")
    enrol(story.hub, "fiu", AUDITOR, "auditor", "auditor", "Carousel")
    enrol(story.hub, "gemeente", "Key custodian", "key_custodian", "custodian")
    for name in (ANALYST, AUDITOR):  # dual control: a data officer confirms the team
        story.do(f"confirm {name}", "kmar", "team", "confirm", *CAROUSEL, "--principal", name)
    story.do("admin agencies", "admin", "admin", "agencies")
    story.do("admin officers", "admin", "admin", "principals", "--role", "data_officer")
    story.do("admin projects", "admin", "admin", "projects")
    story.do("admin members", "admin", "admin", "members", *CAROUSEL)


def _keys_go_round(story: Journey) -> None:
    # Key pairs; the custodian wraps the secret for every agency; each fetches its own copy.
    for agency in AGENCIES:
        (story.folder / agency).mkdir()
        key, env = story.at(agency, f"{agency}.key"), _passphrase(agency)
        pair = ["keys", "generate-pair", "--owner", agency, "--kind", "agency", "--out", key]
        story.do(f"pair {agency}", "", *pair, "--passphrase-env", PASSPHRASE, env=env)
        story.do(
            f"register {agency}", agency, "keys", "register", story.at(agency, f"{agency}.pub.json")
        )
    team = str(story.folder / "team.key")
    story.do(
        "team pair",
        "",
        "keys",
        "generate-pair",
        "--owner",
        "carousel-team",
        "--kind",
        "team",
        "--out",
        team,
    )
    story.do(
        "team register",
        "analyst",
        "keys",
        "register",
        str(story.folder / "team.pub.json"),
        *CAROUSEL,
    )
    secret = str(story.folder / "custodian" / "project.key")
    story.do("distribute", "custodian", "keys", "distribute", "--secret", secret, *CAROUSEL)
    for agency in AGENCIES:
        fetch = ["keys", "fetch", *CAROUSEL, "--out", story.at(agency, f"{agency}.wrapped.json")]
        fetch += ["--key", story.at(agency, f"{agency}.key"), "--passphrase-env", PASSPHRASE]
        fetch += ["--secret-out", story.at(agency, "project.key")]
        story.do(f"fetch {agency}", agency, *fetch, env=_passphrase(agency))
        story.do(f"check {agency}", "", "keys", "check", story.at(agency, "project.key"))
        story.do(
            f"team key {agency}",
            agency,
            "keys",
            "team-key",
            *CAROUSEL,
            "--out",
            story.at(agency, "team.pub.json"),
        )


PASSPHRASE = "AGENCY_PASSPHRASE"


def _passphrase(agency: str) -> dict[str, str]:
    return {PASSPHRASE: f"{agency} passphrase, never shown"}


def _officers_encode(story: Journey) -> None:
    # Each data officer's own machine: the records in two halves. The police file names its
    # id column `dossier` and its first names `roepnaam`, mapped on the command line.
    for agency in AGENCIES:
        header, *rows = (story.folder / f"{agency}.csv").read_text(encoding="utf-8").splitlines()
        if agency == "politie":
            header = header.replace("record_id", "dossier").replace("given_names", "roepnaam")
        middle = len(rows) // 2
        for half, lines in (("1", rows[:middle]), ("2", rows[middle:])):
            Path(story.at(agency, f"{agency}-{half}.csv")).write_text(
                "\n".join([header, *lines]) + "\n", encoding="utf-8"
            )
    police = ["--id-column", "dossier", "--map", "roepnaam=given_names"]
    sample = story.at("politie", "politie-1.csv")
    story.do("preview", "", "encode", sample, "--agency", "politie", *police, "--preview", "3")
    for agency in AGENCIES:
        columns = police if agency == "politie" else ["--id-column", "record_id"]
        sealed = f"given_names,surnames,date_of_birth,{columns[1]}"
        for half in ("1", "2"):
            encode = ["encode", story.at(agency, f"{agency}-{half}.csv"), "--agency", agency]
            encode += ["--secret", story.at(agency, "project.key"), *columns, "--quiet"]
            encode += ["--out", story.at(agency, f"{agency}-{half}.arrow"), "--workers", "1"]
            encode += ["--envelope-fields", sealed, "--team-key", story.at(agency, "team.pub.json")]
            story.do(f"encode {agency}-{half}", "", *encode)
    story.do("batch show", "", "batch", "show", story.at("politie", "politie-1.arrow"))
    story.do("batch risk", "", "batch", "risk", story.at("politie", "politie-1.arrow"))


def _upload(story: Journey, agency: str, half: str) -> Answer:
    batch = story.at(agency, f"{agency}-{half}.arrow")
    answer = story.do(f"upload {agency}-{half}", agency, "upload", batch, *CAROUSEL)
    story.uploads[f"{agency}-{half}"] = answer.out.split("upload ")[1].split(":")[0]
    return answer


def _first_halves_and_run(story: Journey) -> None:
    for agency in AGENCIES:
        _upload(story, agency, "1")
    story.do("uploads list first", "politie", "uploads", "list", *CAROUSEL)
    first = story.do("run 1", "analyst", "run", *CAROUSEL)
    story.runs.append(first.out.split()[1])


def _second_halves_and_runs(story: Journey) -> None:
    for agency in AGENCIES[:3]:
        _upload(story, agency, "2")
    queued = story.do("run 2", "analyst", "run", "--no-wait", *CAROUSEL)
    story.runs.append(queued.out.split()[1])
    story.do("follow run 2", "analyst", "runs", "follow", story.runs[1][:8], *CAROUSEL)
    story.do("watch on", "analyst", "project", "watch", "on", *CAROUSEL)
    watched = _upload(story, "kmar", "2")  # the standing watch queues the third run
    story.runs.append(watched.out.split("standing watch: run ")[1].split()[0])
    story.do("follow run 3", "analyst", "runs", "follow", story.runs[2][:8], *CAROUSEL)
    story.do("watch off", "analyst", "project", "watch", "off", *CAROUSEL)
    story.do("watch shown", "analyst", "project", "watch", *CAROUSEL)


def _the_team_works_the_list(story: Journey) -> None:
    first = story.runs[0][:8]
    opened = str(story.folder / "opened.csv")
    analyst = {
        "runs list": ("runs", "list"),
        "runs latest": ("runs", "latest"),
        "runs latest changes": ("runs", "latest", "--changes"),
        "compare previous latest": ("runs", "compare", "previous", "latest", "--list"),
        "compare named": ("runs", "compare", first, "latest"),
        "hits": ("hits",),
        "hits previous": ("hits", "--run", "previous"),
        "hits named": ("hits", "--run", first),
        **{f"hits of {agency}": ("hits", "--agency", agency) for agency in AGENCIES},
        "hits kmar list": ("hits", "--list", "--agency", "kmar", "--min-agencies", "2"),
        "hits open": (
            "hits",
            "--open",
            "--team-key",
            str(story.folder / "team.key"),
            "--hit",
            "1",
            "--out",
            opened,
        ),
        "suspects add": ("suspects", "add", "--hit", "1", "--note", "seen by two agencies"),
        "suspects list": ("suspects", "list"),
        "suspects status": ("suspects", "status", "--hit", "1", "confirmed"),
        "suspects note": ("suspects", "note", "--hit", "1", "same phone in two cities"),
        "suspects export": ("suspects", "export", "--out", str(story.folder / "suspects.csv")),
    }
    for step, argv in analyst.items():
        story.do(step, "analyst", *argv, *CAROUSEL)


def _officers_read_their_hits(story: Journey) -> None:
    for agency in AGENCIES:
        story.do(f"own hits {agency}", agency, "hits", *CAROUSEL)
    story.do("officer runs list", "kmar", "runs", "list", *CAROUSEL)
    story.do("officer runs latest", "kmar", "runs", "latest", *CAROUSEL)
    story.do("uploads list", "politie", "uploads", "list", *CAROUSEL)
    hits = story.at("politie", "politie-hits.json")
    story.do("own hits file", "politie", "hits", *CAROUSEL, "--out", hits)
    refs = story.at("politie", "politie-1.refs.csv")
    mine = story.at("politie", "politie-hits.csv")
    story.do("reveal", "", "reveal", hits, "--refs", refs, "--out", mine)


def _auditor_reads_the_log(story: Journey) -> None:
    denied = story.hub.as_("analyst", "admin", "agencies")  # the directory is not for analysts
    assert denied.status == 1 and "403" in denied.err
    export = str(story.folder / "audit.json")
    auditor = {
        "log watch": ("audit", "log", "--table", "--action", "runs-start_run_on_watch"),
        "log analyst": ("audit", "log", "--principal", ANALYST.lower(), *CAROUSEL),
        "log kmar uploads": (
            "audit",
            "log",
            "--agency",
            "KMar",
            "--action",
            "uploads-upload_batch",
        ),
        "log refusals": ("audit", "log", "--outcome", "403", "--agency", "politie"),
        "log suspects": ("audit", "log", "--table", "--action", "suspects-create_suspect"),
        "log since": ("audit", "log", "--table", "--since", "2000-01-01", *CAROUSEL),
        "verify": ("audit", "verify"),
        "keys": ("audit", "keys"),
        "export": ("audit", "export", "--out", export),
        "directory": ("admin", "principals", "--agency", "kmar"),
        "agencies": ("admin", "agencies"),
    }
    for step, argv in auditor.items():
        story.do(step, "auditor", *argv)
    active = next(
        line.split()[1] for line in story.said["keys"].out.splitlines() if "(active)" in line
    )
    story.do("verify offline", "", "audit", "verify", export, "--public-key", active)


# data officer ----------------------------------------------------------------------------


def test_data_officers_get_the_secret_encode_and_check_what_they_send(journey: Journey) -> None:
    said = journey.said

    custodian = said["custodian check"].out.split()[-1]
    for agency in AGENCIES:
        assert "the hub computed the same id" in said[f"register {agency}"].out
        assert said[f"check {agency}"].out.split()[-1] == custodian
    assert "wrapped for 4 agencies" in said["distribute"].out
    preview = said["preview"].out
    assert "nothing written" in preview and "roepnaam -> given_names" in preview
    assert "line 2:" in preview and "line 4:" in preview and "line 5:" not in preview
    for agency in AGENCIES:
        for half in ("1", "2"):
            assert "(upload this)" in said[f"encode {agency}-{half}"].out
    shown = said["batch show"].out
    assert "given_names, surnames, date_of_birth, dossier" in shown and "politie" in shown
    assert "records" in said["batch risk"].out


def test_data_officers_upload_two_batches_each_and_read_their_own_hits(journey: Journey) -> None:
    said, uploads = journey.said, journey.uploads

    for agency in AGENCIES:
        for half in ("1", "2"):
            answer = said[f"upload {agency}-{half}"].out
            assert f"upload {uploads[f'{agency}-{half}']}: " in answer
            assert f"records for {agency}" in answer
    assert "standing watch" not in said["upload politie-2"].out  # the watch was off then
    first, both = said["uploads list first"].out, said["uploads list"].out
    assert ids_in(first) == [uploads["politie-1"][:8]] and "1 uploads" in first
    assert sorted(ids_in(both)) == sorted(uploads[f"politie-{h}"][:8] for h in ("1", "2"))
    assert "2 uploads in project Carousel" in both and "kmar" not in both
    # Each officer sees the hits holding its own records: as many as the analyst counts.
    latest = journey.runs[2]
    for agency in AGENCIES:
        own = said[f"own hits {agency}"].out
        team = said[f"hits of {agency}"].out
        assert own.startswith(f"run {latest}: ")
        assert int(own.split(": ")[1].split()[0]) == int(team.split(": ")[1].split()[0]) > 0
    assert f"of run {latest}" in said["own hits file"].out
    mine = Path(journey.at("politie", "politie-hits.csv")).read_text(encoding="utf-8")
    header, *rows = mine.splitlines()
    assert header == "hit,local_id,agency,other_agencies,best_score" and rows
    assert all(",politie," in row for row in rows)


def test_a_data_officer_sees_the_watch_run_but_not_what_changed(journey: Journey) -> None:
    said, runs = journey.said, journey.runs

    watched = said["upload kmar-2"].out
    listed = said["officer runs list"].out
    latest = said["officer runs latest"].out

    assert f"standing watch: run {runs[2]} queued" in watched
    assert f"fieldlink runs follow {runs[2][:8]} --project Carousel" in watched
    assert ids_in(listed) == [run[:8] for run in reversed(runs)]
    assert "(watch)" in listed.splitlines()[0] and "upload" not in listed
    assert latest.startswith(runs[2][:8]) and "since run" not in latest
    assert "no changes to show" in latest


# analyst --------------------------------------------------------------------------------


def test_an_analyst_makes_three_runs_the_last_by_the_standing_watch(journey: Journey) -> None:
    said, runs = journey.said, journey.runs

    assert said["run 1"].out.startswith(f"run {runs[0]} started for project Carousel")
    assert f"run {runs[0]} succeeded: " in said["run 1"].out
    assert "since run" not in said["run 1"].out  # nothing before it
    assert f"run {runs[1]} succeeded" in said["follow run 2"].out
    assert since(said["follow run 2"])[0] == runs[0][:8]
    assert said["watch on"].out.startswith("standing watch on for project Carousel")
    assert f"following run {runs[2]}" in said["follow run 3"].out
    assert since(said["follow run 3"])[0] == runs[1][:8]
    assert said["watch off"].out.startswith("standing watch off for project Carousel")
    assert said["watch shown"].out == said["watch off"].out
    listed = said["runs list"].out
    assert ids_in(listed) == [run[:8] for run in reversed(runs)]  # newest first
    assert "3 runs of project Carousel" in listed and listed.count("succeeded") == 3
    newest = listed.splitlines()[0]
    assert f"(watch: upload {journey.uploads['kmar-2'][:8]})" in newest
    assert "watch" not in "".join(listed.splitlines()[1:])


def test_the_latest_run_says_what_is_new_as_runs_compare_counts_it(journey: Journey) -> None:
    said, runs = journey.said, journey.runs

    compared_with, counts = since(said["runs latest"])
    pairwise = compared(said["compare previous latest"])

    assert said["runs latest"].out.startswith(runs[2][:8])
    assert compared_with == runs[1][:8]
    assert counts == pairwise
    assert counts["new"] + counts["grown"] > 0  # kmar's second half brought records
    header = said["compare previous latest"].out.splitlines()[0]
    assert header.startswith(f"run {runs[1]} (") and f"-> run {runs[2]} (" in header
    listed = [line for line in said["compare previous latest"].out.splitlines()[2:] if line]
    assert len(listed) == counts["new"] + counts["grown"] + counts["changed"] + counts["gone"]
    changes = said["runs latest changes"].out.splitlines()[2:]
    assert changes == listed  # `runs latest --changes` lists what `runs compare` lists
    named = said["compare named"].out.splitlines()[0]
    assert named.startswith(f"run {runs[0]} (") and f"-> run {runs[2]} (" in named


def test_hits_commands_use_the_latest_run_unless_another_is_named(journey: Journey) -> None:
    said, runs = journey.said, journey.runs

    assert said["hits"].out.startswith(f"run {runs[2]}: ")
    assert said["hits previous"].out.startswith(f"run {runs[1]}: ")
    assert said["hits named"].out.startswith(f"run {runs[0]}: ")
    kmar = said["hits kmar list"].out.splitlines()
    assert kmar[-1].startswith(f"run {runs[2]}: ") and "hits match" in kmar[-1]
    assert kmar[:-1] and all(line.startswith("hit ") and "kmar" in line for line in kmar[:-1])
    matched = int(said["hits of kmar"].out.split(": ")[1].split()[0])
    assert len(kmar) - 1 == matched


def test_an_analyst_keeps_the_suspect_list(journey: Journey) -> None:
    said, runs = journey.said, journey.runs

    assert said["suspects add"].out.startswith(f"shortlisted 1 hits of run {runs[2]}")
    listed = said["suspects list"].out
    assert f"run {runs[2][:8]} hit 1 " in listed and "1 on the suspect list of Carousel" in listed
    assert "confirmed" in said["suspects status"].out
    assert "same phone in two cities" in said["suspects note"].out
    opened = (journey.folder / "opened.csv").read_text(encoding="utf-8").splitlines()
    assert f"of 1 hits of run {runs[2]}" in said["hits open"].out
    assert opened[1:] and all(row.startswith("1,") for row in opened[1:])
    rows = (journey.folder / "suspects.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("suspect,status,note,run,hit")
    assert all(",confirmed,same phone in two cities," in row for row in rows[1:]) and rows[1:]


# auditor --------------------------------------------------------------------------------


def test_an_auditor_finds_the_automatic_run_and_who_did_what(journey: Journey) -> None:
    said, runs, uploads = journey.said, journey.runs, journey.uploads

    (watch_row,) = said["log watch"].out.splitlines()[1:]
    assert "kmar data officer" in watch_row and "data_officer" in watch_row
    assert f"run {runs[2][:8]} upload {uploads['kmar-2'][:8]}" in watch_row
    assert " 202 " in watch_row
    analyst = [json.loads(line) for line in said["log analyst"].out.splitlines()]
    assert analyst and {(e["principal"], e["project"]) for e in analyst} == {(ANALYST, "Carousel")}
    assert {"runs-start_run", "projects-set_watch"} <= {e["action"] for e in analyst}
    kmar = [json.loads(line) for line in said["log kmar uploads"].out.splitlines()]
    assert [e["about"] for e in kmar] == [None, None] and len(kmar) == 2
    assert {e["agency"] for e in kmar} == {"kmar"} and {e["outcome"] for e in kmar} == {201}
    refused = [json.loads(line) for line in said["log refusals"].out.splitlines()]
    assert (ANALYST, "agencies-list_agencies") in {(e["principal"], e["action"]) for e in refused}
    (shortlisted,) = said["log suspects"].out.splitlines()[1:]
    assert f"run {runs[2][:8]} hit 1" in shortlisted
    assert len(said["log since"].out.splitlines()) > 30


def test_an_auditor_checks_the_chain_and_reads_the_directory(journey: Journey) -> None:
    said = journey.said

    future = journey.hub.as_("auditor", "audit", "log", "--since", "2999-01-01")

    assert said["verify"].out.startswith("the hub verified its chain: ok:")
    assert said["verify offline"].out.startswith("ok: ")
    assert future.status == 1 and "no audit entry matches" in future.err
    assert "kmar data officer" in said["directory"].out
    assert all(agency in said["agencies"].out for agency in AGENCIES)


# administrator --------------------------------------------------------------------------


def test_an_administrator_registers_and_lists_everything(journey: Journey) -> None:
    said = journey.said

    agencies = said["admin agencies"].out
    assert all(agency in agencies for agency in AGENCIES)
    assert "5 agencies" in agencies  # and the administrators' own, "Hub operations"
    officers = said["admin officers"].out
    assert "4 principals" in officers
    assert all(f"{agency} data officer" in officers for agency in AGENCIES)
    projects = said["admin projects"].out
    assert "Carousel" in projects and "1 projects" in projects
    members = said["admin members"].out
    assert ANALYST in members and AUDITOR in members and "pending" not in members
    assert "2 members of project Carousel" in members
    assert said[f"confirm {ANALYST}"].out and said[f"confirm {AUDITOR}"].out


# the README ------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"
# The role sections: each fenced block in them is run, as a doctest (test_cli_roles.py) or
# by this journey, and so is each command they quote inline.
ROLE_SECTIONS = ("## For an agency's data officer", "## For analysts", "## For auditors")
_BLOCK = re.compile(r"(?:<!-- (doctest|journey)\b[^>]*-->\n[ \t]*)?```sh\n(.*?)```", re.DOTALL)
_INLINE = re.compile(r"`(fieldlink [^`]+)`")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    ends = [text.find(mark, start + 1) for mark in ("\n## ", "\n### ")]
    return text[start : min(end for end in ends if end > 0)]


def _commands(body: str) -> list[list[str]]:
    joined = body.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, True))]


@cache
def _parser() -> argparse.ArgumentParser:
    return cli_parser()  # every command, complete


def _shape(words: list[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The command path (`runs compare`) and the options a command line uses."""
    command, path = _parser(), []
    for word in words[1:]:
        choices = next(
            (a.choices for a in command._actions if isinstance(a, argparse._SubParsersAction)),
            {},
        )
        if word not in choices:
            break
        path.append(word)
        command = choices[word]
    return tuple(path), frozenset(word.split("=")[0] for word in words if word[:2] == "--")


def _run_by_the_journey(words: list[str]) -> bool:
    path, options = _shape(words)
    return any(ran == path and options <= used for ran, used in _ran())


@cache
def _ran() -> frozenset[tuple[tuple[str, ...], frozenset[str]]]:
    return frozenset(_shape(["fieldlink", *argv]) for argv in RUN)


def test_every_command_of_the_role_sections_is_run(journey: Journey) -> None:
    text = README.read_text(encoding="utf-8")
    unmarked, not_run = [], []
    for marker, body in _BLOCK.findall(text):
        if marker == "journey":
            not_run += [words for words in _commands(body) if not _run_by_the_journey(words)]
    for heading in ROLE_SECTIONS:
        section = _section(text, heading)
        for marker, body in _BLOCK.findall(section):
            unmarked += [] if marker else [f"{heading}: {body.splitlines()[0]}"]
        for quoted in _INLINE.findall(_BLOCK.sub("", section)):
            words = shlex.split(" ".join(quoted.split()))
            not_run += [] if _run_by_the_journey(words) else [words]

    assert len(RUN) > 100
    assert unmarked == []  # a block no test runs
    assert not_run == []  # a command (or an option of it) the journey never ran
