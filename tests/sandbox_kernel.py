"""Run a snippet in one sandboxed kernel, as the grader starts it (for the sandbox tests)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from queue import Empty

from cnncourse.sandbox.manager import SandboxKernelManager


@dataclass
class KernelRun:
    info: dict                  # the JSON the snippet printed last ({} if none)
    km: SandboxKernelManager    # stopped by now; exit_status(), oom_kills(), kernel_log()
    died: bool                  # the kernel ended before the snippet finished
    log: str                    # the kernel's stdout/stderr outside cells (its last 4000 characters)


async def _run(code: str, submission: str, warm: bool, timeout: float) -> KernelRun:
    km = SandboxKernelManager(kernel_name="python3")
    km.warm = warm
    await km.start_kernel(cwd=submission)
    kc = km.client()
    kc.start_channels()
    out, died = [], False
    try:
        await kc.wait_for_ready(timeout=timeout)
        msg_id = kc.execute(code)
        end = time.monotonic() + timeout
        while True:
            if time.monotonic() > end:
                raise TimeoutError(f"the snippet ran past {timeout} s")
            try:
                msg = await kc.get_iopub_msg(timeout=0.5)
            except (Empty, asyncio.TimeoutError):
                if not await km.is_alive():
                    died = True
                    break
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        log = km.kernel_log()  # before the shutdown removes it
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    lines = "".join(out).strip().splitlines()
    return KernelRun(json.loads(lines[-1]) if lines else {}, km, died, log)


def run_in_kernel(code: str, submission: str, warm: bool = True, timeout: float = 60) -> KernelRun:
    """Start a kernel (warm: forked by the server; else cold, its own bwrap) in the sandbox
    on the folder ``submission``, run ``code``, stop the kernel."""
    return asyncio.run(_run(code, submission, warm, timeout))


def grader_traces() -> set[str]:
    """The warm servers' spool folders and the sandbox cgroups on this machine now."""
    import glob
    import os

    from cnncourse.sandbox import cgroup
    from cnncourse.sandbox.zygote import SPOOL_BASE
    found = set(glob.glob(os.path.join(SPOOL_BASE, "cnncs-spool-*")))
    if cgroup.base() is not None:
        found |= set(glob.glob(os.path.join(cgroup.base()[0], "cnncourse-*")))
    return found


def left_behind(before: set[str]) -> list[str]:
    """Traces that appeared since ``before`` and whose grader process is gone: what a run
    left behind (``cnncs-spool-PID-*``, ``cnncourse-PID-*``)."""
    import os
    left = []
    for path in sorted(grader_traces() - before):
        try:
            pid = int(os.path.basename(path).split("-")[2 if "spool" in path else 1])
            os.kill(pid, 0)
        except ProcessLookupError:
            left.append(path)
        except (ValueError, IndexError, PermissionError):
            pass
    return left
