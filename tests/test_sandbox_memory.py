"""The sandbox's memory cgroup (cnncourse.sandbox.cgroup): all the processes of one
submission together stay under ``Limits.sandbox_memory_mb``, with warm and with cold
kernels; past it the OOM killer ends the sandbox's own processes, the grader counts it,
and the next kernel starts clean. A warm kernel's limit counts only its own memory (a
cgroup of its own), whatever the server or anyone else was charged. Where this machine
cannot make memory cgroups, the tests assert that the grader says so instead; the cgroup
v2 and "no controller" cases are checked on a fake cgroup mount point.
(The hostile corpus has the nbgrader side: the kernel killed, the message naming the limit.)"""

from __future__ import annotations

import glob
import json
import logging
import os
import sys

import nbformat
import pytest

from cnncourse.sandbox import Limits, cgroup, is_root, probe
from cnncourse.sandbox.zygote import Zygote
from sandbox_kernel import run_in_kernel

# Four children, each writing 400 MiB and holding it for two seconds: 1.6 GiB at once,
# each far under the per-process address-space limit.
FORK_AND_TOUCH = r"""
import json, os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(400 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(2)
        os._exit(0)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(json.dumps({"codes": codes}))
"""


def cgroups_here() -> bool:
    """What this machine supports: True when the grader can make memory cgroups; else the
    grader's warning must say why (asserted here, so a machine without them is checked too)."""
    if cgroup.base() is not None:
        return True
    warning = cgroup.memory_limit_warning(Limits())
    assert warning and "cannot be enforced" in warning and cgroup.unavailable() in warning
    return False


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_the_processes_of_a_sandbox_share_one_memory_limit(tmp_path, monkeypatch, warm):
    assert probe() is None, probe()
    if not cgroups_here():
        return
    monkeypatch.setenv("CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB", "1024")
    hog = run_in_kernel(FORK_AND_TOUCH, str(tmp_path), warm=warm)
    assert hog.km.oom_kills() >= 1, f"1.6 GiB at once under a 1 GiB limit: {hog.info}"
    if not hog.died:
        assert hog.info["codes"].count(0) < 4 and -9 in hog.info["codes"], hog.info
    monkeypatch.setenv("CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB", "3072")
    after = run_in_kernel(FORK_AND_TOUCH, str(tmp_path), warm=warm)
    assert not after.died and after.info["codes"] == [0, 0, 0, 0], after.info
    assert after.km.oom_kills() == 0


def _evict_from_page_cache(folders) -> None:
    """As on a fresh clone: the runtime's libraries not in the page cache (pages that some
    running process maps stay), so the next reader -- the warm server -- is charged for them."""
    for folder in folders:
        for path in glob.glob(os.path.join(folder, "**", "*.so*"), recursive=True):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


ALLOCATE = r"""
import json, torch
cgroup_line = [l for l in open("/proc/self/cgroup").read().splitlines()
               if ":memory:" in l or l.startswith("0::")]
hog = [torch.ones(2**24, dtype=torch.float32) for _ in range(BLOCKS)]  # 64 MiB each, written
print(json.dumps({"cgroup": cgroup_line, "mib": 64 * len(hog)}))
"""


