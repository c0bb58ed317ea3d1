"""Warm kernels (cnncourse.sandbox.zygote): forked from one server, yet each as isolated
as a cold one -- its own uid, no capabilities, its own PID namespace, fresh tmpfs, no
network -- and gone, with every process it started, when the grader stops it.

The hostile corpus (test_sandbox_hostile.py) runs through warm kernels too, since they are
the default; here are the properties that are specific to forking them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from cnncourse.nbgrader_course import A1_SUBMISSION_MIX, REPO_ROOT, Course, solved_notebook
from cnncourse.sandbox import Limits, is_root, probe
from cnncourse.sandbox.manager import SandboxKernelManager, warm_server
from cnncourse.sandbox.zygote import Zygote
from sandbox_kernel import run_in_kernel

pytestmark = pytest.mark.skipif(not is_root(), reason="warm kernels are used when grading as root")


@pytest.fixture(scope="module", autouse=True)
def sandbox_works():
    assert probe() is None, f"the sandbox must work on the test machine: {probe()}"


def run(code, submission, **kw):
    result = run_in_kernel(code, submission, **kw)
    assert not result.died, result.log
    return result.info, result.km


PROBE = r"""
import json, os, socket
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
def can_connect(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port)); return True
    except OSError:
        return False
def listable(path):
    try:
        os.listdir(path); return True
    except OSError:
        return False
seen = {}
for folder in ("/tmp", os.path.expanduser("~"), "/opt/cnncourse-lib/data/cache"):
    seen[folder] = sorted(os.listdir(folder))
    open(os.path.join(folder, "left-by-the-previous-kernel"), "w").write("secret")
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
    "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "no_new_privs": status["NoNewPrivs"].strip(),
    "cwd": os.getcwd(), "files": sorted(os.listdir(".")), "seen": seen,
    "pids": pids, "loopback": can_connect(PORT),
    "repo": os.path.exists(REPO), "spool_listable": listable(SPOOL),
    "torch_loaded": __import__("sys").modules.get("torch") is not None,
}))
"""


def test_warm_kernels_are_isolated_like_cold_ones(tmp_path):
    (tmp_path / "data.txt").write_text("the student's own file")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    zygote = warm_server(Limits())
    assert zygote is not None, f"the warm-kernel server did not start: {Zygote._failed}"
    code = (f"PORT = {server.getsockname()[1]}; REPO = {str(REPO_ROOT / 'solutions')!r}; "
            f"SPOOL = {zygote.spool!r}\n" + PROBE)
    try:
        first, _ = run(code, str(tmp_path))
        second, _ = run(code, str(tmp_path))
    finally:
        server.close()
    for info in (first, second):
        assert 61000 <= info["uid"] < 61256 and info["gid"] == info["uid"] and info["groups"] == []
        assert set(info["caps"].values()) == {"0000000000000000"}, info["caps"]
        assert info["no_new_privs"] == "1"
        assert info["pid"] == 2, "the kernel is PID 2 of its own namespace, under its init"
        assert info["pids"] == [1, 2], f"the kernel sees other processes: {info['pids']}"
        assert info["files"] == ["data.txt"] and info["cwd"] == "/home/student/work"
        assert not info["loopback"], "a warm kernel reached the grader's loopback"
        assert not info["repo"], "a warm kernel sees solutions/"
        assert not info["spool_listable"], "a warm kernel lists the server's spool folder"
        assert info["torch_loaded"], "torch is imported before the student's code runs"
    # nothing the first kernel wrote is there for the second
    assert all("left-by-the-previous-kernel" not in names for names in second["seen"].values()), second


def test_runtime_folders_under_tmp_stay_visible_under_the_fresh_tmp(tmp_path, monkeypatch):
    """A fresh clone may have its virtual environment under /tmp: each kernel's new /tmp
    must keep the jail's read-only binds below it."""
    import cnncourse.sandbox as sandbox
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "marker.txt").write_text("from the runtime")
    submission = tmp_path / "submission"
    submission.mkdir()
    assert str(runtime).startswith("/tmp/")
    binds = sandbox.runtime_binds()
    monkeypatch.setattr(sandbox, "runtime_binds", lambda: binds + [(str(runtime), str(runtime))])
    monkeypatch.setattr(Zygote, "_shared", None)
    monkeypatch.setattr(Zygote, "_failed", None)
    marker = str(runtime / "marker.txt")
    code = ("import json, os\n"
            f"text = open({marker!r}).read()\n"
            "try:\n"
            f"    open({marker!r}, 'a').write('x'); writable = True\n"
            "except OSError:\n"
            "    writable = False\n"
            "print(json.dumps({'text': text, 'writable': writable}))")
    try:
        info, _ = run(code, str(submission))
        assert Zygote._shared is not None, Zygote._failed
    finally:
        if Zygote._shared is not None:
            Zygote._shared.close()
    assert info == {"text": "from the runtime", "writable": False}


