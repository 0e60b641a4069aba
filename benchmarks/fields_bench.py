"""Field-aware scoring: what it costs and what it gives, against the record-level CLK path.

    python -m benchmarks.fields_bench encode [--persons 20000]
    python -m benchmarks.fields_bench febrl
    python -m benchmarks.fields_bench scale [--records 100000]
    python -m benchmarks.fields_bench endtoend [--records 1000000]
    python -m benchmarks.fields_bench rematch

* ``encode``: the encoding step on normalised values of ``fieldlink synth`` records (person
  schema), one thread, best of 3: CLK alone, comparisons alone; then the whole
  ``encode_csv`` on one worker with the shipped schema and with its comparisons removed.
* ``febrl``: FEBRL4 (5,000 + 5,000 records, 5,000 true links) through ``match_batches``
  with ``benchmarks/febrl_fields_schema.json`` (the FEBRL schema plus comparisons), field
  scoring against the CLK path; pair precision and recall against the truth. The issue-2
  check (record-level CLK, ``benchmarks/febrl_schema.json``) is ``encode_bench``'s and
  does not change: that schema has no comparisons.
* ``scale``: FEBRL4 records repeated with distinct values (``febrl.write_large_csv``),
  split into an A side (``-org``) and a B side (``-dup-``) of ``--records`` each, with one
  true link per record; matching time and peak memory of both scorings, with quality.
* ``endtoend``: the same data through the default path only, step by step as an agency
  pair and the hub would run it: encode each side (2 workers) into its batch file, read
  both files for matching as a run reads an upload (`batch_stream.read_for_matching`, in
  8 MiB chunks: with group filters only the family digests are kept), match (default
  settings: field scoring), write the hits file; wall time per step, peak memory,
  quality, and the blocking's reduction ratio and pair completeness.
* ``rematch``: the read, match and hits steps of ``endtoend`` again, on the sides it
  encoded (``--out`` as there), after a change to the engine; ``--read whole`` reads the
  whole batches instead (`read_batch`, filters and all), as runs did before.

``endtoend`` and ``rematch`` take ``--dask-workers N``: the match then runs on a
``dask.distributed.LocalCluster`` of N single-threaded worker processes
(`linkage.match.distributed`), and each worker's peak memory is printed. With a schema of
salt group filters they also print the pair completeness against the truth: the share
of true links that share a salt group in some family, i.e. that the run scored at all.
Figures include the load average before and after, as the machines are shared.
"""

import argparse
import csv
import os
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.febrl import write_febrl_csvs, write_large_csv, write_large_sides
from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.backend import Backend
from linkage.batch import Batch, DigestedBatch, MatchBatch, read_batch
from linkage.batch_stream import read_file_for_matching
from linkage.bloom import BloomEncoder
from linkage.comparisons import ComparisonEncoder
from linkage.encode import normalize_column
from linkage.hits import Hits, write_hits
from linkage.match.engine import MatchSettings, Runner, match_batches, run_here
from linkage.match.groups import MAX_GROUP
from linkage.match.layout import ComparisonLayout
from linkage.match.pool import batch_digests
from linkage.schema import LinkageSchema, load_schema
from linkage.spill import SpillSettings
from linkage.synth import generate

ROOT = Path(__file__).resolve().parents[1]
FIELDS_SCHEMA = ROOT / "benchmarks" / "febrl_fields_schema.json"
SECRET = LinkageSecret(project="fields-bench", value=bytes(range(32)))


def best_of(work: Callable[[], object], rounds: int = 3) -> float:
    """Fastest wall time of `rounds` runs."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def normalised_columns(folder: Path, schema: LinkageSchema) -> list[list[str | None]]:
    """Every agency's synthetic records, normalised, one column per schema field."""
    columns: list[list[str | None]] = [[] for _ in schema.fields]
    for path in sorted(folder.glob("*.csv")):
        if path.name == "truth.csv":
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            sample = handle.readline()
            handle.seek(0)
            delimiter = ";" if sample.count(";") > sample.count(",") else ","
            rows = list(csv.DictReader(handle, delimiter=delimiter))
        for index, spec in enumerate(schema.fields):
            values, _ = normalize_column(spec, [row.get(spec.name) or "" for row in rows])
            columns[index].extend(values)
    return columns


