"""Nothing outlives its grading run: the formgrader's Autograde button runs nbgrader's
``NbGraderAPI.autograde`` inside a long-lived Jupyter server process; once it returns, the
warm-kernel server it started (a root process of ~650 MB), its spool folder and its memory
cgroups must go -- at the latest ``IDLE_SECONDS`` later -- not stay until the Jupyter
server stops. (The parallel grader and ``nbgrader autograde``: test_sandbox_parallel.py
and test_sandbox_concurrent.py.)"""

from __future__ import annotations

import os
import time

import pytest

from cnncourse.nbgrader_course import BIN, REPO_ROOT, Course, solved_notebook
from cnncourse.sandbox import is_root, probe
from cnncourse.sandbox.zygote import IDLE_SECONDS, Zygote
from sandbox_kernel import grader_traces

A1 = "a1_conv_forward"

pytestmark = pytest.mark.skipif(not is_root(), reason="warm kernels are used when grading as root")


def test_the_formgraders_autograde_leaves_no_server_behind(tmp_path, monkeypatch):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    assert probe() is None, probe()
    course = Course(tmp_path, [A1])
    course.release(A1)
    course.submit("good", A1, solved_notebook(A1))
    monkeypatch.setenv("CNNCOURSE_COURSE_ROOT", str(course.root))
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("CNNCOURSE_WARM_KERNELS", raising=False)
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(Zygote, "_shared", None)  # this test's own server, not another test's
    monkeypatch.setattr(Zygote, "_failed", None)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO_ROOT)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    before = grader_traces()

    result = api.autograde(A1, "good", force=True, create=True)
    returned = time.monotonic()
    assert result["success"], result
    assert "warm-kernel server" in result["log"], result["log"][-2000:]
    mine = sorted(p for p in grader_traces() - before if f"-{os.getpid()}-" in p)
    server = Zygote._shared
    assert server is not None and server.proc.poll() is None and mine, \
        "the warm server runs right after the run (kept warm for a next one)"

    while time.monotonic() < returned + IDLE_SECONDS + 10:
        if server.proc.poll() is not None and not any(os.path.exists(p) for p in mine):
            break
        time.sleep(0.2)
    gone = time.monotonic() - returned
    assert server.proc.poll() is not None, f"the warm server still runs {gone:.0f} s after the run"
    assert not [p for p in mine if os.path.exists(p)], "its spool folder or cgroups are left"
    assert Zygote._shared is None
    assert gone < IDLE_SECONDS + 10
    assert course.export()[("good", A1)] == 100.0


# A slot's uid is handed on only once it owns no process, zombies included: RLIMIT_NPROC
# counts them, per uid, machine-wide, and a kernel that gets a uid still at its limit (a
# fork bomb's 64 processes not yet reaped) dies before it answers.
def test_kill_uid_waits_for_zombies_to_be_reaped():
    import threading

    from cnncourse.sandbox.manager import _kill_uid, _uid_processes
    uid = 61999
    pids = []
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            os.setresuid(uid, uid, uid)
            time.sleep(600)
            os._exit(0)
        pids.append(pid)
    deadline = time.monotonic() + 10
    while len(_uid_processes(uid)) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Killed at once, they stay zombies (still counted against the uid) until reaped.
    assert not _kill_uid(uid, wait=0.3), "the uid still owns its unreaped zombies"
    assert sorted(_uid_processes(uid)) == sorted(pids)

    def reap_later():
        time.sleep(0.5)
        for pid in pids:
            os.waitpid(pid, 0)
    reaper = threading.Thread(target=reap_later)
    start = time.monotonic()
    reaper.start()
    assert _kill_uid(uid, wait=10)
    assert time.monotonic() - start >= 0.4
    reaper.join()
    assert _uid_processes(uid) == []
