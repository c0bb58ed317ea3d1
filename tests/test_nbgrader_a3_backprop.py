"""a3_backprop end to end through nbgrader, in a throwaway course folder.

Three submissions are autograded in one run: the reference solution (100 points), a
plausible mistake -- max pooling's backward copies the gradient to every tied maximum --
(partial marks: exactly the ties part is lost), and the untouched release (0).
"""

from __future__ import annotations

import time

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, release_notebook, solved_notebook

A3 = "a3_backprop"

TIES_TO_ALL = [
    ("ctx.save_for_backward(index)\n",
     "ctx.save_for_backward(index, (cols == cols.gather(1, index)).to(cols.dtype))\n"),
    ("index, = ctx.saved_tensors", "index, mask = ctx.saved_tensors"),
    ('grad_cols.scatter_(1, index, grad_out.reshape(g["n"] * g["c"], 1, -1))',
     'grad_cols = mask * grad_out.reshape(g["n"] * g["c"], 1, -1)'),
]


def ties_to_all(grade_id: str, source: str) -> str:
    if grade_id != "MaxPool2dFunction":
        return source
    for old, new in TIES_TO_ALL:
        assert source.count(old) == 1, "the mutation did not apply: update this test"
        source = source.replace(old, new)
    return source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [A3])
    course.release(A3)
    course.submit("good", A3, solved_notebook(A3))
    course.submit("tiestoall", A3, solved_notebook(A3, edit=ties_to_all))
    course.submit("untouched", A3, release_notebook(A3))
    start = time.perf_counter()
    course.autograde(A3)
    per_submission = (time.perf_counter() - start) / 3
    print(f"\n{A3}: autograde {per_submission:.1f} s per submission")
    return course, course.export()


def cell_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A3, A3, student)
        return {g.name: g.score for g in nb.grades}


def test_reference_solution_gets_full_marks(graded):
    course, scores = graded
    assert scores[("good", A3)] == 100.0


def test_gradient_to_every_tie_gets_partial_marks(graded):
    course, scores = graded
    assert 0 < scores[("tiestoall", A3)] < 100
    cells = cell_scores(course, "tiestoall")
    assert cells["test_max_ties"] == 0
    assert cells["test_max_backward"] == 15
    assert scores[("tiestoall", A3)] == 90.0


def test_untouched_release_gets_zero(graded):
    course, scores = graded
    assert scores[("untouched", A3)] == 0.0
    assert set(scores) == {(s, A3) for s in ("good", "tiestoall", "untouched")}
