"""clkhash baseline: the encoder fieldlink is measured against.

The schema mirrors clkhash's FEBRL tutorial schema (``docs/_static/febrl_schema_v3_final.json``
in the clkhash repository): 1024-bit filters, HKDF-SHA256 with the tutorial's salt and info,
64-byte keys, 200 bits for each name (double hashing) and for the date of birth, 100 for the
other fields. Unlike the tutorial, every field is a bigram string feature (the tutorial hashes
the numeric fields as positional unigrams) and ``soc_sec_id`` is hashed (the tutorial ignores
it); pass ``include_soc_sec_id=False`` for the tutorial's field set.

One core: ``generate_clks(..., max_workers=1)`` hashes in the calling process (clkhash 0.17
and 0.18 both skip their process pool for ``max_workers=1``). clkhash itself has no command
line since 0.16; its successor is ``anonlink encode`` from ``anonlink-client`` (which needs
clkhash 0.18 and has no worker option). :func:`clkhash_cli_seconds` runs that command when it
is found, else this module's ``__main__``, which does what ``anonlink encode`` does with
``max_workers=1``. Either way the child process is pinned to one CPU with
``sched_setaffinity``; above 10,000 records clkhash 0.18 still starts ``cpu_count()`` worker
processes, which then share that CPU.

Versions: clkhash 0.18 pins ``cryptography<41`` (and ``bitarray<3``), which fieldlink's
``cryptography>=42`` rules out, so 0.18 (the fast one: it memoises per-token hashes and
per-field encodings) runs from a separate virtual environment; in fieldlink's own environment
pip settles on clkhash 0.17, which has no caches. Both give bit-identical filters.
"""

import base64
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import clkhash
import clkhash.bloomfilter
from clkhash.clk import generate_clk_from_csv, generate_clks
from clkhash.schema import Schema, from_json_dict

FILTER_BITS = 1024
_KDF = {
    "type": "HKDF",
    "hash": "SHA256",
    "info": "c2NoZW1hX2V4YW1wbGU=",
    "salt": (
        "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA=="
    ),
    "keySize": 64,
}
# (field, bitsPerFeature, hash type) in FEBRL column order, after rec_id.
_FEATURES: tuple[tuple[str, int, str], ...] = (
    ("given_name", 200, "doubleHash"),
    ("surname", 200, "doubleHash"),
    ("street_number", 100, "blakeHash"),
    ("address_1", 100, "blakeHash"),
    ("address_2", 100, "blakeHash"),
    ("suburb", 100, "blakeHash"),
    ("postcode", 100, "blakeHash"),
    ("state", 100, "blakeHash"),
    ("date_of_birth", 200, "blakeHash"),
    ("soc_sec_id", 100, "blakeHash"),
)
Records = Sequence[Sequence[str]]


def _bigram_feature(name: str, bits: int, hash_type: str) -> dict[str, Any]:
    return {
        "identifier": name,
        "format": {"type": "string", "encoding": "utf-8"},
        "hashing": {
            "comparison": {"type": "ngram", "n": 2},
            "strategy": {"bitsPerFeature": bits},
            "hash": {"type": hash_type},
        },
    }


def clkhash_schema_for_febrl(include_soc_sec_id: bool = True) -> dict[str, Any]:
    """A clkhash v3 linkage schema for rows of ``rec_id`` plus the ten FEBRL columns."""
    features: list[dict[str, Any]] = [{"identifier": "rec_id", "ignored": True}]
    for name, bits, hash_type in _FEATURES:
        if name == "soc_sec_id" and not include_soc_sec_id:
            features.append({"identifier": name, "ignored": True})
        else:
            features.append(_bigram_feature(name, bits, hash_type))
    return {"version": 3, "clkConfig": {"l": FILTER_BITS, "kdf": dict(_KDF)}, "features": features}