def encode_figures(persons: int, out: Path) -> dict[str, float]:
    """Encoding-step rates and whole-file encoding times, with and without comparisons."""
    folder = out / "fields_encode"
    generate(folder, persons=persons, seed=1)
    schema = load_schema()
    columns = normalised_columns(folder, schema)
    records = len(columns[0])
    # the compiled step, as the issue measures it; whole files below 100,000 records use numpy
    compiled = Backend.COMPILED
    clk = BloomEncoder(schema, SECRET, backend=compiled)
    comparisons = ComparisonEncoder(schema, SECRET, backend=compiled)
    clk.encode([column[:10] for column in columns], threads=False)  # compile / load
    comparisons.encode([column[:10] for column in columns], threads=False)
    clk_seconds = best_of(lambda: clk.encode(columns, threads=False))
    comparison_seconds = best_of(lambda: comparisons.encode(columns, threads=False))
    bare = LinkageSchema.model_validate(schema.model_dump() | {"comparisons": ()})
    return {
        "records": records,
        "clk_records_per_s": records / clk_seconds,
        "comparisons_records_per_s": records / comparison_seconds,
        "step_cost_share": comparison_seconds / clk_seconds,
        "encode_csv_s_with": best_of(lambda: _encode_all(folder, schema)),
        "encode_csv_s_without": best_of(lambda: _encode_all(folder, bare)),
    }


def _encode_all(folder: Path, schema: LinkageSchema) -> None:
    for path in sorted(folder.glob("*.csv")):
        if path.name != "truth.csv" and not path.name.endswith(".refs.csv"):
            encode_csv(
                path,
                schema=schema,
                secret=SECRET,
                ref_key=ReferenceKey(agency=path.stem, value=bytes(32)),
                out=folder / f"{path.stem}.arrow",
            )


def encode_side(
    path: Path, agency: str, out: Path, schema: Path = FIELDS_SCHEMA
) -> tuple[Batch, dict[str, str]]:
    """Encode one FEBRL side (default: the fields schema); the batch and reference -> rec_id."""
    batch_path, refmap_path = encode_file(path, agency, out, schema)
    return read_batch(batch_path), dict(read_refmap(refmap_path))


def pair_quality(
    hits: Hits, refmaps: dict[str, dict[str, str]], person: Callable[[str], str], true: int
) -> dict[str, float]:
    """Pair precision, recall and F1 of the hits' cross-side pairs.

    A pair is true when `person` gives its two record ids the same value. Counted per
    person in each group, not pair by pair: the large FEBRL sides make groups of
    thousands of records.
    """
    predicted = correct = 0
    for group in hits.groups:
        a_side = Counter(
            person(refmaps["a"][m.reference]) for m in group.members if m.agency == "a"
        )
        b_side = Counter(
            person(refmaps["b"][m.reference]) for m in group.members if m.agency == "b"
        )
        predicted += a_side.total() * b_side.total()
        correct += sum(count * b_side[key] for key, count in a_side.items())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": predicted}


def run_both(batches: list[Batch]) -> dict[str, tuple[Hits, Any, float]]:
    """Match by fields and by CLK; hits, report and seconds of each."""
    out = {}
    for scoring in ("fields", "clk"):
        start = time.perf_counter()
        hits, report = match_batches(batches, MatchSettings(scoring=scoring))
        out[scoring] = (hits, report, time.perf_counter() - start)
    return out


def febrl_figures(out: Path) -> dict[str, Any]:
    """FEBRL4 through both scorings."""
    data = write_febrl_csvs(out / "data")
    a, ref_a = encode_side(data["febrl4_a"], "a", out / "febrl4_a.arrow")
    b, ref_b = encode_side(data["febrl4_b"], "b", out / "febrl4_b.arrow")
    refmaps = {"a": ref_a, "b": ref_b}
    figures = {}
    for scoring, (hits, report, seconds) in run_both([a, b]).items():
        quality = pair_quality(hits, refmaps, _febrl_person, 5000)
        figures[scoring] = quality | {"threshold": report.threshold, "seconds": seconds}
    return figures


def _febrl_person(record: str) -> str:
    # The person a record id stands for: rec-N-org[-cK] in A and rec-N-dup-0[-cK] in B
    # both read rec-N-dup-0[-cK].
    return record.replace("-org", "-dup-0")


def split_large(large: Path, folder: Path) -> tuple[Path, Path]:
    """The large file's -org rows as side A and its -dup- rows as side B.

    Row by row, in one pass: at 10,000,000 records a side the file does not fit in memory
    as Python lists.
    """
    sides = (folder / "scale_a.csv", folder / "scale_b.csv")
    with (
        large.open(newline="", encoding="utf-8") as source,
        sides[0].open("w", newline="", encoding="utf-8") as file_a,
        sides[1].open("w", newline="", encoding="utf-8") as file_b,
    ):
        reader = csv.reader(source)
        side_a, side_b = csv.writer(file_a), csv.writer(file_b)
        header = next(reader)
        side_a.writerow(header)
        side_b.writerow(header)
        for row in reader:
            if "-org" in row[0]:
                side_a.writerow(row)
            if "-dup-" in row[0]:
                side_b.writerow(row)
    return sides


