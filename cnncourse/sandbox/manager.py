"""A jupyter_client kernel manager that starts the kernel inside the sandbox."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import typing as t

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Bool, Integer

from cnncourse.i18n import get_language
from cnncourse.sandbox import (DATA_MOUNT, HOME, LIB_MOUNT, SUBMISSION, WORK, Limits,
                               bwrap_command, is_root, runtime_binds)
from cnncourse.sandbox.cgroup import MemoryCgroup, enter_then_exec
from cnncourse.sandbox.cgroup import base as cgroup_base
from cnncourse.sandbox.cgroup import name as cgroup_name
from cnncourse.sandbox.zygote import Zygote, relay_command

# Slots (sandbox uids) are machine-wide: every grader on the machine, whatever its TMPDIR,
# locks them in the same root-only folder (the first of these that can be made).
SLOT_DIRS = ("/run/cnncourse/slots", "/var/lib/cnncourse/slots")
WARM_ENV = "CNNCOURSE_WARM_KERNELS"


def base_env() -> dict[str, str]:
    """Environment of every kernel, sandboxed or not."""
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "NBGRADER_EXECUTION": "autograde",
        "CNNCOURSE_DEVICE": os.environ.get("CNNCOURSE_DEVICE", "cpu"),
        # The grader's language (cnncourse.i18n): the messages written in the kernel (a
        # forbidden call's, the case names it records) match those the grader replays.
        "CNNCOURSE_LANG": get_language(),
    }


def jail_env() -> dict[str, str]:
    """Environment of a sandboxed kernel (and of the warm-kernel server)."""
    env = base_env()
    env.update(HOME=HOME, TMPDIR="/tmp", PYTHONPATH=LIB_MOUNT,
               MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR=HOME + "/.ipython",
               JUPYTER_RUNTIME_DIR="/tmp/jupyter-runtime",
               JUPYTER_DATA_DIR=HOME + "/.local/share/jupyter",
               JUPYTER_CONFIG_DIR=HOME + "/.jupyter", TORCH_HOME="/tmp/torch")
    if any(dst == f"{DATA_MOUNT}/mnist" for _, dst in runtime_binds()):
        env["CNNCOURSE_MNIST_DIR"] = f"{DATA_MOUNT}/mnist"
    return env


def warm_server(limits: Limits) -> Zygote | None:
    """This process's warm-kernel server, or None: not root, turned off with
    CNNCOURSE_WARM_KERNELS=0, or it cannot start here (kernels then start cold). The caller
    holds it until ``release()`` (then it stops once idle: Zygote.release)."""
    if not is_root() or os.environ.get(WARM_ENV, "1") == "0":
        return None
    return Zygote.shared(jail_env(), limits)


def _copy_tree(src: str, dst: str, uid: int | None) -> None:
    """Copy the submission folder for a warm kernel (links stay links: they resolve in the
    jail), owned by the kernel's uid; what cannot be copied is left out."""
    try:
        shutil.copytree(src, dst, symlinks=True)
    except shutil.Error:  # unreadable or special files: the rest is copied
        pass
    if uid is not None:
        for root, dirs, files in os.walk(dst):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, uid, uid, follow_symlinks=False)


def slot_dir() -> str:
    """The machine-wide folder of slot locks (root only, mode 0700)."""
    errors = []
    for folder in SLOT_DIRS:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if os.stat(folder).st_uid != 0 or not os.access(folder, os.W_OK):
                raise PermissionError(f"{folder} is not root's")
            return folder
        except OSError as exc:
            errors.append(f"{folder}: {exc}")
    raise RuntimeError(f"no folder for the sandbox slots: {'; '.join(errors)}")


