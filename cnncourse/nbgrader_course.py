"""A throwaway nbgrader course: release, submit, autograde, feedback and export in a folder.

The tests and the grading benchmarks use it to run nbgrader exactly as an instructor does
(the repository's ``nbgrader_config.py``, no extra flags), but in a temporary course root:

    course = Course(tmp_path, ["a1_conv_forward"])
    course.release("a1_conv_forward")
    course.submit("alice", "a1_conv_forward", solved_notebook("a1_conv_forward"))
    course.autograde("a1_conv_forward")
    course.export()   # {("alice", "a1_conv_forward"): 100.0}

A course has a language (``language="ru"``, or the environment's ``CNNCOURSE_LANG``):
nbgrader_config.py then releases into exercises/ru/ and grades under autograder/ru/, and
the helpers here follow (``release_notebook(a, "ru")``, ``solved_notebook(a, language="ru")``).
"""

from __future__ import annotations

import atexit
import copy
import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?\n(.*?)^[ \t]*### END SOLUTION[^\n]*\n?",
                              re.S | re.M)


def language_of(language: str | None = None) -> str:
    """``language`` if given, else the one ``CNNCOURSE_LANG`` asks for ("en" when unset)."""
    from cnncourse.i18n import language_from_env

    return language_from_env(language if language is not None else os.environ.get("CNNCOURSE_LANG"))


def work_dir(language: str) -> str:
    """Where a course in ``language`` keeps gradebook, submissions and feedback (nbgrader_config.py)."""
    return "autograder" if language == "en" else f"autograder/{language}"


def release_dir(language: str) -> str:
    """The release folder of a course in ``language`` (nbgrader_config.py)."""
    return "exercises" if language == "en" else f"exercises/{language}"


def nbgrader_env(root: Path | str | None = None, db_url: str | None = None,
                 language: str | None = None) -> dict:
    """Environment for nbgrader subprocesses: this venv's bin first on PATH (nbgrader runs
    ``alembic`` from PATH) and, when given, ``CNNCOURSE_COURSE_ROOT``. A course in ``root``
    keeps its gradebook in ``root`` (SQLite) unless ``db_url`` is given: an instructor's own
    ``CNNCOURSE_DB_URL`` never reaches a throwaway course. ``language``, when given, is the
    course's (``CNNCOURSE_LANG``); else the environment's stays."""
    env = dict(os.environ)
    if language is not None:
        env["CNNCOURSE_LANG"] = language
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("CNNCOURSE_COURSE_ROOT", None)
    if root is not None:
        env["CNNCOURSE_COURSE_ROOT"] = str(root)
        env.pop("CNNCOURSE_DB_URL", None)
    if db_url is not None:
        env["CNNCOURSE_DB_URL"] = db_url
    return env


