"""The sandbox's memory cgroup (cnncourse.sandbox.cgroup): all the processes of one
submission together stay under ``Limits.sandbox_memory_mb``, with warm and with cold
kernels; past it the OOM killer ends the sandbox's own processes, the grader counts it,
and the next kernel starts clean. (The hostile corpus has the nbgrader side: the kernel
killed, the message naming the limit.)"""

from __future__ import annotations

import os

import pytest

from cnncourse.sandbox import cgroup, probe
from sandbox_kernel import run_in_kernel

pytestmark = pytest.mark.skipif(cgroup.base() is None,
                                reason="memory cgroups cannot be made here (not root, or no "
                                       "writable memory controller): README, known limits")

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


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_the_processes_of_a_sandbox_share_one_memory_limit(tmp_path, monkeypatch, warm):
    assert probe() is None, probe()
    monkeypatch.setenv("CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB", "1024")
    hog = run_in_kernel(FORK_AND_TOUCH, str(tmp_path), warm=warm)
    assert hog.km.oom_kills() >= 1, f"1.6 GiB at once under a 1 GiB limit: {hog.info}"
    if not hog.died:
        assert hog.info["codes"].count(0) < 4 and -9 in hog.info["codes"], hog.info
    monkeypatch.setenv("CNNCOURSE_LIMIT_SANDBOX_MEMORY_MB", "3072")
    after = run_in_kernel(FORK_AND_TOUCH, str(tmp_path), warm=warm)
    assert not after.died and after.info["codes"] == [0, 0, 0, 0], after.info
    assert after.km.oom_kills() == 0


def test_cgroups_are_removed_with_their_kernel(tmp_path):
    folder, _ = cgroup.base()
    before = {n for n in os.listdir(folder) if n.startswith(f"cnncourse-{os.getpid()}-kernel-")}
    run_in_kernel("print(1)", str(tmp_path), warm=False)
    after = {n for n in os.listdir(folder) if n.startswith(f"cnncourse-{os.getpid()}-kernel-")}
    assert after == before