def scale_figures(records: int, out: Path) -> dict[str, Any]:
    """Both scorings on records x records FEBRL-derived records."""
    large = write_large_csv(out / "data" / "scale.csv", 2 * records, distinct_values=True)
    side_a, side_b = split_large(large, out / "data")
    a, ref_a = encode_side(side_a, "a", out / "scale_a.arrow")
    b, ref_b = encode_side(side_b, "b", out / "scale_b.arrow")
    figures: dict[str, Any] = {"records": [len(a), len(b)]}
    for scoring, (hits, report, seconds) in run_both([a, b]).items():
        quality = pair_quality(hits, {"a": ref_a, "b": ref_b}, _febrl_person, min(len(a), len(b)))
        figures[scoring] = quality | {
            "seconds": seconds,
            "threshold": report.threshold,
            "candidate_threshold": report.candidate_threshold,
            "comparisons": report.comparisons,
            "candidates_or_links": report.pairs_at_threshold,
        }
    figures["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return figures


def endtoend_figures(
    records: int,
    out: Path,
    schema: Path = FIELDS_SCHEMA,
    workers: int = 0,
    read: str = "digests",
    recombined: bool = False,
) -> dict[str, Any]:
    """Encode into batch files, read them for matching, match with the defaults and write
    hits, timing each step. `recombined`: the sides' copies are new people made of other
    persons' fields (`febrl._recombined`), not near-twins."""
    side_a, side_b = write_large_sides(out / "data", records, recombined)
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    encode_file(side_a, "a", out / "scale_a.arrow", schema)
    figures["encode_a_s"] = time.perf_counter() - start
    encode_file(side_b, "b", out / "scale_b.arrow", schema)
    figures["encode_b_s"] = time.perf_counter() - start - figures["encode_a_s"]
    figures["encode_rss_gib"] = _peak_gib()
    return figures | rematch_figures(out, workers, read)


def rematch_figures(
    out: Path, workers: int = 0, read: str = "digests", leave_out: Sequence[str] = ()
) -> dict[str, Any]:
    """Read the sides `endtoend` encoded and match them again (after a change to the engine).

    `read`: "digests" as a run reads an upload (`read_for_matching`), "spilled" the same
    with the comparison words on disk, sealed, read back a family at a time
    (`linkage.spill`), "whole" with `read_batch` (every column in memory, filters included).
    `leave_out`: salt families matched as if no record were in them (their digests set to
    0 after reading; digests only), to size a run without them.
    """
    start = time.perf_counter()
    a, b = (_read_side(out / f"scale_{side}.arrow", read) for side in ("a", "b"))
    for side in (a, b):
        _leave_out(side, leave_out)
    figures: dict[str, Any] = {"read_s": time.perf_counter() - start, "read": read}
    if leave_out:
        figures["left_out_families"] = list(leave_out)
    figures["read_rss_gib"] = _peak_gib()
    return figures | match_figures(a, b, out, workers)


def _refmaps(out: Path) -> dict[str, dict[str, str]]:
    """Each side's reference -> rec_id: the truth, which a run never holds (read after it)."""
    return {side: dict(read_refmap(out / f"scale_{side}.refs.csv")) for side in ("a", "b")}


def _leave_out(side: MatchBatch, families: Sequence[str]) -> None:
    if not families:
        return
    if not isinstance(side, DigestedBatch):
        raise SystemExit("--leave-out needs sides read as digests (--read digests or spilled)")
    names = ComparisonLayout.parse(side.comparisons.layout).family_names
    for name in families:
        if name not in names:
            raise SystemExit(f"--leave-out: no salt family {name!r} (families: {names})")
        side.digests[:, names.index(name)] = 0  # 0: not in the family


def _read_side(path: Path, read: str) -> MatchBatch:
    if read == "whole":
        return read_batch(path)
    spill = SpillSettings(over_records=0) if read == "spilled" else None
    return read_file_for_matching(path, spill=spill)


def encode_file(
    path: Path, agency: str, out: Path, schema: Path = FIELDS_SCHEMA
) -> tuple[Path, Path]:
    """Encode one FEBRL side into the batch file `out` (2 workers): the batch file's path
    and its reference map's."""
    summary = encode_csv(
        path,
        schema=load_schema(schema),
        secret=SECRET,
        ref_key=ReferenceKey(agency=agency, value=bytes(32)),
        out=out,
        id_column="rec_id",
        workers=2,
    )
    return summary.batch_path, summary.refmap_path


@contextmanager
def _runner(workers: int, figures: dict[str, Any]) -> Iterator[Runner]:
    """In this process (0), or on a local Dask cluster of `workers` one-thread processes."""
    if not workers:
        yield run_here
        return
    from dask.distributed import Client, LocalCluster

    from linkage.match.distributed import dask_runner

    start = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        figures["cluster_start_s"] = time.perf_counter() - start
        yield dask_runner(client)
        peaks = client.run(_own_peak_gib)
        figures["dask_worker_peak_gib"] = sorted(round(peak, 2) for peak in peaks.values())


def match_figures(a: MatchBatch, b: MatchBatch, out: Path, workers: int = 0) -> dict[str, Any]:
    """Match with the defaults and write hits, timing each step; then quality against the
    truth (the sides' reference maps in `out`, read after the peak memory is taken)."""
    figures: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    stages: dict[str, float] = {}
    sampler = _StagePeaks()
    task_done: list[float] = []  # when each comparing task's result came in (task order)

    def progress(stage: str, _: float) -> None:
        name = stage.split(" (salt family")[0]
        if name not in stages:
            stages[name] = time.perf_counter()
            sampler.stage(name)
        if name == "comparing":
            task_done.append(time.perf_counter())

    with _runner(workers, figures) as runner, sampler:
        if workers:  # workers load numba's cached kernels once, as long-lived ones have
            match_batches([_first(a, 3000), _first(b, 3000)], runner=runner)
        start, cpu = time.perf_counter(), time.process_time()
        hits, report = match_batches([a, b], runner=runner, progress=progress)
        figures["match_s"] = time.perf_counter() - start
        figures["match_cpu_s"] = time.process_time() - cpu
        figures["match_stages"] = _durations(stages, start + figures["match_s"])
        figures["match_rss_gib"] = _peak_gib()
        sampler.stage("write hits")
        start = time.perf_counter()
        write_hits(hits, out / "scale_hits.json")
        figures["write_hits_s"] = time.perf_counter() - start
    figures["stage_peak_rss_gib"] = sampler.peaks
    figures |= _task_figures(task_done, stages)
    figures["match_and_write_s"] = figures["match_s"] + figures["write_hits_s"]
    figures["peak_rss_gib"] = _peak_gib()
    figures["child_processes_peak_gib"] = (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    )
    figures["load_after"] = os.getloadavg()[0]
    refmaps = _refmaps(out)
    quality = pair_quality(hits, refmaps, _febrl_person, min(len(a), len(b)))
    completeness = group_completeness(a, b, refmaps)
    if completeness is not None:
        figures["pair_completeness_vs_truth"] = completeness
    return (
        figures
        | quality
        | {
            "scoring": report.scoring,
            "threshold": report.threshold,
            "candidate_threshold": report.candidate_threshold,
            "comparisons": report.comparisons,
            "all_pairs": report.all_pairs,
            # counting each comparison made; distinct candidates: benchmarks.blocking_check
            "comparisons_avoided": 1 - report.comparisons / report.all_pairs,
            "groups": report.groups,
        }
    )


def _first(batch: MatchBatch, count: int) -> MatchBatch:
    comparisons = batch.comparisons
    if isinstance(batch, DigestedBatch):
        return replace(
            batch,
            references=batch.references[:count],
            digests=batch.digests[:count],
            comparisons=batch.comparisons.head(count),
        )
    return replace(
        batch,
        references=batch.references[:count],
        filters=batch.filters[:count],
        envelopes=None,
        comparisons=None
        if comparisons is None
        else replace(comparisons, values=comparisons.values[:count]),
    )


def group_completeness(
    a: MatchBatch, b: MatchBatch, refmaps: dict[str, dict[str, str]]
) -> float | None:
    """Share of the true links in a salt group together in some family (salt group filters).

    A run scores exactly the cross-agency pairs of equal group filters, in groups of at
    most `MAX_GROUP` records (`linkage.match.groups`), so this is its pair completeness;
    None when the batches have no group filters.
    """
    if a.comparisons is None:
        return None
    layout = ComparisonLayout.parse(a.comparisons.layout)
    if not layout.group_filters:
        return None
    row_of_b = {refmaps["b"][ref]: row for row, ref in enumerate(b.references)}
    pairs = [
        (row, row_of_b.get(refmaps["a"][ref].replace("-org", "-dup-0"), -1))
        for row, ref in enumerate(a.references)
    ]
    left = np.array([x for x, y in pairs if y >= 0], dtype=np.int64)
    right = np.array([y for _, y in pairs if y >= 0], dtype=np.int64)
    digests_a = batch_digests(a, layout.families)
    digests_b = batch_digests(b, layout.families)
    found = np.zeros(len(left), dtype=bool)
    for family in range(layout.families):
        digest_a, digest_b = digests_a[:, family], digests_b[:, family]
        values, counts = np.unique(np.concatenate([digest_a, digest_b]), return_counts=True)
        small = np.isin(digest_a[left], values[counts <= MAX_GROUP])
        found |= (digest_a[left] == digest_b[right]) & (digest_a[left] != 0) & small
    return float(found.mean()) if len(found) else 1.0


def _task_figures(done: list[float], stages: dict[str, float]) -> dict[str, Any]:
    """Comparing tasks (block and random-pair tasks of every family): how many, and the
    seconds between one result and the next (a task's own time on one worker; with several
    workers, the cluster's throughput)."""
    if "comparing" not in stages or not done:
        return {}
    gaps = np.diff(np.array([stages["comparing"], *done]))
    return {
        "tasks": len(done),
        "task_gap_s": {
            "mean": round(float(gaps.mean()), 3),
            "median": round(float(np.median(gaps)), 3),
            "max": round(float(gaps.max()), 3),
        },
    }


def _durations(stages: dict[str, float], end: float) -> dict[str, float]:
    # Seconds from each stage's start to the next one's (stages arrive in order).
    times = [*stages.values(), end]
    return {stage: round(times[i + 1] - times[i], 1) for i, stage in enumerate(stages)}


class _StagePeaks:
    """The process's resident memory sampled every 20 ms: its peak in each named stage."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.current = "before"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def stage(self, name: str) -> None:
        # Printed as it goes, so a run the kernel kills for memory still says where.
        peak = self.peaks.get(self.current, 0.0)
        print(f"stage {self.current!r} ended at peak {peak:.2f} GiB", file=sys.stderr, flush=True)
        self.current = name

    def __enter__(self) -> "_StagePeaks":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm", encoding="ascii") as statm:
            while not self._stop.wait(0.02):
                statm.seek(0)
                resident = int(statm.read().split()[1]) * page / 2**30
                peak = self.peaks.get(self.current, 0.0)
                self.peaks[self.current] = round(max(peak, resident), 2)


def _own_peak_gib() -> float:
    """This process's peak resident memory since it started its program (VmHWM).

    Not ru_maxrss: Linux carries that over exec from the parent, and a cluster's workers
    are started from this process, which holds the batches.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["encode", "febrl", "scale", "endtoend", "rematch"])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument(
        "--schema", type=Path, default=FIELDS_SCHEMA, help="endtoend: the schema to encode with"
    )
    parser.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        help="endtoend, rematch: match on a local Dask cluster of this many workers",
    )
    parser.add_argument(
        "--read",
        choices=["digests", "spilled", "whole"],
        default="digests",
        help="endtoend, rematch: read the batches as a run does (digests; spilled: their "
        "comparison words on disk, sealed) or whole, filters and all",
    )
    parser.add_argument(
        "--leave-out",
        nargs="+",
        default=[],
        metavar="FAMILY",
        help="rematch: match as if these salt families were empty (to size a run without them)",
    )
    parser.add_argument(
        "--recombined",
        action="store_true",
        help="endtoend: copies of FEBRL4 as new people recombined from others' fields "
        "(febrl._recombined), not near-twins with letters added",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "encode":
        figures: dict[str, Any] = encode_figures(args.persons, args.out)
    elif args.what == "febrl":
        figures = febrl_figures(args.out)
    elif args.what == "scale":
        figures = scale_figures(args.records, args.out)
    elif args.what == "endtoend":
        figures = endtoend_figures(
            args.records, args.out, args.schema, args.dask_workers, args.read, args.recombined
        )
        figures["end_to_end_s"] = (
            figures["encode_a_s"]
            + figures["encode_b_s"]
            + figures["read_s"]
            + figures["match_and_write_s"]
        )
    else:
        figures = rematch_figures(args.out, args.dask_workers, args.read, args.leave_out)
    for key, value in figures.items():
        print(f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
