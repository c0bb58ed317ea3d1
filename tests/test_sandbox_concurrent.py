"""Two graders at once do not interfere: two courses graded at the same time, one with
``nbgrader autograde`` and one with the parallel grader, each with its own TMPDIR (so
nothing machine-wide may hide under it: sandbox uids, cgroups, spool folders). Each gets
the grades it gets alone, the hostile ``memory_touch`` submission is stopped by the
sandbox's memory limit while the other grader's kernel runs, and neither leaves a server,
spool folder or cgroup behind.

Course A (``nbgrader autograde``, ``CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB=1024``): ``good`` and
``memory_touch`` (2.25 GiB written), which prints the time just before its first call.
Course B (``python -m cnncourse.autograde --jobs 1``): ``a_slow`` (correct, but one of its
cells waits until course A's run is over -- the test then puts a file ``go`` in the folder
that course B's sandbox shows, read-only, as MNIST's -- for at most ``WAIT`` seconds; it
prints the time before and after), ``good`` and ``wrong``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import (BIN, REPO_ROOT, Course, _a1_wrong, failing_parts,
                                       nbgrader_env, solution_namespace, solved_notebook)
from cnncourse.sandbox import cgroup, probe
from hostile.corpus import Context, Layout
from sandbox_kernel import grader_traces, left_behind

A1 = "a1_conv_forward"
WAIT = 90  # under the default cell limit (120 s): a_slow keeps its marks even if it times out


def _append(notebook, grade_id: str, code: str):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source += "\n" + code + "\n"
            return notebook
    raise LookupError(grade_id)


def _cell_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(A1, A1, student)
        return {g.name: (g.score or 0.0) for g in nb.grades}


def _printed(course: Course, student: str) -> str:
    path = course.root / "autograder" / "autograded" / student / A1 / f"{A1}.ipynb"
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", ""))
                     for c in nbformat.read(path, 4).cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    assert probe() is None, f"the sandbox must work on the test machine: {probe()}"
    from hostile.corpus import CORPUS
    touch = {h.name: h for h in CORPUS}.get("memory_touch")
    a = Course(tmp_path_factory.mktemp("course_a"), [A1])
    b = Course(tmp_path_factory.mktemp("course_b"), [A1])
    a.release(A1)
    b.release(A1)
    a.submit("good", A1, solved_notebook(A1))
    if touch is not None:  # the machine can make memory cgroups
        hog = touch.build(Context(a.root, 0))
        a.submit("memory_touch", A1, _append(hog, "conv2d_naive",
                                             "print('T_TOUCH', __import__('time').time())"))
    b.submit("a_slow", A1, _append(solved_notebook(A1), "conv_output_size",
                                   "import os as _os, time as _t\nprint('T_SLOW0', _t.time())\n"
                                   "_go = _os.path.join(_os.environ['CNNCOURSE_MNIST_DIR'], 'go')\n"
                                   f"_end = _t.time() + {WAIT}\n"
                                   "while not _os.path.exists(_go) and _t.time() < _end:\n"
                                   "    _t.sleep(0.05)\n"
                                   "print('T_SLOW1', _t.time())"))
    b.submit("good", A1, solved_notebook(A1))
    b.submit("wrong", A1, solved_notebook(A1, edit=_a1_wrong))

    env_a = nbgrader_env(a.root)
    env_a.update(TMPDIR=str(tmp_path_factory.mktemp("tmp_a")),
                 CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB="1024")
    signal = tmp_path_factory.mktemp("signal_b")  # bound into B's sandbox where MNIST goes
    signal.chmod(0o755)  # readable by the sandbox's uid
    env_b = nbgrader_env(b.root)
    env_b.update(TMPDIR=str(tmp_path_factory.mktemp("tmp_b")), CNNCOURSE_MNIST_DIR=str(signal))
    before = grader_traces()
    started = time.time()
    run_b = subprocess.Popen([sys.executable, "-m", "cnncourse.autograde", A1, "--jobs", "1"],
                             cwd=REPO_ROOT, env=env_b, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    # meanwhile, what "wrong" gets alone (its checks run in this process, without nbgrader);
    # course A starts after it: a head start for a_slow, which must be waiting when A's
    # memory_touch runs (its wait ends only once A is done, whenever that is)
    namespace = solution_namespace(A1)
    exec(_a1_wrong("conv2d_naive", "").strip(), namespace)  # noqa: S102 - the mutant, ours
    wrong_fails = failing_parts(A1, namespace)
    run_a = subprocess.Popen([str(BIN / "nbgrader"), "autograde", A1], cwd=REPO_ROOT, env=env_a,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out_a, err_a = run_a.communicate(timeout=1500)
        a_done = time.time()
    finally:  # a_slow's wait ends
        (signal / "go").write_text("course A is graded")
    out_b, err_b = run_b.communicate(timeout=1500)
    leaks = left_behind(before)
    assert run_a.returncode == 0, err_a[-3000:]
    assert run_b.returncode == 0, out_b[-2000:] + err_b[-3000:]
    return dict(a=a, b=b, err_a=err_a, out_b=out_b, started=started, a_done=a_done,
                wrong_fails=wrong_fails, leaks=leaks, touch=touch)


def test_each_course_gets_the_grades_it_gets_alone(two_runs):
    a, b = two_runs["a"], two_runs["b"]
    points = Layout.of_release().points
    assert _cell_scores(a, "good") == points
    assert _cell_scores(b, "good") == points
    assert _cell_scores(b, "a_slow") == points, _printed(b, "a_slow")[-2000:]
    expected = {gid: (0.0 if gid in two_runs["wrong_fails"] else pts) for gid, pts in points.items()}
    assert _cell_scores(b, "wrong") == expected


def test_memory_touch_is_stopped_while_the_other_grader_runs(two_runs):
    a, b, touch = two_runs["a"], two_runs["b"], two_runs["touch"]
    if touch is None:  # no memory cgroups here: the grader must have said so
        assert cgroup.base() is None
        assert "cannot be enforced" in two_runs["err_a"]
        assert "cannot be enforced" in two_runs["out_b"]
        return
    layout = Layout.of_release()
    failing = touch.fails(layout)
    expected = {gid: (0.0 if gid in failing else pts) for gid, pts in layout.points.items()}
    text = _printed(a, "memory_touch")
    assert _cell_scores(a, "memory_touch") == expected, text[-3000:]
    assert "sandbox's memory limit" in text and "1024 MiB" in text, text[-3000:]
    # it ran while course B's slow kernel was running
    slow = _printed(b, "a_slow")
    t_touch = float(re.search(r"T_TOUCH ([\d.]+)", text).group(1))
    t0 = float(re.search(r"T_SLOW0 ([\d.]+)", slow).group(1))
    t1 = float(re.search(r"T_SLOW1 ([\d.]+)", slow).group(1))
    assert t0 < t_touch < t1, (t0, t_touch, t1)
    assert t1 < t0 + WAIT, "a_slow's wait ran out instead of ending with course A's run"


def test_neither_leaves_a_server_spool_or_cgroup_behind(two_runs):
    assert two_runs["leaks"] == []