def test_stopping_a_warm_kernel_ends_every_process_it_started(tmp_path):
    code = r"""
import json, os, subprocess, time
# a daemon that outlives its parent: double fork, own session
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
time.sleep(0.3)
print(json.dumps({"uid": os.getuid()}))
"""
    info, _ = run(code, str(tmp_path))
    uid = info["uid"]
    end = time.monotonic() + 10
    while time.monotonic() < end:
        left = [p for p in os.listdir("/proc") if p.isdigit() and _owner(p) == uid]
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"processes of uid {uid} outlived their kernel: {left}"


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_a_warm_kernels_exit_status_reaches_the_grader(tmp_path):
    async def go():
        km = SandboxKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        kc.execute("import os; os._exit(3)")
        end = time.monotonic() + 20
        while await km.is_alive() and time.monotonic() < end:
            await asyncio.sleep(0.05)
        status = km.exit_status()
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        return status
    assert asyncio.run(go()) == 3


def test_without_a_server_kernels_start_cold(tmp_path, monkeypatch):
    """A server that cannot start (here: an unknown capability for bwrap) is not fatal."""
    monkeypatch.setattr(Zygote, "_shared", None)
    monkeypatch.setattr(Zygote, "_failed", None)
    monkeypatch.setattr("cnncourse.sandbox.zygote.CAPS", ["CAP_NOT_A_CAPABILITY"])
    assert warm_server(Limits()) is None and "did not start" in Zygote._failed
    info, _ = run("import json, os, sys; print(json.dumps({'uid': os.getuid(), "
                  "'matplotlib_preloaded': 'matplotlib' in sys.modules}))", str(tmp_path))
    assert info["uid"] >= 61000
    assert not info["matplotlib_preloaded"], "a kernel forked from the server, not a cold one"


def test_warm_and_cold_grading_agree(tmp_path_factory, monkeypatch):
    """The same submissions graded with warm kernels and with CNNCOURSE_WARM_KERNELS=0: a
    right one, a wrong one and one that raises (the mix's fourth, a syntax error, would add
    a cold start and no other path: the kernel reports it as it reports the exception)."""
    a = "a1_conv_forward"
    grades = {}
    for mode in ("1", "0"):
        course = Course(tmp_path_factory.mktemp(f"warm{mode}"), [a])
        course.release(a)
        for kind, edit in A1_SUBMISSION_MIX:
            if kind != "syntax":
                course.submit(kind, a, solved_notebook(a, edit=edit))
        monkeypatch.setenv("CNNCOURSE_WARM_KERNELS", mode)
        log = course.autograde(a).stderr
        assert ("warm-kernel server" in log) == (mode == "1"), log[-3000:]
        grades[mode] = course.export()
    assert grades["1"] == grades["0"]
    assert grades["1"][("good", a)] == 100 and grades["1"][("wrong", a)] < 100
