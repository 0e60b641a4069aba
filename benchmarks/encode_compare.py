"""`encode_csv` on one worker in two source trees, alternating, and whether the batches agree.

    python -m benchmarks.encode_compare BEFORE_TREE CSV SCHEMA [--id-column C] [--rounds N]

What: encodes one CSV file with each tree's `linkage` (BEFORE_TREE, e.g. an export of
HEAD made with `git archive`, and this checkout) in fresh processes, one after the other
and `--rounds` times, printing each run's wall and CPU seconds and the load average; then
compares the two batches (references, filters, comparison encodings, envelopes). Why: on
a machine shared with other work, before and after must be measured side by side in one
run, and an optimisation of the encoder must not change a single output byte.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from linkage.batch import read_batch

_CHILD = r"""
import resource, sys, time
from pathlib import Path
from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv
from linkage.schema import load_schema
data, schema, out, id_column = sys.argv[1:5]
secret = LinkageSecret(project="encode-compare", value=bytes(range(32)))
wall, cpu = time.perf_counter(), time.process_time()
encode_csv(Path(data), schema=load_schema(schema), secret=secret,
           ref_key=ReferenceKey(agency="a", value=bytes(32)), out=Path(out),
           id_column=id_column or None, workers=1)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - wall, time.process_time() - cpu + children.ru_utime + children.ru_stime)
"""


def _run(tree: Path, csv: Path, schema: str, out: Path, id_column: str) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(csv), schema, str(out), id_column],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = done.stdout.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description="encode_csv in two trees, timed, batches compared")
    parser.add_argument("before", type=Path)
    parser.add_argument("csv", type=Path)
    parser.add_argument("schema", help="a shipped schema's name or a schema file")
    parser.add_argument("--id-column", default="")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/encode_compare"))
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    schema = str(Path(args.schema).resolve()) if Path(args.schema).is_file() else args.schema
    trees = {"before": args.before.resolve(), "after": Path.cwd()}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            load = os.getloadavg()[0]
            wall, cpu = _run(
                tree, args.csv.resolve(), schema, out / f"{name}.arrow", args.id_column
            )
            print(f"{name}: wall {wall:.2f} s, CPU {cpu:.2f} s (load {load:.1f})", flush=True)
    a, b = (read_batch(out / f"{name}.arrow") for name in trees)
    same = (
        a.references == b.references
        and np.array_equal(a.filters, b.filters)
        and a.envelopes == b.envelopes
        and (a.comparisons is None) == (b.comparisons is None)
        and (
            a.comparisons is None
            or b.comparisons is None
            or (
                a.comparisons.layout == b.comparisons.layout
                and np.array_equal(a.comparisons.values, b.comparisons.values)
            )
        )
    )
    print(f"{len(a.filters)} records; batches identical: {same}")


if __name__ == "__main__":
    main()