def run_nbgrader(args: list[str], root: Path | str | None = None, check: bool = True,
                 timeout: float | None = 1800, db_url: str | None = None,
                 language: str | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` from the repository (its nbgrader_config.py) on course ``root``."""
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=REPO_ROOT,
                          env=nbgrader_env(root, db_url, language),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO_ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(assignment: str, language: str = "en") -> nbformat.NotebookNode:
    """The committed release: exercises/<a>/ (English) or exercises/<language>/<a>/."""
    return nbformat.read(REPO_ROOT / release_dir(language) / assignment / f"{assignment}.ipynb",
                         as_version=4)


def solution_code(assignment: str) -> dict[str, str]:
    """grade_id -> the cell source with the solution markers removed (kept code inside)."""
    out = {}
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = _SOLUTION_REGION.sub(lambda m: m.group(1), cell.source)
    return out


def solved_notebook(assignment: str, replace: dict[str, str] | None = None,
                    edit=None, language: str = "en") -> nbformat.NotebookNode:
    """The released notebook (of ``language``) with every solution cell filled in from
    solutions/.

    ``replace`` maps grade_id -> source to use instead (a wrong or partial answer);
    ``edit(grade_id, source) -> source`` transforms the filled sources (for mutants).
    """
    nb = copy.deepcopy(release_notebook(assignment, language))
    answers = solution_code(assignment)
    answers.update(replace or {})
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] in answers:
            source = answers[meta["grade_id"]]
            cell.source = edit(meta["grade_id"], source) if edit else source
    return nb


# A mix of a1 submissions for the grading benchmark and the warm/cold comparison: the
# solution, a wrong convolution (half the right values), one that raises, a syntax error.
def _a1_wrong(grade_id: str, source: str) -> str:
    return source + "\n\n_ref = conv2d_naive\ndef conv2d_naive(*a, **k):\n    return 0.5 * _ref(*a, **k)\n" \
        if grade_id == "conv2d_naive" else source


def _a1_raises(grade_id: str, source: str) -> str:
    return source + "\n\ndef conv2d_naive(*a, **k):\n    raise NotImplementedError\n" \
        if grade_id == "conv2d_naive" else source


def _a1_syntax_error(grade_id: str, source: str) -> str:
    return source.replace("):", ")", 1) if grade_id == "conv2d_naive" else source


A1_SUBMISSION_MIX = [("good", None), ("wrong", _a1_wrong), ("raises", _a1_raises),
                     ("syntax", _a1_syntax_error)]


# (assignment, language, digest of its source folder) -> a copy of what generate_assignment made from
# it in a fresh course of this process: its exercises/ folder and gradebook.db
_RELEASED: dict[tuple[str, str, str], Path] = {}


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _keep_release(root: Path, assignment: str, language: str) -> Path:
    keep = Path(tempfile.mkdtemp(prefix=f"cnncourse-release-{assignment}-"))
    atexit.register(shutil.rmtree, keep, True)
    shutil.copytree(root / release_dir(language), keep / "exercises")
    shutil.copy2(root / work_dir(language) / "gradebook.db", keep / "gradebook.db")
    return keep


class Course:
    """A course root in ``root`` with copies of the given assignments' source notebooks.

    ``language``: the course's ("en", "ru"; default: the environment's ``CNNCOURSE_LANG``,
    English when unset). A Russian course releases into exercises/ru/ and keeps its
    gradebook, submissions, feedback and grades in autograder/ru/ (:attr:`work`)."""

    def __init__(self, root: Path | str, assignments: list[str], db_url: str | None = None,
                 language: str | None = None):
        self.root = Path(root)
        self.db_url = db_url  # None: SQLite, autograder/gradebook.db in root
        self.language = language_of(language)
        self.work = self.root / work_dir(self.language)
        self.exercises = self.root / release_dir(self.language)
        self.work.mkdir(parents=True, exist_ok=True)
        for name in assignments:
            shutil.copytree(REPO_ROOT / "solutions" / name, self.root / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
                            dirs_exist_ok=True)

    def nbgrader(self, *args: str, check: bool = True, timeout: float | None = 1800):
        return run_nbgrader(list(args), self.root, check=check, timeout=timeout, db_url=self.db_url,
                            language=self.language)

    def release(self, assignment: str) -> Path:
        """``nbgrader generate_assignment ASSIGNMENT`` (as README: the config forces).

        In a fresh course (no gradebook, nothing released yet) whose copy of the assignment's
        sources is byte for byte one that nbgrader already released in this process, the
        result of that run -- the release and the gradebook -- is copied instead: the same
        files, without nbgrader's seconds of start-up (a test process makes many courses)."""
        exercises = self.exercises
        db = self.work / "gradebook.db"
        fresh = self.db_url is None and not db.exists() and not exercises.exists()
        key = (assignment, self.language, _tree_digest(self.root / "solutions" / assignment))
        done = _RELEASED.get(key) if fresh else None
        if done is not None and done.is_dir():
            shutil.copytree(done / "exercises", exercises)
            shutil.copy2(done / "gradebook.db", db)
        else:
            self.nbgrader("generate_assignment", assignment)
            if fresh:
                _RELEASED[key] = _keep_release(self.root, assignment, self.language)
        return exercises / assignment / f"{assignment}.ipynb"

    def submit(self, student: str, assignment: str, notebook, filename: str | None = None) -> Path:
        """Place a submission: a notebook object, or raw text (possibly not even JSON)."""
        folder = self.work / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (filename or f"{assignment}.ipynb")
        if isinstance(notebook, (str, bytes)):
            path.write_bytes(notebook.encode() if isinstance(notebook, str) else notebook)
        else:
            nbformat.write(notebook, path)
        return path

    def autograde(self, assignment: str, *extra: str, check: bool = True):
        return self.nbgrader("autograde", assignment, *extra, check=check)

    def generate_feedback(self, assignment: str, *extra: str):
        return self.nbgrader("generate_feedback", assignment, *extra)

    def feedback_html(self, student: str, assignment: str) -> str:
        folder = self.work / "feedback" / student / assignment
        return "\n".join(p.read_text() for p in sorted(folder.glob("*.html")))

    def export(self) -> dict[tuple[str, str], float]:
        """Run ``nbgrader export`` and read the CSV: (student, assignment) -> score."""
        self.nbgrader("export")
        scores = {}
        with open(self.work / "grades.csv", newline="") as f:
            for row in csv.DictReader(f):
                scores[(row["student_id"], row["assignment"])] = float(row["score"])
        return scores


# --- running an assignment's graded parts without nbgrader (the mutant suites) ----------

def solution_namespace(assignment: str, replace=(), grade_id: str | None = None) -> dict:
    """Execute the source notebook's ``setup`` cell and its solution cells (markers kept as
    comments) in a fresh namespace, after replacing each ``(old, new)`` exactly once: in
    the solution cell ``grade_id`` if given, else anywhere in those cells."""
    cells = []
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("grade_id") == "setup" or meta.get("solution")):
            continue
        source = cell.source
        if grade_id is not None and meta["grade_id"] == grade_id:
            for old, new in replace:
                assert source.count(old) == 1, f"mutation target not found once in {grade_id}: {old!r}"
                source = source.replace(old, new)
        cells.append(source)
    code = "\n\n".join(cells)
    if grade_id is None:
        for old, new in replace:
            assert code.count(old) == 1, f"mutation target not found exactly once: {old!r}"
            code = code.replace(old, new)
    namespace: dict = {}
    exec(compile(code, f"<{assignment} solution>", "exec"), namespace)  # noqa: S102 - ours
    return namespace


def graded_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every graded test cell (visible and hidden checks)."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source
            for cell in source_notebook(assignment).cells
            if cell.cell_type == "code" and cell.metadata["nbgrader"].get("grade")}


def failing_parts(assignment: str, namespace: dict, parts: set[str] | None = None) -> set[str]:
    """Run every graded test cell, exactly as written in the notebook, on ``namespace``;
    return the grade_ids of those whose checks fail. ``parts``, when given, must be the
    notebook's graded parts (a guard against tests that silently check fewer)."""
    if parts is not None:
        assert set(graded_cells(assignment)) == set(parts), "the graded parts changed"
    import contextlib
    import io

    from cnncourse.checks.core import CheckFailure

    failed = set()
    for grade_id, source in graded_cells(assignment).items():
        assert "### BEGIN HIDDEN TESTS" in source, f"{grade_id} has no hidden tests"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(source, dict(namespace))  # noqa: S102
        except CheckFailure:
            failed.add(grade_id)
    return failed
