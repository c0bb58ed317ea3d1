"""a6_norm_dropout end to end through nbgrader, in a throwaway course folder.

Three submissions are autograded in one run: the reference solution (100 points),
a plausible mistake -- the running variance updated with the biased batch variance --
(partial marks: exactly the running-statistics part, 20 points, is lost), and the untouched release (0).
"""

from __future__ import annotations

import time

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, release_notebook, solved_notebook

A = "a6_norm_dropout"


def biased_running_variance(grade_id: str, source: str) -> str:
    if grade_id != "batchnorm":
        return source
    wrong = source.replace("self.momentum * unbiased",
                           "self.momentum * var")
    assert wrong != source, "the mutation did not apply: update this test with the solution"
    return wrong


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [A])
    course.release(A)
    course.submit("good", A, solved_notebook(A))
    course.submit("biasedvar", A, solved_notebook(A, edit=biased_running_variance))
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
    assert 0 < scores[("biasedvar", A)] < 100
    cells = cell_scores(course, "biasedvar")
    assert cells["test_batchnorm_running_stats"] == 0
    assert all(v > 0 for k, v in cells.items() if k != "test_batchnorm_running_stats")
    assert scores[("biasedvar", A)] == 100.0 - 20


def test_untouched_release_gets_zero(graded):
    course, scores = graded
    assert scores[("untouched", A)] == 0.0
    assert set(scores) == {(s, A) for s in ("good", "biasedvar", "untouched")}
