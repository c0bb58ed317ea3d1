"""a4_receptive_fields end to end through nbgrader, in a throwaway course folder.

Three submissions are autograded in one run: the reference solution (100 points),
a plausible mistake -- the receptive field computed as if every layer had dilation 1 --
(partial marks: exactly the dilation part, 15 points, is lost), and the untouched
release (0).
"""

from __future__ import annotations

import time

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, release_notebook, solved_notebook

A = "a4_receptive_fields"


def ignore_dilation(grade_id: str, source: str) -> str:
    if grade_id != "receptive_field":
        return source
    wrong = source.replace('d = as_pair(getattr(layer, "dilation", 1))',
                           "d = (1, 1)")
    assert wrong != source, "the mutation did not apply: update this test with the solution"
    return wrong


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [A])
    course.release(A)
    course.submit("good", A, solved_notebook(A))
    course.submit("nodilation", A, solved_notebook(A, edit=ignore_dilation))
    course.submit("untouched", A, release_notebook(A))
    start = time.perf_counter()
    course.autograde(A)
    per_submission = (time.perf_counter() - start) / 3
    print(f"\n{A}: autograde {per_submission:.1f} s per submission")
    return course, course.export()


def cell_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A, A, student)
        return {g.name: g.score for g in nb.grades}


def test_reference_solution_gets_full_marks(graded):
    course, scores = graded
    assert scores[("good", A)] == 100.0
    assert all(v > 0 for v in cell_scores(course, "good").values())


def test_plausible_mistake_gets_partial_marks(graded):
    course, scores = graded
    assert 0 < scores[("nodilation", A)] < 100
    cells = cell_scores(course, "nodilation")
    assert cells["test_rf_dilation"] == 0
    assert all(v > 0 for k, v in cells.items() if k != "test_rf_dilation")
    assert scores[("nodilation", A)] == 100.0 - 15


def test_untouched_release_gets_zero(graded):
    course, scores = graded
    assert scores[("untouched", A)] == 0.0
    assert set(scores) == {(s, A) for s in ("good", "nodilation", "untouched")}
