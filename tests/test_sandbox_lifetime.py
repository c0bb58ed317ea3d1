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


# A kernel that leaves many processes behind (a fork bomb: copies of
# the kernel up to its RLIMIT_NPROC of 64): once the kernel manager has stopped it, its sandbox uid
# owns nothing at all, zombies included, before the slot goes to the next kernel. Handed
# on earlier, the next kernel (in any grader on the machine) starts with a uid already at
# its process limit and dies before it answers ("Kernel died before replying to
# kernel_info": a CI run where the hostile corpus graded beside the assignments' course).
MANY_CHILDREN = """
import json, os, time
children = 0
try:
    for _ in range(300):  # copies of the kernel (torch loaded), up to RLIMIT_NPROC
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError:
    pass
print(json.dumps({"uid": os.getuid(), "full": children > 20}))
"""


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_slot_is_handed_on_only_once_its_uid_owns_nothing(tmp_path, warm):
    from cnncourse.sandbox.manager import _uid_processes
    from sandbox_kernel import run_in_kernel

    run = run_in_kernel(MANY_CHILDREN, str(tmp_path), warm=warm)
    assert run.info.get("full"), run.log
    uid = run.info["uid"]
    assert uid >= run.km.uid_base, run.info
    assert _uid_processes(uid) == [], f"uid {uid} still owns processes after its kernel stopped"
    again = run_in_kernel(MANY_CHILDREN, str(tmp_path), warm=warm)  # same slot, full limit
    assert again.info == run.info, again.log


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
