"""The parallel, resumable wrapper (python -m cnncourse.autograde) and the refusal to grade
without the sandbox.

One small course is graded with two workers: the grades are those nbgrader's serial run
gives (tests/test_nbgrader_e2e.py), a second run grades nothing, and after a simulated
interruption (one submission's result lost) only that submission is graded again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from cnncourse import sandbox
from cnncourse.nbgrader_course import (BIN, REPO_ROOT, Course, nbgrader_env, release_notebook,
                                       solved_notebook)
from sandbox_kernel import grader_traces, left_behind

A1 = "a1_conv_forward"


def wrong(grade_id, source):
    return source + "\n\n_ref = conv2d_naive\ndef conv2d_naive(*a, **k):\n    return 0.5 * _ref(*a, **k)\n" \
        if grade_id == "conv2d_naive" else source


def run_wrapper(course, *args):
    return subprocess.run([sys.executable, "-m", "cnncourse.autograde", A1, *args], cwd=REPO_ROOT,
                          env=nbgrader_env(course.root), capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("parallel"), [A1])
    course.release(A1)
    course.submit("good", A1, solved_notebook(A1))
    course.submit("untouched", A1, release_notebook(A1))
    course.submit("wrong", A1, solved_notebook(A1, edit=wrong))
    course.submit("unreadable", A1, "{ not a notebook")
    before = grader_traces()
    first = run_wrapper(course, "--jobs", "2")
    first.left_behind = left_behind(before)
    return course, first, course.export()


def test_two_workers_grade_everyone(course):
    course, first, scores = course
    assert "4 to grade with 2 worker(s)" in first.stdout
    assert scores[("good", A1)] == 100.0
    assert scores[("untouched", A1)] == 0.0
    assert 0 < scores[("wrong", A1)] < 100
    assert scores[("unreadable", A1)] == 0.0
    assert first.returncode == 1 and "not graded: unreadable" in first.stderr
    record = json.loads((course.root / "autograder" / "runs" / A1 / "good.json").read_text())
    assert record["success"] and record["seconds"] > 0


def test_a_run_leaves_no_server_spool_or_cgroup_behind(course):
    _, first, _ = course
    assert first.left_behind == [], first.left_behind
    if os.geteuid() == 0:  # a warm server ran (or the run says why not)
        assert "warm-kernel server" in first.stdout + first.stderr or \
            any("warm-kernel server" in r.read_text() for r in
                (course[0].root / "autograder" / "runs" / A1).glob("*.json"))


def test_a_second_run_skips_what_is_graded_and_an_interrupted_one_resumes(course):
    course, _, scores = course
    again = run_wrapper(course, "--jobs", "2")
    assert "0 to grade" in again.stdout
    # an interrupted run: the result of "wrong" was never written
    (course.root / "autograder" / "runs" / A1 / "wrong.json").unlink()
    shutil.rmtree(course.root / "autograder" / "autograded" / "wrong")
    resumed = run_wrapper(course, "--jobs", "2")
    assert "1 to grade" in resumed.stdout and "wrong: ok" in resumed.stdout
    assert course.export() == scores


def test_grading_refuses_to_start_without_the_sandbox(tmp_path, monkeypatch):
    course = Course(tmp_path, [A1])
    course.release(A1)
    course.submit("good", A1, solved_notebook(A1))
    env = nbgrader_env(course.root)
    env["PATH"] = str(BIN)  # no bwrap on PATH: the sandbox cannot start
    env.pop(sandbox.UNSAFE_ENV, None)
    run = subprocess.run([str(BIN / "nbgrader"), "autograde", A1], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode != 0
    assert "refusing to autograde" in run.stderr and "bubblewrap" in run.stderr
    assert sandbox.UNSAFE_ENV in run.stderr
    assert not (course.root / "autograder" / "autograded" / "good" / A1).exists()
    env[sandbox.UNSAFE_ENV] = "1"  # the explicit, documented way out
    run = subprocess.run([str(BIN / "nbgrader"), "autograde", A1], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WITHOUT the sandbox" in run.stderr
    assert course.export()[("good", A1)] == 100.0


def test_require_sandbox_explains_itself(monkeypatch):
    monkeypatch.setattr(sandbox, "probe", lambda: "no namespaces here")
    monkeypatch.delenv(sandbox.UNSAFE_ENV, raising=False)
    with pytest.raises(sandbox.SandboxUnavailable, match="no namespaces here"):
        sandbox.require_sandbox()
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")
    assert sandbox.require_sandbox() is False


def test_limits_can_be_changed_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_LIMIT_CELL_SECONDS", "7")
    monkeypatch.setenv("CNNCOURSE_LIMIT_MEMORY_MB", "1000")
    limits = sandbox.Limits.from_env(processes=10)
    assert (limits.cell_seconds, limits.memory_mb, limits.processes) == (7.0, 1000, 10)
    assert limits.rlimits()["RLIMIT_AS"] == (1000 * 2**20, 1000 * 2**20)
