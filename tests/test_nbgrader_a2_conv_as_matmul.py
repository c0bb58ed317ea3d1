"""a2_conv_as_matmul end to end through nbgrader, in a throwaway course folder.

Three submissions are autograded in one run: the reference solution (100 points), a
plausible mistake -- input channels mapped to the wrong group in ``conv2d_im2col`` --
(partial marks: exactly the groups part is lost), and the untouched release (0).
"""

from __future__ import annotations

import time

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, release_notebook, solved_notebook

A2 = "a2_conv_as_matmul"


def wrong_groups(grade_id: str, source: str) -> str:
    if grade_id != "conv2d_im2col":
        return source
    wrong = source.replace("(s_n, c_group * s_c, s_c, dh * s_h", "(s_n, s_c, s_c, dh * s_h")
    assert wrong != source, "the mutation did not apply: update this test with the solution"
    return wrong


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [A2])
    course.release(A2)
    course.submit("good", A2, solved_notebook(A2))
    course.submit("wronggroups", A2, solved_notebook(A2, edit=wrong_groups))
    course.submit("untouched", A2, release_notebook(A2))
    start = time.perf_counter()
    course.autograde(A2)
    per_submission = (time.perf_counter() - start) / 3
    print(f"\n{A2}: autograde {per_submission:.1f} s per submission")
    return course, course.export()


def cell_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A2, A2, student)
        return {g.name: g.score for g in nb.grades}


def test_reference_solution_gets_full_marks(graded):
    course, scores = graded
    assert scores[("good", A2)] == 100.0


def test_wrong_group_mapping_gets_partial_marks(graded):
    course, scores = graded
    assert 0 < scores[("wronggroups", A2)] < 100
    cells = cell_scores(course, "wronggroups")
    assert cells["test_im2col_groups"] == 0
    assert scores[("wronggroups", A2)] == 90.0


def test_untouched_release_gets_zero(graded):
    course, scores = graded
    assert scores[("untouched", A2)] == 0.0
    assert set(scores) == {(s, A2) for s in ("good", "wronggroups", "untouched")}
