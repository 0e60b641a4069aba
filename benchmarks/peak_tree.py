"""Run a command and print the peak memory of its whole process tree (Linux).

    python -m benchmarks.peak_tree COMMAND [ARGS...]

`/usr/bin/time -v` reports the largest single process's maximum RSS: with worker
processes (`encode_csv --workers`) that misses the others, and RSS counts pages shared
between them in each. This samples every 0.2 s the sum over the tree of PSS (shared pages
split between their processes, so counted once) and of RSS, and prints both peaks with
the wall time on stderr. Sampling can miss a peak shorter than the interval.
"""

import os
import subprocess
import sys
import time

INTERVAL_S = 0.2


def descendants(root: int) -> list[int]:
    """The process and every process under it, by the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(parent, []).append(int(name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory_kib(pid: int) -> tuple[int, int]:
    """PSS and RSS of one process in KiB (0, 0 when it is gone)."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def main(command: list[str]) -> int:
    """Run the command, sampling its tree; its exit status."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    peak_pss = peak_rss = 0
    while process.poll() is None:
        sampled = [memory_kib(pid) for pid in descendants(process.pid)]
        peak_pss = max(peak_pss, sum(pss for pss, _ in sampled))
        peak_rss = max(peak_rss, sum(rss for _, rss in sampled))
        time.sleep(INTERVAL_S)
    print(
        f"exit {process.returncode}, wall {time.perf_counter() - start:.1f} s, peak PSS of the "
        f"tree {peak_pss / 2**20:.2f} GiB, peak RSS summed {peak_rss / 2**20:.2f} GiB",
        file=sys.stderr,
    )
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
