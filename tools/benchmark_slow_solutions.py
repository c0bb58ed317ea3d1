"""Do slow-but-correct solutions fit the autograder's time limit? (issue #13, item 6)

    .venv/bin/python tools/benchmark_slow_solutions.py              # every variant, 3 runs
    .venv/bin/python tools/benchmark_slow_solutions.py --runs 5 --variant "a1, numpy loops"

For each plain-loop variant in ``tests/slow_solutions.py`` (a1's conv2d_naive and
apply_kernel in torch or numpy loops, a2's conv_matrix and conv_transpose2d, a3's pooling
and convolution forward and backward),
runs every graded test cell of its assignment exactly as the notebook has it (the visible
and the hidden checks, with the notebook's seeds) in this process, with one thread as in
the sandbox, and prints each cell's median wall time over ``--runs`` runs against the
sandbox's limit per cell (``cnncourse.sandbox.Limits.cell_seconds``, or
``CNNCOURSE_LIMIT_CELL_SECONDS``), and the slowest case of the cell (the longest single
call of the student's function or class that the checks made, over all runs), and the
elements the looped functions produce in the cell (what ``tests/test_case_budget.py``
bounds); then the notebook's ungraded code cells (the "try it" cells run in the sandbox
too). Every cell must pass (the variants are correct) and take at most half its limit (a
2x margin); the script exits 1 otherwise.

Not a test: the figures depend on the machine and on what else runs on it. The checks run
here, in the grader's process; in the sandbox the same calls run in the kernel (plus
recording their results), so the time is comparable.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import torch  # noqa: E402

import cnncourse.nbgrader_course as harness  # noqa: E402
from cnncourse.checks.core import CheckFailure  # noqa: E402
from cnncourse.sandbox import Limits  # noqa: E402
import slow_solutions  # noqa: E402

MARGIN = 2.0


def cell_limit() -> float:
    return float(os.environ.get("CNNCOURSE_LIMIT_CELL_SECONDS", Limits().cell_seconds))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variant", action="append", choices=sorted(slow_solutions.VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    limit = cell_limit()
    print(f"cell limit {limit:.0f} s, margin {MARGIN:g}x; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; median of {args.runs} runs")
    ok = True
    for variant in args.variant or list(slow_solutions.VARIANTS):
        assignment, code = slow_solutions.VARIANTS[variant]
        ns = slow_solutions.namespace(variant)
        replaced = sorted(n for n in re.findall(r"^(?:def|class) (\w+)", code, re.M)
                          if not n.startswith("_"))
        print(f"\n{variant} ({', '.join(replaced)}):")
        print(f"  {'graded cell':36s} {'median':>9s}  {'of limit':>8s}  {'elements':>9s}  slowest call")
        for grade_id, source in harness.graded_cells(assignment).items():
            times, slowest, work = [], (0.0, "", 0), 0
            for _ in range(args.runs):
                calls: list = []
                env = slow_solutions.instrumented(slow_solutions.namespace(variant), replaced, calls)
                start = time.perf_counter()
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(source, env)  # noqa: S102 - the notebook's own test cell
                except CheckFailure as exc:
                    print(f"  {grade_id}: FAILS: {str(exc).splitlines()[0]}")
                    ok = False
                    break
                times.append(time.perf_counter() - start)
                if calls:
                    slowest = max(slowest, max(calls))
                work = sum(c[2] for c in calls)
            if not times:
                continue
            median = statistics.median(times)
            flag = "" if median * MARGIN <= limit else f"  <-- over limit / {MARGIN:g}"
            ok &= not flag
            print(f"  {grade_id:36s} {median:7.2f} s  {median / limit:8.1%}  {work:9,d}  "
                  f"{slowest[0]:.2f} s, {slowest[1]} ({slowest[2]:,d} elements){flag}")
        # the notebook's other code cells (examples, "try it") run in the sandbox too
        env = dict(slow_solutions.namespace(variant))
        total = 0.0
        for cell in harness.source_notebook(assignment).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade") or meta.get("solution") \
                    or meta.get("grade_id") == "setup":
                continue
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                exec(cell.source, env)  # noqa: S102 - the notebook's own cell
            seconds = time.perf_counter() - start
            total += seconds
            flag = "" if seconds * MARGIN <= limit else f"  <-- over limit / {MARGIN:g}"
            ok &= not flag
            if seconds >= 0.5 or flag:
                print(f"  {'(ungraded) ' + meta.get('grade_id', '?'):36s} {seconds:7.2f} s  "
                      f"{seconds / limit:8.1%}{flag}")
        print(f"  ungraded cells in all: {total:.2f} s")
    print("\nall cells within the limit with a 2x margin" if ok else "\nSOME CELLS FAIL OR ARE TOO SLOW")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