def write_clkhash_schema(path: Path, include_soc_sec_id: bool = True) -> Path:
    """Write :func:`clkhash_schema_for_febrl` as JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = clkhash_schema_for_febrl(include_soc_sec_id)
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return path


def _as_schema(schema: dict[str, Any] | Schema) -> Schema:
    return schema if isinstance(schema, Schema) else from_json_dict(schema)


def clkhash_encode(records: Records, schema: dict[str, Any] | Schema, secret: str) -> list[bytes]:
    """Encode full CSV rows (``rec_id`` first) with clkhash on one core; filters as bytes."""
    clks = generate_clks(records, _as_schema(schema), secret, max_workers=1)
    return [clk.tobytes() for clk in clks]


def _clear_clkhash_caches() -> None:
    """Empty clkhash's per-token and per-field LRU caches (clkhash >= 0.18; none in 0.17)."""
    for obj in vars(clkhash.bloomfilter).values():
        cache_clear = getattr(obj, "cache_clear", None)
        if callable(cache_clear):
            cache_clear()


def clkhash_encode_rate(
    records: Records, schema: dict[str, Any] | Schema, secret: str, repeats: int = 3
) -> float:
    """Records per second of ``generate_clks`` on one core, best of ``repeats``.

    Times what clkhash's own ``benchmark.compute_hash_speed`` times less CSV reading: key
    derivation, entry validation and hashing. The schema is parsed once, outside the timing.
    clkhash's LRU caches are emptied before each repeat, so every repeat starts cold (as a
    fresh process would) instead of replaying the previous repeat's cached filters.
    """
    parsed = _as_schema(schema)
    best = float("inf")
    for _ in range(repeats):
        _clear_clkhash_caches()
        start = time.perf_counter()
        generate_clks(records, parsed, secret, max_workers=1)
        best = min(best, time.perf_counter() - start)
    return len(records) / best


def find_anonlink_cli() -> Path | None:
    """The ``anonlink`` command: ``$ANONLINK_CLI``, else beside this Python, else on PATH."""
    env = os.environ.get("ANONLINK_CLI")
    if env:
        return Path(env)
    beside = Path(sys.executable).parent / "anonlink"
    if beside.exists():
        return beside
    found = shutil.which("anonlink")
    return Path(found) if found else None


def _pin_to_one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _cli_argv(cli: Path | None) -> list[str]:
    if cli is not None:
        return [str(cli), "encode"]
    return [sys.executable, "-m", "benchmarks.clkhash_baseline"]


def clkhash_cli_seconds(
    csv_path: Path, schema_path: Path, out_path: Path, secret: str, cli: Path | None = None
) -> float:
    """Wall seconds of one command-line run writing ``{"clks": [...]}`` JSON, pinned to one CPU.

    Runs ``cli encode`` (an ``anonlink`` command) if given or found by
    :func:`find_anonlink_cli`, else ``python -m benchmarks.clkhash_baseline``. The time
    includes interpreter start-up, imports, CSV parsing and JSON output.
    """
    argv = _cli_argv(cli or find_anonlink_cli())
    argv += [str(csv_path), secret, str(schema_path), str(out_path)]
    repo_root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=repo_root, preexec_fn=_pin_to_one_cpu)
    return time.perf_counter() - start


def main(argv: Sequence[str]) -> None:
    """Two commands, run with the reference environment's Python.

    ``rate CSV SECRET SCHEMA``: prints ``{"records_per_second": ...}`` of the encoding step.
    ``PII_CSV SECRET SCHEMA CLK_JSON``: what ``anonlink encode`` does, on one core.
    """
    if argv[0] == "rate":
        csv_path, secret, schema_path = argv[1:]
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        rate = clkhash_encode_rate(rows, schema, secret, repeats=3)
        print(json.dumps({"records_per_second": rate, "clkhash": clkhash.__version__}))
        return
    csv_path, secret, schema_path, out_path = argv
    with open(schema_path, encoding="utf-8") as f:
        parsed = from_json_dict(json.load(f))
    with open(csv_path, newline="", encoding="utf-8") as f:
        clks = generate_clk_from_csv(f, secret, parsed, progress_bar=False, max_workers=1)
    encoded = [base64.b64encode(clk.tobytes()).decode("ascii") for clk in clks]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"clks": encoded}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
