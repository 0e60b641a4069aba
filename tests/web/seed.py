"""A real hub with a realistic Field Lab project, for the browser tests and the screenshots.

`seeded_hub(folder)` serves a hub on a free port (tests/contract/live_hub.py: uvicorn in a
thread, a SQLite file, one run worker) and fills it the way people would, with `fieldlink`
commands: four agencies' made-up records (the synthetic generator), encoded with
comparison encodings (so runs are scored field by field and store learned weights), two
projects (Carousel: four agencies; Pilot: politie and kmar), principals enrolled with
one-time codes and confirmed by a second person, uploads, two runs of Carousel (the
second after kmar added a batch, so the runs differ), and two suspects with notes.

Principals (`Seeded.token(who)` reads their token): admin, analyst, auditor, custodian,
the four agencies' data officers by agency name, and `spare_analyst` (a second analyst on
Carousel, for tests that disable or revoke).
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.contract.live_hub import Answer, LiveHub, enrol, fieldlink, live_hub

AGENCIES = ("gemeente", "politie", "fiu", "kmar")
PERSONS = 120


@dataclass(frozen=True)
class Seeded:
    hub: LiveHub
    batches: Path

    @property
    def url(self) -> str:
        return self.hub.url

    def token(self, who: str) -> str:
        """The bearer token of a seeded principal (read from its token file)."""
        return self.hub.token(who).read_text(encoding="utf-8").strip()

    def as_(self, who: str, *argv: str) -> Answer:
        """Run a `fieldlink` command as `who`; fail loudly when it fails."""
        return ok(self.hub.as_(who, *argv))


def ok(answer: Answer) -> Answer:
    assert answer.status == 0, answer.out + answer.err
    return answer


@contextmanager
def seeded_hub(folder: Path) -> Iterator[Seeded]:
    """Serve a seeded hub from `folder` until the block ends."""
    batches = folder / "batches"
    key_check = _encode_agencies(batches)
    with live_hub(folder / "hub") as hub:
        world = Seeded(hub=hub, batches=batches)
        _register(world, key_check)
        _work(world)
        yield world


def _encode_agencies(folder: Path) -> str:
    ok(fieldlink("synth", "--out", str(folder), "--persons", str(PERSONS), "--seed", "11"))
    secret = str(folder / "project.key")
    ok(fieldlink("keys", "new", "--project", "carousel", "--out", secret))
    for agency in AGENCIES:
        header, *rows = (folder / f"{agency}.csv").read_text(encoding="utf-8").splitlines()
        middle = len(rows) * 3 // 4
        parts = {"1": rows[:middle], "2": rows[middle:]}
        for part, lines in parts.items():
            (folder / f"{agency}-{part}.csv").write_text("\n".join([header, *lines]) + "\n")
            source, target = folder / f"{agency}-{part}.csv", folder / f"{agency}-{part}.arrow"
            ok(
                fieldlink(
                    *("encode", str(source), "--secret", secret, "--agency", agency),
                    *("--id-column", "record_id", "--out", str(target)),
                    *("--workers", "1", "--quiet"),
                )
            )
    return ok(fieldlink("keys", "check", secret)).out.split()[-1]


def _register(world: Seeded, key_check: str) -> None:
    hub = world.hub
    for agency in AGENCIES:
        world.as_("admin", "admin", "add-agency", agency)
    project = ["admin", "add-project", "--key-check", key_check]
    every = [word for agency in AGENCIES for word in ("--agency", agency)]
    world.as_(
        "admin",
        *project,
        *("--name", "Carousel", "--purpose", "Find persons moved between cities"),
        *("--legal-basis", "Art. 20 Wpg; Field Lab covenant", *every),
    )
    world.as_(
        "admin",
        *project,
        *("--name", "Pilot", "--purpose", "A trial of two agencies"),
        *("--legal-basis", "Art. 20 Wpg", "--agency", "politie", "--agency", "kmar"),
    )
    for agency in AGENCIES:
        enrol(hub, agency, f"{agency} data officer", "data_officer", agency)
    enrol(hub, "politie", "Field Lab analyst", "analyst", "analyst", "Carousel")
    enrol(hub, "politie", "Second analyst", "analyst", "spare_analyst", "Carousel")
    enrol(hub, "politie", "Carousel auditor", "auditor", "auditor", "Carousel")
    enrol(hub, "politie", "Key custodian", "key_custodian", "custodian")
    for name in ("Field Lab analyst", "Second analyst", "Carousel auditor"):
        world.as_("kmar", "team", "confirm", "--project", "Carousel", "--principal", name)


def _work(world: Seeded) -> None:
    carousel = ("--project", "Carousel")
    for agency in AGENCIES:
        world.as_(agency, "upload", str(world.batches / f"{agency}-1.arrow"), *carousel)
    world.as_("analyst", "run", *carousel)
    world.as_("kmar", "upload", str(world.batches / "kmar-2.arrow"), *carousel)
    world.as_("politie", "upload", str(world.batches / "politie-2.arrow"), *carousel)
    world.as_("analyst", "run", *carousel)
    world.as_("analyst", "suspects", "add", "--hit", "1", "--note", "Seen in two cities", *carousel)
    world.as_("analyst", "suspects", "add", "--hit", "2", *carousel)
    world.as_("politie", "upload", str(world.batches / "politie-1.arrow"), "--project", "Pilot")


def remove(folder: Path) -> None:
    """Delete a seeded hub's folder (batches, database, tokens)."""
    shutil.rmtree(folder, ignore_errors=True)