class _Slot:
    """A sandbox uid held for the kernel's lifetime (flock on a file in :func:`slot_dir`,
    shared by every grader on the machine; freed if we die)."""

    def __init__(self, base: int, count: int = 256):
        folder = slot_dir()
        for k in range(count):
            fd = os.open(os.path.join(folder, f"slot-{base + k}.lock"),
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd, self.uid = fd, base + k
            return
        raise RuntimeError(f"all {count} sandbox slots are busy")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _uid_processes(uid: int) -> list[int]:
    """Every process (zombies included) owned by ``uid``."""
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(pid)
        except OSError:
            pass
    return found


def _kill_uid(uid: int, wait: float = 10.0) -> bool:
    """Kill what is left of a sandbox uid and wait until the uid owns no process at all,
    zombies included; False if some are still there after ``wait`` seconds.

    Normally nothing is left (the PID namespace died with the kernel), but the namespace's
    processes take a moment to exit and be reaped. RLIMIT_NPROC counts them all, per uid,
    machine-wide: a slot handed on before they are gone gives the next kernel a uid that is
    already at its process limit (a fork bomb leaves 64), and that kernel dies at start-up
    ("can't start new thread")."""
    end = time.monotonic() + wait
    while True:
        pids = _uid_processes(uid)
        if not pids:
            return True
        if time.monotonic() > end:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


class SandboxKernelManager(AsyncKernelManager):
    """Starts ``cnncourse.sandbox.launch`` in bwrap, over ipc sockets in a private folder."""

    limits = Any(None, help="cnncourse.sandbox.Limits; default: Limits.from_env()")
    sandboxed = Bool(True, help="False: run unsandboxed (CNNCOURSE_UNSAFE_GRADING=1)")
    uid_base = Integer(61000, help="first uid of the sandbox slots (when run as root)").tag(config=True)
    records_dir = Any(None, help="folder where run_cases records the student's results")
    warm = Bool(True, help="fork the kernel from the warm-kernel server (root only; "
                           "cnncourse.sandbox.zygote) instead of starting Python anew")

    _slot = None
    _zygote = None
    _staging = None
    _log = None
    _cgroup = None
    _oom_base = 0
    _oom_final = 0
    _final_log = ""

    def _limits(self) -> Limits:
        return self.limits or Limits.from_env()

    async def _async_pre_start_kernel(self, **kw: t.Any):
        try:
            return await self._pre_start(**kw)
        except BaseException:
            self._release()
            raise

    async def _pre_start(self, **kw: t.Any):
        limits = self._limits()
        submission = os.path.abspath(kw.pop("cwd", None) or os.getcwd())
        zygote = warm_server(limits) if self.sandboxed and self.warm and is_root() else None
        self._zygote = zygote  # held (not stopped when idle) until the kernel is gone
        self._staging = tempfile.mkdtemp(prefix="cnncs-", dir=zygote.spool if zygote else None)
        uid = None
        if self.sandboxed and is_root():
            self._slot = _Slot(self.uid_base)
            uid = self._slot.uid
            os.chown(self._staging, uid, uid)
        os.chmod(self._staging, 0o700)
        if self.records_dir:
            if uid is not None:
                os.chown(self.records_dir, uid, uid)
            os.chmod(self.records_dir, 0o700)
        self.transport = "ipc"
        self.ip = os.path.join(self._staging, "k")
        self.connection_file = os.path.join(self._staging, "kernel.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if uid is not None:
            os.chown(self.connection_file, uid, uid)
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"  # a signal would stop at bwrap
        kernel_args = ["-f", self.connection_file, "--HistoryManager.hist_file=:memory:"]
        inner = [sys.executable, "-m", "cnncourse.sandbox.launch", *kernel_args]
        rlimits = limits.rlimits()
        if not self.sandboxed and not is_root():  # would count all of the grader's processes
            rlimits.pop("RLIMIT_NPROC")
        config = {"rlimits": rlimits, "threads": 1}
        if self.sandboxed:
            config.update(submission=SUBMISSION, workdir=WORK)
            env = jail_env()
            cmd = bwrap_command(inner, submission, self._staging, uid, limits,
                                extra_rw=[self.records_dir] if self.records_dir else [])
        else:  # unsafe: limits only, in the submission folder itself
            config.update(submission=None, workdir=submission)
            env = base_env()
            env.update(HOME=self._staging, TMPDIR=self._staging,
                       PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(
                           sys.modules["cnncourse"].__file__))))
            cmd = inner
        if self.records_dir:
            env["CNNCOURSE_RECORD_DIR"] = self.records_dir
        # All the kernel's processes in one memory cgroup of its own, where possible: a
        # cold kernel's jail enters it before bwrap starts; a warm kernel's forked child
        # enters it before anything else (the relay passes it to the server).
        label = os.path.basename(self._staging)
        if zygote is None:
            self._cgroup = MemoryCgroup.create(cgroup_name("kernel", label),
                                               limits.sandbox_memory_mb)
            cmd = enter_then_exec(cmd, self._cgroup)
        else:
            self._cgroup = zygote.kernel_cgroup(label, limits.sandbox_memory_mb)
        if self._cgroup is None and cgroup_base() is not None and limits.sandbox_memory_mb > 0:
            self.log.warning("sandbox: no memory cgroup could be made for this kernel; only the "
                             "per-process memory limit holds for it")
        self._oom_base = self._cgroup.oom_kills() if self._cgroup else 0
        if zygote:  # a warm kernel: forked by the server, reached through the relay
            copy = os.path.join(self._staging, "submission")
            _copy_tree(submission, copy, uid)
            config["submission"] = copy
            fd, request_file = tempfile.mkstemp(prefix="request-", dir=zygote.spool)
            with os.fdopen(fd, "w") as f:
                json.dump({"argv": kernel_args, "env": env, "config": config, "uid": uid,
                           "disk_mb": limits.disk_mb,
                           "cgroup_procs": self._cgroup.procs if self._cgroup else None}, f)
            cmd = relay_command(zygote, request_file)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        else:
            env["CNNCOURSE_SANDBOX_CONFIG"] = json.dumps(config)
        kw["env"] = env
        kw["cwd"] = "/" if self.sandboxed else submission
        self._log = open(os.path.join(self._staging, "kernel.log"), "wb")
        kw["stdout"] = self._log
        kw["stderr"] = self._log
        kw["stdin"] = open(os.devnull, "rb")
        return cmd, kw

    def oom_kills(self) -> int:
        """Processes of this kernel's sandbox that the OOM killer ended (cgroup memory limit)."""
        if self._cgroup is None:
            return self._oom_final
        return self._cgroup.oom_kills() - self._oom_base

    def exit_status(self) -> int | None:
        """The jail's exit status once the kernel is gone (128 + signal when killed)."""
        proc = getattr(self.provisioner, "process", None)
        if proc is None:
            return None
        return proc.poll()

    def kernel_log(self, limit: int = 4000) -> str:
        """The kernel's stdout and stderr outside cells (its last ``limit`` characters),
        kept when the kernel is cleaned up."""
        if self._staging is None:
            return self._final_log[-limit:]
        try:
            with open(os.path.join(self._staging, "kernel.log"), "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """jupyter_client's wait for the stopped kernel's end, polling every 10 ms rather than
        every 100 ms: the killed relay ends at once, yet each kernel waited for the next tick."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._release()

    def _release(self) -> None:
        if self._slot is not None:
            if _kill_uid(self._slot.uid):
                self._slot.release()
            else:  # never hand on a uid that still owns processes: keep its lock
                self.log.warning("sandbox: uid %d still owns processes; its slot stays taken",
                                 self._slot.uid)
            self._slot = None
        if self._cgroup is not None:
            self._oom_final = self.oom_kills()
            self._cgroup.remove()
            self._cgroup = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._staging:
            self._final_log = self.kernel_log()
        if self._staging and os.path.isdir(self._staging):
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._zygote is not None:
            self._zygote.release()
            self._zygote = None
