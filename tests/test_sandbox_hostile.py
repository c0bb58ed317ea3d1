"""The sandboxed autograder against a corpus of hostile and broken submissions.

Every submission of ``tests/hostile/corpus.py`` (and its controls, and a correct
submission graded first and another graded last) is autograded in ONE ``nbgrader
autograde`` run, as README says, with shorter wall-time limits so that the loops end
quickly. Each gets the grade the corpus says, the correct ones keep full marks, nothing
reaches the grader's loopback, and the feedback hides the hidden tests.
"""

from __future__ import annotations

import os
import socket
import threading

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course
from cnncourse.sandbox import cgroup, probe
from hostile.corpus import A1, CONTROLS, CORPUS, Context, Layout

# With trusted verdicts the kernel only runs the cases: the reference solution's slowest cell
# takes about 0.3 s here (its hidden tests' cell; the slowest cell of any submission that
# does not run into a limit, about 1 s). 6 s leaves room for a slower, loaded
# machine, and each submission that runs into the limit (busy_loop, sleep_past_limit,
# ignore_sigint, hang_every_call) costs about 6 s of the run, not 120.
LIMITS = {"CNNCOURSE_LIMIT_CELL_SECONDS": "6", "CNNCOURSE_LIMIT_SUBMISSION_SECONDS": "240",
          "CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB": "2048"}
BY_NAME = {h.name: h for h in CONTROLS + CORPUS}


class Listener:
    """A TCP server on the grader's loopback that counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert probe() is None, f"the sandbox must work on the test machine: {probe()}"
    listener = Listener()
    course = Course(tmp_path_factory.mktemp("hostile"), [A1])
    course.release(A1)
    ctx = Context(course.root, listener.port)
    submissions = [("aaa_good", BY_NAME["good"])] + [(h.name, h) for h in CONTROLS + CORPUS] \
        + [("zzz_good", BY_NAME["good"])]
    for student, hostile in submissions:
        built = hostile.build(ctx)
        notebook, filename, files = built if isinstance(built, tuple) else (built, None, {})
        path = course.submit(student, A1, notebook, filename=filename)
        for name, text in files.items():
            (path.parent / name).write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in LIMITS.items():
            mp.setenv(key, value)
        run = course.autograde(A1, check=False)
        course.generate_feedback(A1)
    listener.close()
    scores = course.export()
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        cells = {}
        for student, _ in submissions:
            try:
                nb = gb.find_submission_notebook(A1, A1, student)
            except Exception:  # noqa: BLE001 - no notebook graded
                cells[student] = {}
                continue
            cells[student] = {g.name: (g.score or 0.0) for g in nb.grades}
    return course, run, scores, cells, listener


def autograded_text(course, student) -> str:
    """What the autograded notebook's cells printed or raised (not their source)."""
    folder = course.root / "autograder" / "autograded" / student / A1
    parts = []
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            for out in cell.get("outputs", []):
                parts += [str(out.get("text", "")), str(out.get("ename", "")),
                          str(out.get("evalue", "")), str(out.get("data", {}).get("text/plain", ""))]
    return "\n".join(parts)


def test_the_run_finishes_and_only_the_unreadable_notebook_is_an_error(graded):
    course, run, scores, cells, _ = graded
    errors = [line for line in run.stderr.splitlines()
              if "There was an error processing assignment" in line and "for student" in line]
    assert all("invalid_json" in line or "renamed_notebook" in line for line in errors), errors
    assert any("invalid_json" in line for line in errors)


def test_correct_submissions_keep_full_marks(graded):
    _, _, scores, cells, _ = graded
    layout = Layout.of_release()
    full = sum(layout.points.values())
    for student in ("aaa_good", "good", "zzz_good"):
        assert scores[(student, A1)] == full
        assert cells[student] == layout.points