@pytest.mark.skipif(not is_root(), reason="warm kernels are used when grading as root")
def test_a_warm_kernel_is_limited_to_its_own_memory_whatever_the_server_was_charged(
        tmp_path, monkeypatch):
    """The limit of a warm kernel must not be "what the server held at start-up + the
    limit": on cgroup v1 that start-up figure includes page cache charged to whichever
    cgroup first read torch's libraries, so the limit moved with what else ran. Here the
    libraries are evicted first (a fresh clone), so the server is charged for reading them."""
    assert probe() is None, probe()
    if not cgroups_here():
        return
    import torch
    _evict_from_page_cache([os.path.dirname(torch.__file__), sys.prefix])
    monkeypatch.setattr(Zygote, "_shared", None)
    monkeypatch.setattr(Zygote, "_failed", None)
    monkeypatch.setenv("CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB", "1024")
    try:
        within = run_in_kernel("BLOCKS = 12\n" + ALLOCATE, str(tmp_path))  # 768 MiB
        over = run_in_kernel("BLOCKS = 18\n" + ALLOCATE, str(tmp_path))  # 1152 MiB
    finally:
        if Zygote._shared is not None:
            Zygote._shared.close()
    assert not within.died and within.info["mib"] == 768, within.log
    assert within.km.oom_kills() == 0
    # its own cgroup (seen from the server's cgroup namespace), not the server's
    assert any("/kernel-" in line for line in within.info["cgroup"]), within.info
    assert over.km.oom_kills() >= 1 and over.died, \
        f"1152 MiB written under a 1024 MiB limit: {over.info} {over.log}"


def test_cgroups_are_removed_with_their_kernel(tmp_path):
    if not cgroups_here():
        return
    folder, _ = cgroup.base()
    run_in_kernel("print(1)", str(tmp_path), warm=False)
    assert not glob.glob(os.path.join(folder, f"cnncourse-{os.getpid()}-kernel-*"))
    if is_root():  # a warm kernel's cgroup goes with it; the server's group stays while used
        held = Zygote.shared(__import__("cnncourse.sandbox.manager", fromlist=["x"]).jail_env(),
                             Limits())
        try:
            run_in_kernel("print(1)", str(tmp_path), warm=True)
            assert held.group is not None and os.path.isdir(held.group.path)
            assert not glob.glob(os.path.join(held.group.path, "kernel-*"))
        finally:
            held.release()


# -- where the limit cannot be enforced, grading says so ---------------------------------------
def test_no_memory_controller_is_named_in_the_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(cgroup.ROOT_ENV, str(tmp_path / "no-cgroups-here"))
    assert cgroup.base() is None
    why = cgroup.unavailable()
    if is_root():
        assert "no cgroup memory controller is mounted" in why and "no-cgroups-here" in why
    warning = cgroup.memory_limit_warning(Limits(sandbox_memory_mb=777, memory_mb=555))
    assert "777 MiB" in warning and "cannot be enforced" in warning and why in warning
    assert "555 MiB" in warning  # what still holds
    assert cgroup.MemoryCgroup.create("cnncourse-test", 100) is None


def test_cgroup_v2_without_the_memory_controller_is_named_in_the_warning(tmp_path, monkeypatch):
    """A cgroup v2 mount whose memory controller is not delegated to the grader's cgroup
    (a plain folder stands for it: a child made there has no memory.max)."""
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")
    monkeypatch.setenv(cgroup.ROOT_ENV, str(tmp_path))
    assert cgroup.base() is None
    if is_root():
        assert "cgroup v2" in cgroup.unavailable() and "not enabled" in cgroup.unavailable()
    assert "cannot be enforced" in cgroup.memory_limit_warning(Limits())


def test_the_grader_states_once_which_limit_it_cannot_enforce(tmp_path, monkeypatch, caplog):
    """SandboxedExecute warns on its log, once per process, before the first submission."""
    from cnncourse.sandbox.execute import SandboxedExecute

    assert probe() is None, probe()
    monkeypatch.setenv(cgroup.ROOT_ENV, str(tmp_path / "no-cgroups-here"))
    monkeypatch.setattr(SandboxedExecute, "_warned", False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        ex = SandboxedExecute(trusted_verdicts=False)
        ex.log = logging.getLogger("test-sandbox-warning")
        out, _ = ex.preprocess(nbformat.from_dict(json.loads(json.dumps(nb))),
                               {"metadata": {"path": str(tmp_path)}})
        assert out.cells[0].outputs[0]["text"] == "42\n"
    said = [r.getMessage() for r in caplog.records if "cannot be enforced" in r.getMessage()]
    assert len(said) == 1, said
    assert "no-cgroups-here" in said[0] or not is_root()
