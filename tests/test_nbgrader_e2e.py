"""End to end through nbgrader, as an instructor runs it, in a throwaway course folder.

Four submissions of a1_conv_forward are autograded in one run: the reference solution
(full marks), the untouched release (zero), a plausible mistake -- dilation ignored --
(partial marks; the feedback names the failing case), and a notebook with a syntax error
(zero, without disturbing the others). Then feedback is generated and grades exported.
"""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, release_notebook, solved_notebook

A1 = "a1_conv_forward"


def ignore_dilation(grade_id: str, source: str) -> str:
    if grade_id != "conv2d_naive":
        return source
    wrong = source.replace("as_pair(dilation)", "(1, 1)")
    assert wrong != source, "the mutation did not apply: update this test with the solution"
    return wrong


def syntax_error(grade_id: str, source: str) -> str:
    return source.replace("):", ")", 1)  # drop the colon of the first def


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [A1])
    course.release(A1)
    course.submit("good", A1, solved_notebook(A1))
    course.submit("untouched", A1, release_notebook(A1))
    course.submit("nodilation", A1, solved_notebook(A1, edit=ignore_dilation))
    course.submit("broken", A1, solved_notebook(A1, edit=syntax_error))
    course.autograde(A1)
    course.generate_feedback(A1)
    return course, course.export()


def cell_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A1, A1, student)
        return {g.name: g.score for g in nb.grades}


def test_reference_solution_gets_full_marks(graded):
    course, scores = graded
    assert scores[("good", A1)] == 100.0
    assert all(v > 0 for v in cell_scores(course, "good").values())


def test_untouched_release_gets_zero(graded):
    course, scores = graded
    assert scores[("untouched", A1)] == 0.0


def test_ignoring_dilation_gets_partial_marks_and_named_feedback(graded):
    course, scores = graded
    score = scores[("nodilation", A1)]
    assert 0 < score < 100
    cells = cell_scores(course, "nodilation")
    assert cells["test_conv2d_dilation"] == 0
    assert cells["test_conv_output_size"] == 10
    assert cells["test_conv2d_basic"] == 20
    assert cells["test_conv2d_stride_padding"] == 15
    html = course.feedback_html("nodilation", A1)
    assert "case &#39;dilation 2&#39;" in html or "case 'dilation 2'" in html
    assert "expected (1, 1, 3, 3)" in html


def test_syntax_error_gets_zero_and_leaves_others_alone(graded):
    course, scores = graded
    assert scores[("broken", A1)] == 0.0
    assert scores[("good", A1)] == 100.0
    assert set(scores) == {(s, A1) for s in ("good", "untouched", "nodilation", "broken")}
