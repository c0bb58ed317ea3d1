"""exercises/ is exactly what nbgrader makes from solutions/ today, and the untouched
release of every assignment fails every graded test."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import REPO_ROOT, Course, release_notebook

ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "solutions").iterdir()
                     if p.is_dir() and any(p.glob("*.ipynb")))


def normalised(path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return json.dumps(nb, sort_keys=True, indent=1)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("release"), ASSIGNMENTS)
    for name in ASSIGNMENTS:
        course.release(name)
        course.submit("untouched", name, release_notebook(name))
        course.autograde(name)
    return course


def test_there_are_assignments():
    assert "a1_conv_forward" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_match_generate_assignment(course, assignment):
    made = sorted(p.relative_to(course.root / "exercises" / assignment)
                  for p in (course.root / "exercises" / assignment).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(REPO_ROOT / "exercises" / assignment)
                       for p in (REPO_ROOT / "exercises" / assignment).rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert made == committed, "run `make exercises` and commit exercises/"
    for rel in made:
        new, old = course.root / "exercises" / assignment / rel, REPO_ROOT / "exercises" / assignment / rel
        if rel.suffix == ".ipynb":
            assert normalised(new) == normalised(old), f"{rel} is stale: run `make exercises`"
        else:
            assert new.read_bytes() == old.read_bytes(), f"{rel} is stale: run `make exercises`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_test_fails_on_the_untouched_release(course, assignment):
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(assignment, assignment, "untouched")
        grades = {g.name: (g.score, g.max_score) for g in nb.grades}
    assert grades, "no graded cells"
    assert sum(m for _, m in grades.values()) == 100, "an assignment totals 100 points"
    passing = {name: s for name, (s, _) in grades.items() if s}
    assert not passing, f"graded tests pass on the untouched release: {passing}"