@pytest.mark.parametrize("name", [h.name for h in CORPUS])
def test_hostile_submission_gets_the_right_grade(graded, name):
    course, _, scores, cells, _ = graded
    hostile = BY_NAME[name]
    layout = Layout.of_release()
    if hostile.total is not None:
        assert scores[(name, A1)] == hostile.total
    elif hostile.same_as is not None:
        control = cells[hostile.same_as]
        assert cells[name] == control, f"{name} should score as {hostile.same_as}"
        assert scores[(name, A1)] == scores[(hostile.same_as, A1)]
    else:
        failing = hostile.fails(layout)
        expected = {gid: (0.0 if gid in failing else pts) for gid, pts in layout.points.items()}
        assert cells[name] == expected
    text = autograded_text(course, name)
    for needle in hostile.expect:
        assert needle in text, f"{name}: {needle!r} not in the autograded notebook"
    for needle in hostile.forbid:
        assert needle not in text, f"{name}: {needle!r} in the autograded notebook"


def test_controls_differ_from_the_correct_submission(graded):
    """The controls really fail something, so comparing with them means something."""
    _, _, scores, _, _ = graded
    full = scores[("good", A1)]
    for control in ("ctl_half", "ctl_runtime", "ctl_oserror", "ctl_baseexc"):
        assert scores[(control, A1)] < full


def test_the_memory_limit_holds_or_the_run_says_why_not(graded):
    """memory_touch is in the corpus where this machine can make memory cgroups (and must
    be stopped, above); elsewhere the run must say, once, which limit it cannot enforce."""
    run = graded[1]
    if cgroup.base() is not None:
        assert "memory_touch" in BY_NAME
        assert "cannot be enforced" not in run.stderr
    else:
        assert "memory_touch" not in BY_NAME
        assert run.stderr.count("cannot be enforced") == 1, run.stderr[-3000:]


def test_nothing_reached_the_graders_loopback(graded):
    assert graded[4].connections == 0


def test_limits_apply_inside_the_sandbox(graded):
    course = graded[0]
    nb = nbformat.read(course.root / "autograder" / "autograded" / "limits_probe" / A1 / f"{A1}.ipynb", 4)
    joined = " ".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                      if "PROBE" in out.get("text", ""))
    if os.geteuid() == 0:
        assert "PROBE uid 0 " not in joined
    assert "host sandbox" in joined
    assert "'lo'" in joined and "eth0" not in joined
    assert "nproc (64, 64)" in joined
    assert f"fsize ({64 * 2**20}, {64 * 2**20})" in joined
    assert "gradebook" not in joined and "autograder" not in joined


def test_flooding_output_is_bounded(graded):
    course = graded[0]
    size = sum(p.stat().st_size for p in
               (course.root / "autograder" / "autograded" / "print_flood" / A1).glob("*.ipynb"))
    assert size < 2_000_000


def test_files_written_by_students_stay_in_the_sandbox(graded):
    course = graded[0]
    for student in ("huge_file", "fill_disk"):
        folder = course.root / "autograder" / "autograded" / student / A1
        assert sorted(p.name for p in folder.iterdir()) == [f"{A1}.ipynb"]


def test_feedback_hides_hidden_tests_but_gives_case_messages(graded):
    course = graded[0]
    html = course.feedback_html("ctl_half", A1)
    assert "HIDDEN TESTS" not in html
    assert 'family="hidden"' not in html and "family=&quot;hidden&quot;" not in html
    assert "seed=" not in html
    assert "cases failed" in html  # the check's case messages are there
    for student in ("good", "busy_loop", "os_exit"):
        assert "HIDDEN TESTS" not in course.feedback_html(student, A1)


def test_autograded_notebooks_keep_the_hidden_tests_for_the_instructor(graded):
    course = graded[0]
    nb = nbformat.read(course.root / "autograder" / "autograded" / "good" / A1 / f"{A1}.ipynb", 4)
    assert any("BEGIN HIDDEN TESTS" in c.source for c in nb.cells)


def test_a_function_that_hangs_on_every_call_costs_one_cell_limit(graded):
    """README's item: once conv2d_naive ran past the cell limit it is not called again, so
    the five later cells that call it (directly or through apply_kernel) do not each wait."""
    from datetime import datetime

    course = graded[0]
    path = course.root / "autograder" / "autograded" / "hang_every_call" / A1 / f"{A1}.ipynb"
    spent = 0.0
    for cell in nbformat.read(path, 4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            spent += (end - start).total_seconds()
    limit = float(LIMITS["CNNCOURSE_LIMIT_CELL_SECONDS"])
    assert limit <= spent < 2 * limit, f"{spent:.1f} s in the cells, the cell limit is {limit:g} s"
