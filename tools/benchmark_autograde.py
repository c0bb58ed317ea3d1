"""Benchmark of sandboxed autograding: N submissions of one assignment, 1 and 2 workers.

    .venv/bin/python tools/benchmark_autograde.py             # 100 submissions of a1
    .venv/bin/python tools/benchmark_autograde.py --n 20 --jobs 1 2 4
    .venv/bin/python tools/benchmark_autograde.py --n 20 --cold  # kernels started anew
    .venv/bin/python tools/benchmark_autograde.py --n 40 --jobs 2 --dask  # pool, then Dask

Builds a throwaway course (cnncourse.nbgrader_course.Course) with N submissions, a mix of
the reference solution, a wrong convolution, one that raises and one with a syntax
error, then grades them all with ``python -m cnncourse.autograde --force`` once per worker
count (with ``--dask``, once more per worker count on a local Dask cluster of that many
worker processes, right after the pool). Prints, for each, the median seconds per
submission (one worker's time on it: kernel start, execution, trusted verdicts,
gradebook), the total wall time and submissions per minute per worker, and checks that
every run gives the same grades. Not a test: the figures depend on the machine and
on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cnncourse.nbgrader_course import (A1_SUBMISSION_MIX as MIX, Course, nbgrader_env,  # noqa: E402
                                       solved_notebook)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100, help="number of submissions")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--assignment", default="a1_conv_forward")
    parser.add_argument("--cold", action="store_true",
                        help="start every kernel anew (CNNCOURSE_WARM_KERNELS=0), for comparison")
    parser.add_argument("--dask", action="store_true",
                        help="after each pool run, the same on a local Dask cluster (--dask)")
    args = parser.parse_args()
    a = args.assignment
    root = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    course = Course(root, [a])
    course.release(a)
    notebooks = {kind: solved_notebook(a, edit=edit) for kind, edit in MIX}
    for i in range(args.n):
        kind = MIX[i % len(MIX)][0]
        course.submit(f"s{i:03d}_{kind}", a, notebooks[kind])
    print(f"{args.n} submissions of {a} in {root} ({os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}; {'cold' if args.cold else 'warm'} kernels)")
    results, grades = {}, {}
    runs = [(jobs, mode) for jobs in args.jobs for mode in ["pool"] + ["dask"] * args.dask]
    for run in runs:
        jobs, mode = run
        env = nbgrader_env(root)
        env["CNNCOURSE_WARM_KERNELS"] = "0" if args.cold else "1"
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "cnncourse.autograde", a, "--jobs", str(jobs),
                               "--force"] + ["--dask"] * (mode == "dask"), cwd=REPO, env=env,
                              capture_output=True, text=True)
        total = time.monotonic() - start
        per = []
        for marker in (root / "autograder" / "runs" / a).glob("*.json"):
            per.append(json.loads(marker.read_text())["seconds"])
        grades[run] = course.export()
        results[run] = (statistics.median(per) if per else float("nan"), total, proc.returncode)
        print(f"jobs={jobs} {mode}: median {results[run][0]:.2f} s per submission, total "
              f"{total:.1f} s for {args.n}, {args.n / (total / 60) / jobs:.1f} per minute per "
              f"worker (exit {proc.returncode}; load average now {os.getloadavg()[0]:.1f})")
        if proc.returncode not in (0, 1):
            print(proc.stderr[-3000:])
    first = grades[runs[0]]
    same = all(g == first for g in grades.values())
    print("same grades with every worker count" + (" and on Dask:" if args.dask else ":"), same)
    by_kind = {}
    for (student, _), score in first.items():
        by_kind.setdefault(student.split("_", 1)[1], set()).add(score)
    print("grades by kind:", {k: sorted(v) for k, v in sorted(by_kind.items())})
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
