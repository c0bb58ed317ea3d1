"""The graded cases stay small enough for slow-but-correct loops (issue #13, item 6).

A student may write a1's convolution, a2's convolution matrix and transposed convolution
and a3's pooling and convolution (forward and backward) as plain Python loops over the batch, the channels and the output pixels; such
code costs about the same per element it produces, whatever the kernel. So the work of a
graded cell is counted here as the elements the student's looped functions produce over
all the calls its visible and hidden checks make (gradcheck's repeated calls included),
with the reference solution standing in for the student (the same calls, fast).

The budget comes from ``tools/benchmark_slow_solutions.py`` (the plain-loop variants of
``tests/slow_solutions.py``, on a loaded 2-core machine, one thread): the slowest rate it
measured was about 0.45 ms per element (a1's apply_kernel in torch loops: 1.5 s for 3,346
elements; a3's max pooling forward in torch loops: 3.3 s for one call of 23,808 elements),
so ``BUDGET`` elements take about 45 s, within half the sandbox's 120 s cell limit. The
largest cell today (a3's test_max_forward) produces about 24,400: whoever makes a case
bigger than the budget allows must shrink another or rerun the benchmark.
"""

from __future__ import annotations

import contextlib
import io

import pytest

import cnncourse.nbgrader_course as harness
import slow_solutions
from cnncourse.checks.core import CheckFailure

BUDGET = 100_000  # elements produced by the looped functions, per graded cell

LOOPED = {
    "a1_conv_forward": ["conv2d_naive", "apply_kernel"],
    "a2_conv_as_matmul": ["conv_matrix", "conv_transpose2d"],
    "a3_backprop": ["MaxPool2dFunction", "AvgPool2dFunction", "Conv2dFunction"],
}


def cell_work(assignment: str) -> dict[str, dict[str, int]]:
    """grade_id -> {function: elements produced} over the cell's checks."""
    work = {}
    for grade_id, source in harness.graded_cells(assignment).items():
        calls: list = []
        env = slow_solutions.instrumented(harness.solution_namespace(assignment),
                                          LOOPED[assignment], calls)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(source, env)  # noqa: S102 - the notebook's own test cell
        except CheckFailure as exc:  # the reference passes every cell
            raise AssertionError(f"{assignment} {grade_id}: {exc}") from exc
        per_function: dict[str, int] = {}
        for _seconds, name, elements in calls:
            key = name.split(".")[0]
            per_function[key] = per_function.get(key, 0) + elements
        work[grade_id] = per_function
    return work


@pytest.mark.parametrize("assignment", sorted(LOOPED))
def test_every_graded_cell_fits_the_loop_budget(assignment):
    work = cell_work(assignment)
    # the count sees every looped function (the instrumentation is not bypassed)
    called = {name for per_function in work.values() for name, n in per_function.items() if n}
    assert called == set(LOOPED[assignment])
    too_big = {gid: sum(w.values()) for gid, w in work.items() if sum(w.values()) > BUDGET}
    assert not too_big, (f"graded cells over the budget of {BUDGET:,} elements for plain loops: "
                         f"{too_big}; shrink their cases (see tools/benchmark_slow_solutions.py)")
