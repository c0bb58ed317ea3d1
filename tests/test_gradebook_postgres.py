"""The gradebook in PostgreSQL: a real server, started here on a Unix socket in a
throwaway folder (no TCP port), and the instructor's commands -- generate_assignment,
autograde in the sandbox, generate_feedback, export -- with ``CNNCOURSE_DB_URL`` pointing
at it. The grades are those the SQLite gradebook gives (tests/test_nbgrader_assignments.py):
the reference keeps 100, a plausible mistake loses exactly its parts; no SQLite file is
made, and the rows are in PostgreSQL."""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook
from postgres_server import postgres  # noqa: F401 - the fixture

from cnncourse.nbgrader_course import Course, solved_notebook
from test_nbgrader_assignments import MISTAKES

A1 = "a1_conv_forward"


@pytest.fixture(scope="module")
def course(postgres, tmp_path_factory):
    db_url = postgres.create_database("gradebook")
    course = Course(tmp_path_factory.mktemp("postgres"), [A1], db_url=db_url)
    course.release(A1)
    student, edit, _ = MISTAKES[A1]
    course.submit("good", A1, solved_notebook(A1))
    course.submit(student, A1, solved_notebook(A1, edit=edit))
    course.autograde(A1)
    course.generate_feedback(A1)
    course.scores = course.export()
    return course


def test_autograde_and_export_against_postgresql(course):
    student, _, lost = MISTAKES[A1]
    assert course.scores[("good", A1)] == 100.0
    with Gradebook(course.db_url) as gb:
        assert sorted(s.id for s in gb.students) == sorted(["good", student])
        nb = gb.find_submission_notebook(A1, A1, student)
        cells = {g.name: (g.score, g.max_score) for g in nb.grades}
    assert {k for k, (s, m) in cells.items() if s < m} == lost
    assert course.scores[(student, A1)] == 100 - sum(cells[k][1] for k in lost)
    assert (course.root / "autograder" / "feedback" / student / A1).is_dir()


def test_no_sqlite_gradebook_is_made(course):
    assert not (course.root / "autograder" / "gradebook.db").exists()


def test_the_rows_are_in_postgresql(postgres, course):
    assert postgres.psql("gradebook", "select count(*) from submitted_assignment").strip() == "2"
