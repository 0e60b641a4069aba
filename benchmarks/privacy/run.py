"""Privacy benchmark: every attack on every encoding configuration, next to linkage F1.

    python -m benchmarks.privacy.run [--records 3000] [--seeds 0 1 2]
        [--coverage 0.2 0.5 1.0] [--configs classic balance ...] [--out benchmarks/out/privacy]
    python -m benchmarks.privacy.run --group-size 600 [--coverage 0.5 1.0] [--families ...]

Small mode (`--records 1000 --seeds 0`) runs in a few minutes on two cores.

For each configuration and seed: a population of 3 x records persons
(`population.make_population`), a victim file of `records` of them encoded with a random
secret, and for each coverage c an attacker register (c of the victim's persons plus as
many others again). Attacks, one report row each:

* comparison: the hub's attack on the comparison encodings, no key (`comparison_attack`);
* keyholder: an agency with the secret (`keyholder`), the harness's sanity check;
* gma_unseeded, gma_seeded, gma_seeded_true10: graph matching (`graph_matching`) on the
  victim's filters and the register encoded with the attacker's own random secret and the
  same public schema, compared per salt family (`families` of the layout). Seeds: none;
  the comparison attack's claims; 10 true pairs drawn from the truth (the literature's
  "about ten correct pairs", the strongest seeded case). Seeded rows also report the
  share re-identified beyond the given seeds; for true10 that share is the headline.
* probing: run when `benchmarks.privacy.probing` exists.

Linkage quality per configuration is the pair F1 of the project's own path (synthetic
agencies, `encode_csv`, `match_batches`, `evaluate`), as `benchmarks.quality_bench`, with
no missing dates of birth and with at least 5 % missing per agency (salting by the date
loses those pairs; the plot uses 5 %). Writes `OUT/privacy.json` and
`OUT/privacy_utility.svg` (x: F1, y: re-identification % at c = 0.5, one marker per
configuration and attack).

`--group-size N` instead attacks one salt group of N records per family, as large as the
largest groups of a national file (`salt_group`), and writes `OUT/salt_group_N.json`.
"""

import argparse
import dataclasses
import importlib
import inspect
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.privacy import comparison_attack, keyholder
from benchmarks.privacy.population import (
    encode,
    encoded_file,
    families,
    make_population,
    name_statistics,
    register,
    truth_indices,
)
from keys import LinkageSecret
from linkage.schema import LinkageSchema, load_schema

POPULATION_FACTOR = 3  # persons in the population per victim record
PLOT_COVERAGE = 0.5


def _hardened(schema: LinkageSchema, **changes: Any) -> LinkageSchema:
    return schema.model_copy(update={"hardening": schema.hardening.model_copy(update=changes)})


def _salt_families(schema: LinkageSchema, families: Sequence[Mapping[str, Any]]) -> LinkageSchema:
    """The schema with these salt families (and no record-level salt field: they exclude)."""
    document = schema.model_dump(mode="json")
    document["hardening"] |= {"salt_field": None, "salt_families": list(families)}
    return LinkageSchema.model_validate(document)


def configurations() -> dict[str, Callable[[], LinkageSchema]]:
    """Name -> schema: the classic schema, each hardening alone, and the default."""
    return {
        "classic": lambda: load_schema("person-classic"),
        "balance": lambda: _hardened(load_schema("person-classic"), balance=True),
        "flips0.05": lambda: _hardened(load_schema("person-classic"), flip_probability=0.05),
        "xor_fold": lambda: _hardened(load_schema("person-classic"), xor_fold=True),
        "salt_dob": lambda: _hardened(load_schema("person-classic"), salt_field="date_of_birth"),
        "salt_year": lambda: _salt_families(
            load_schema("person-classic"), [{"name": "year", "parts": ["date_of_birth:year"]}]
        ),
        "default": lambda: load_schema(),
    }


# --------------------------------------------------------------------------- optional attacks


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(f"benchmarks.privacy.{module}")
    except ImportError:
        return None


def _call(function: Callable[..., Any], available: Mapping[str, Any]) -> Any:
    # Probing's signature is not fixed yet: pass what it asks for by name.
    wanted = inspect.signature(function).parameters
    return function(**{name: value for name, value in available.items() if name in wanted})


GMA_TRUE_SEEDS = 10  # the study's "about ten correct pairs": the strongest seeded case


def gma_variants(
    victim_filters: np.ndarray,
    register_filters: np.ndarray,
    truth: np.ndarray,
    claims: Mapping[int, int],
    *,
    families: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The graph matching attack unseeded, seeded by the comparison attack, and by 10 true pairs.

    Each result is one attack row. Seeded rows report `reidentified` (seeds included) and
    `reidentified_beyond_seeds`; for `gma_seeded_true10` the headline `reidentified` is the
    share beyond the given seeds (the 10 true pairs are the attacker's input, not a result).
    """
    module = _optional("graph_matching")
    if module is None:
        return []
    variants: list[tuple[str, dict[int, int] | None]] = [
        ("gma_unseeded", None),
        ("gma_seeded", dict(claims)),
        ("gma_seeded_true10", module.random_seeds(truth, GMA_TRUE_SEEDS, seed)),
    ]
    rows = []
    for name, seeds in variants:
        if seeds is not None and not seeds:  # no claims to seed with: nothing to grow
            result = {"reidentified": 0.0, "reidentified_beyond_seeds": 0.0, "seeds_given": 0.0}
        else:
            start = time.perf_counter()
            result = dict(
                module.attack(victim_filters, register_filters, truth, seeds, families=families)
            )
            result.setdefault("seconds", time.perf_counter() - start)
        if name == "gma_seeded_true10":
            result["reidentified_with_seeds"] = result["reidentified"]
            result["reidentified"] = result["reidentified_beyond_seeds"]
        if seeds is None:
            result.pop("reidentified_beyond_seeds", None)
        rows.append({"attack": name, **result})
    return rows


def attacker_encoded(schema: LinkageSchema, held: Sequence[Any], seed: int) -> Any:
    """The register encoded with the attacker's own random key and the public schema."""
    own = LinkageSecret(project="attacker", value=np.random.default_rng([seed, 7]).bytes(32))
    return encode(held, schema, own)


def attacker_filters(schema: LinkageSchema, held: Sequence[Any], seed: int) -> np.ndarray:
    """The register's record-level filters under the attacker's own key."""
    return np.asarray(attacker_encoded(schema, held, seed).filters)


def probing(available: Mapping[str, Any]) -> dict[str, Any] | None:
    """The probing attack, when its module exists."""
    module = _optional("probing")
    if module is None:
        return None
    start = time.perf_counter()
    result = dict(_call(module.run, available))
    result.setdefault("seconds", time.perf_counter() - start)
    result["attack"] = "probing"
    return result


# --------------------------------------------------------------------------- one run


def run_seed(
    name: str, schema: LinkageSchema, records: int, seed: int, coverages: Sequence[float]
) -> list[dict[str, Any]]:
    """Every attack on one configuration and seed, for each coverage."""
    population = make_population(POPULATION_FACTOR * records, seed)
    victim = encoded_file(population, records, seed=seed)
    secret = LinkageSecret(project="bench", value=np.random.default_rng([seed, 1]).bytes(32))
    encoded = encode(victim, schema, secret)
    rows = []
    for coverage in coverages:
        held = register(population, victim, coverage, extra=1.0, seed=seed)
        results = [
            comparison_attack.attack(encoded.comparisons, encoded.layout, schema, victim, held),
            keyholder.attack(
                encoded.filters, encoded.comparisons, schema, secret, victim, held, population
            ),
        ]
        truth = truth_indices(victim, held)
        claims = results[0].get("claims_by_record", {})
        results += gma_variants(
            encoded.filters,
            attacker_filters(schema, held, seed),
            truth,
            claims,
            families=families(encoded.layout),
            seed=seed,
        )
        available = {
            "schema": schema,
            "secret": secret,
            "population": population,
            "victim": victim,
            "register": held,
            "coverage": coverage,
            "seed": seed,
        }
        results += [r for r in (probing(available),) if r is not None]
        for result in results:
            result.pop("claims_by_record", None)
            rows.append({"config": name, "seed": seed, "coverage": coverage, **result})
    return rows


def pair_f1(schema: LinkageSchema, persons: int, seed: int, missing_dob: float = 0.0) -> float:
    """Pair F1 of the project's matching on synthetic agencies, with this schema.

    `missing_dob`: the least share of each agency's records without a date of birth (a
    salt on the date loses every pair that misses it on one side).
    """
    from benchmarks.agencies import encode_agencies
    from linkage.evaluate import evaluate
    from linkage.match.engine import MatchSettings, match_batches
    from linkage.synth import generate

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        generate(data, persons=persons, seed=seed, missing_dob=missing_dob)
        batches, refmaps = encode_agencies(data, schema)
        hits, _ = match_batches(batches, MatchSettings())
        quality = dataclasses.asdict(evaluate(hits, data / "truth.csv", refmaps))
    return float(quality["pair_f1"])


# --------------------------------------------------------------------------- report


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean, min and max re-identification over seeds per (config, attack, coverage).

    `beyond_*`: for seeded graph matching, re-identification beyond the given seeds.
    """
    groups: dict[tuple[str, str, float], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["config"], row["attack"], row["coverage"]), []).append(row)
    out = []
    for (config, attack, coverage), members in groups.items():
        reid = _spread([100 * float(m.get("reidentified", 0.0)) for m in members])
        beyond = [
            100 * float(m["reidentified_beyond_seeds"])
            for m in members
            if "reidentified_beyond_seeds" in m
        ]
        given = [100 * float(m["given_decoded"]) for m in members if "given_decoded" in m]
        entry: dict[str, Any] = {"config": config, "attack": attack, "coverage": coverage}
        entry |= {f"reid_{key}": value for key, value in reid.items()}
        if beyond:
            entry |= {f"beyond_{key}": value for key, value in _spread(beyond).items()}
        entry["given_mean"] = statistics.fmean(given) if given else None
        entry["seconds"] = statistics.fmean(float(m.get("seconds", 0.0)) for m in members)
        out.append(entry)
    return out


def table(summary: Sequence[Mapping[str, Any]], f1: Mapping[str, Mapping[float, float]]) -> str:
    """The summary as a fixed-width text table (F1 at 0 % and 5 % missing dates of birth)."""
    lines = [
        f"{'config':<14} {'F1':>6} {'F1 5%':>6} {'attack':<18} {'c':>4} {'re-id %':>8}"
        f" {'(min-max)':>14} {'beyond %':>15} {'given %':>8} {'s':>6}"
    ]
    for row in summary:
        scores = f1.get(row["config"], {})
        given = "" if row["given_mean"] is None else f"{row['given_mean']:.1f}"
        spread = f"({row['reid_min']:.1f}-{row['reid_max']:.1f})"
        beyond = (
            f"{row['beyond_mean']:.1f} ({row['beyond_min']:.1f}-{row['beyond_max']:.1f})"
            if "beyond_mean" in row
            else ""
        )
        lines.append(
            f"{row['config']:<14} {scores.get(0.0, float('nan')):>6.3f} "
            f"{scores.get(0.05, float('nan')):>6.3f} {row['attack']:<18} {row['coverage']:>4} "
            f"{row['reid_mean']:>8.1f} {spread:>14} {beyond:>15} {given:>8} {row['seconds']:>6.1f}"
        )
    return "\n".join(lines)


_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_MARKS = {
    "comparison": "circle",
    "keyholder": "square",
    "gma_unseeded": "diamond",
    "gma_seeded": "diamond",
    "gma_seeded_true10": "diamond",
}
MISSING_DOB = (0.0, 0.05)  # F1 is measured at both; the plot uses the last


def svg_plot(summary: Sequence[Mapping[str, Any]], f1: Mapping[str, float]) -> str:
    """Privacy-utility plot: x pair F1, y re-identification % at c = 0.5 (hand-written SVG)."""
    points = [r for r in summary if r["coverage"] == PLOT_COVERAGE and r["config"] in f1]
    width, height, pad = 640, 440, 60
    low = min([f1[p["config"]] for p in points] + [0.8])

    def x(value: float) -> float:
        return pad + (value - low) / max(1.0 - low, 1e-9) * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - value / 100 * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">pair F1</text>',
        f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" '
        f'text-anchor="middle">re-identified % (c = {PLOT_COVERAGE})</text>',
    ]
    for tick in range(0, 101, 20):
        parts.append(f'<text x="{pad - 8}" y="{y(tick) + 4}" text-anchor="end">{tick}</text>')
    for step in range(5):
        value = low + step * (1.0 - low) / 4
        parts.append(
            f'<text x="{x(value)}" y="{height - pad + 16}" text-anchor="middle">{value:.3f}</text>'
        )
    configs = sorted({p["config"] for p in points})
    for point in points:
        colour = _COLOURS[configs.index(point["config"]) % len(_COLOURS)]
        cx, cy = x(f1[point["config"]]), y(point["reid_mean"])
        parts.append(_marker(_MARKS.get(point["attack"], "triangle"), cx, cy, colour))
        parts.append(
            f'<text x="{cx + 7}" y="{cy - 5}" fill="{colour}">'
            f"{point['config']}/{point['attack']}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _marker(shape: str, cx: float, cy: float, colour: str) -> str:
    if shape == "circle":
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{colour}"/>'
    if shape == "diamond":
        return (
            f'<polygon points="{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy:.1f} {cx:.1f},{cy + 6:.1f} '
            f'{cx - 6:.1f},{cy:.1f}" fill="{colour}"/>'
        )
    return (
        f'<polygon points="{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy + 5:.1f} '
        f'{cx - 6:.1f},{cy + 5:.1f}" fill="{colour}"/>'
    )


def write_report(
    args: argparse.Namespace,
    population_stats: Mapping[str, float],
    f1: Mapping[str, Mapping[float, float]],
    rows: Sequence[Mapping[str, Any]],
    started: float,
) -> None:
    """Write OUT/privacy.json and the plot (F1 at the last missing-date share)."""
    summary = summarize(rows)
    plotted = {name: scores[MISSING_DOB[-1]] for name, scores in f1.items()}
    report = {
        "records": args.records,
        "seeds": args.seeds,
        "coverage": args.coverage,
        "population_names": population_stats,
        "pair_f1": plotted,
        "pair_f1_by_missing_dob": {
            name: {str(m): v for m, v in s.items()} for name, s in f1.items()
        },
        "summary": summary,
        "runs": rows,
        "seconds": time.perf_counter() - started,
        "cpus": os.cpu_count(),
    }
    (args.out / "privacy.json").write_text(json.dumps(report, indent=2, default=str))
    (args.out / "privacy_utility.svg").write_text(svg_plot(summary, plotted))


def group_mode(args: argparse.Namespace, known: Mapping[str, Callable[[], LinkageSchema]]) -> int:
    """`--group-size N`: every attack inside the largest group of each salt family."""
    from benchmarks.privacy import salt_group

    started = time.perf_counter()
    name = "default" if "default" in args.configs else args.configs[0]
    schema = known[name]()
    if not schema.hardening.salt_families:
        raise SystemExit(f"{name} has no salt families")
    rows: list[dict[str, Any]] = []
    names = args.families or [family.name for family in schema.hardening.salt_families]
    for family in names:  # a table per family, so that a cut run still reports
        rows += salt_group.run_groups(schema, args.group_size, args.seeds, args.coverage, [family])
        print(table(summarize([r for r in rows if r["config"] == family]), {}), flush=True)
    summary = summarize(rows)
    for entry in summary:
        members = [r for r in rows if r["config"] == entry["config"]]
        entry["victim_in_group"] = statistics.fmean(r["victim_in_group"] for r in members)
    print(f"group mode: {name}, {args.group_size} victims per group")
    print(table(summary, {}))
    in_group = {e["config"]: round(e["victim_in_group"], 3) for e in summary}
    print("share of victim records in the target group:", json.dumps(in_group))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "config": name,
        "group_size": args.group_size,
        "seeds": args.seeds,
        "coverage": args.coverage,
        "summary": summary,
        "runs": rows,
        "seconds": time.perf_counter() - started,
        "cpus": os.cpu_count(),
    }
    path = args.out / f"salt_group_{args.group_size}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {path} in {report['seconds']:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table, write JSON and the SVG plot."""
    known = configurations()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--coverage", type=float, nargs="+", default=[0.2, 0.5, 1.0])
    parser.add_argument("--configs", nargs="+", choices=sorted(known), default=list(known))
    parser.add_argument("--quality-persons", type=int, default=0, help="0: as --records")
    parser.add_argument("--no-quality", action="store_true", help="skip the pair F1 runs")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/privacy"))
    parser.add_argument(
        "--group-size", type=int, default=0, help="N > 0: attack one salt group of N (salt_group)"
    )
    parser.add_argument("--families", nargs="*", help="group mode: these families only")
    args = parser.parse_args(argv)
    if args.group_size:
        return group_mode(args, known)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    f1: dict[str, dict[float, float]] = {}
    population_stats = name_statistics(make_population(POPULATION_FACTOR * args.records, 0))
    print("population names:", json.dumps({k: round(v, 3) for k, v in population_stats.items()}))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.configs:
        schema = known[name]()
        if not args.no_quality:
            persons = args.quality_persons or args.records
            f1[name] = {m: pair_f1(schema, persons, args.seeds[0], m) for m in MISSING_DOB}
            print(f"{name}: F1 {f1[name]} at {time.perf_counter() - started:.0f} s", flush=True)
        for seed in args.seeds:
            rows += run_seed(name, schema, args.records, seed, args.coverage)
            print(f"{name} seed {seed}: done at {time.perf_counter() - started:.0f} s", flush=True)
        print(table(summarize([r for r in rows if r["config"] == name]), f1), flush=True)
        write_report(args, population_stats, f1, rows, started)  # partial results survive
    print(table(summarize(rows), f1))
    write_report(args, population_stats, f1, rows, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
