"""Warm kernels: a kernel server in the jail forks a fresh, isolated kernel per submission.

Starting a kernel costs about 2 s of CPU, nearly all of it ``import torch``. So that this is
paid once per grader process rather than once per submission, the grader (when it runs as
root) starts one long-lived jail with ``bwrap`` -- the same read-only runtime, no network,
no gradebook, no ``solutions/``, no other student -- running this module's :func:`serve`:
it imports torch, numpy, matplotlib, IPython and ``cnncourse`` once, listens on a Unix
socket in its spool folder (visible to the grader only), and for every kernel asked for:

1. forks a child that enters new mount, PID, network and IPC namespaces and mounts fresh,
   size-limited tmpfs on ``/tmp``, the home folder and the data cache, so nothing a previous
   kernel wrote is visible (the jail's read-only binds below them, such as a virtual
   environment under ``/tmp``, are carried over);
2. that child forks the namespace's init (PID 1: mounts a fresh ``/proc``, reaps orphans,
   ends the namespace -- every process of the student -- when the kernel ends);
3. init forks the kernel, which drops every capability (bounding, inheritable, ambient),
   becomes the sandbox uid of the grader's slot with ``no_new_privs``, and then runs exactly
   what a cold kernel runs (:func:`cnncourse.sandbox.launch.prepare` and
   :func:`~cnncourse.sandbox.launch.run_kernel`: limits, submission copy, kernel).

The grader talks to a kernel through :mod:`cnncourse.sandbox.relay`, a small process that
jupyter_client starts in place of the kernel command: it hands the kernel's log file to
the server, stays alive exactly as long as the kernel and exits with its status; killing it
(as jupyter_client does to stop a kernel) kills the kernel and its namespace.

The server itself stays root in its jail with only the capabilities listed in :data:`CAPS`;
its socket and spool folder are not reachable from the kernels (another uid, another PID
namespace, mode 0600/0711).

Memory: where memory cgroups can be made (:mod:`cnncourse.sandbox.cgroup`), the server runs
in the ``server`` child of its own group, and every kernel gets a sibling ``kernel-LABEL``
limited to ``Limits.sandbox_memory_mb``. The relay opens that cgroup's ``cgroup.procs`` and
hands it to the server with the kernel's log; the forked child writes itself into it before
anything else, so the kernel, its init and everything the student starts are charged
there, and only there.

Lifetime: the server lives while something uses it -- a graded notebook
(:class:`cnncourse.sandbox.execute.SandboxedExecute`) or a kernel -- and stops, with its
spool folder and cgroups, :data:`IDLE_SECONDS` after the last use ends (so a Jupyter server
that ran the formgrader's Autograde does not keep it), when its grader process exits, or
when a multiprocessing worker ends.
"""

from __future__ import annotations

import atexit
import ctypes
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from cnncourse.sandbox.cgroup import MemoryCgroup, enter_then_exec
from cnncourse.sandbox.cgroup import name as cgroup_name

CAPS = ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"]
PRELOAD = ["numpy", "torch", "torch.nn", "torch.nn.functional", "matplotlib", "matplotlib.pyplot",
           "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "cnncourse.checks",
           "cnncourse.checks.conv", "cnncourse.checks.matmul", "cnncourse.checks.backprop",
           "cnncourse.checks.receptive", "cnncourse.checks.architectures",
           "cnncourse.checks.norm_dropout", "cnncourse.data", "cnncourse.lecture",
           "cnncourse.model_stats", "cnncourse.sandbox.launch", "cnncourse.sandbox.replay",
           "skimage.data", "skimage.color", "skimage.util",
           # what every kernel imports anyway while it starts, before any student code
           # (IPKernelApp.initialize: the debugger, the history database, completion,
           # inspection, storemagic, tornado's event loop): the same modules and mappings
           # when the first cell runs, ~0.3 s sooner. Nothing that a kernel would not import
           # by itself: that would take address space (Limits.memory_mb) from the student.
           "ipykernel.debugger", "ipykernel.zmqshell", "sqlite3", "pdb", "pydoc", "mimetypes",
           "faulthandler", "IPython.core.history", "IPython.core.completerlib",
           "IPython.core.debugger", "IPython.core.oinspect", "IPython.extensions.storemagic",
           "IPython.utils.wildcard", "tornado.platform.asyncio"]
SOCKET_NAME = "zygote.sock"
# Where the spool folders go: the same path in the grader and in the jail, and not under a
# folder that each kernel covers with its own tmpfs (/tmp, the home folder).
SPOOL_BASE = "/var/tmp"
# Seconds a server with nothing to do waits before it stops (CNNCOURSE_WARM_IDLE_SECONDS).
IDLE_SECONDS = 5.0
IDLE_ENV = "CNNCOURSE_WARM_IDLE_SECONDS"
_MAX_REQUEST = 1 << 20

# -- Linux calls that Python's os module lacks (3.11) ------------------------------------------
_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWPID, _CLONE_NEWNET = 0x20000, 0x08000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 1 << 14, 1 << 18
_MNT_DETACH = 2
_HOLD = "/.cnncs-hold"  # where the mounts below a folder wait while it gets a new tmpfs
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_libc = None


def _c(name, *args):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args!r}: {os.strerror(err)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _mount_tmpfs(path: str, size_mb: int, mode: str = "1777") -> None:
    if os.path.isdir(path):
        _c("mount", b"tmpfs", path.encode(), b"tmpfs", ctypes.c_ulong(_MS_NOSUID | _MS_NODEV),
           f"size={size_mb}m,mode={mode}".encode())


def _mount_points() -> list[str]:
    points = []
    for line in open("/proc/self/mountinfo").read().splitlines():
        raw = line.split(" ")[4]
        points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw))
    return points


def _fresh_tmpfs(path: str, size_mb: int) -> None:
    """A new, empty tmpfs on ``path``, keeping what the jail binds below it (the virtual
    environment may well live under /tmp): those mounts move onto the new tmpfs."""
    prefix = path.rstrip("/") + "/"
    inner = [p for p in _mount_points() if p.startswith(prefix)]
    top = sorted({p for p in inner if not any(p != o and p.startswith(o + "/") for o in inner)})
    if top:
        os.makedirs(_HOLD, mode=0o700, exist_ok=True)
        _c("mount", path.encode(), _HOLD.encode(), None, ctypes.c_ulong(_MS_BIND | _MS_REC), None)
    _mount_tmpfs(path, size_mb)
    for point in top:
        os.makedirs(point, mode=0o755, exist_ok=True)  # root's, in the new tmpfs
        source = _HOLD + point[len(path.rstrip("/")):]
        _c("mount", source.encode(), point.encode(), None, ctypes.c_ulong(_MS_BIND | _MS_REC), None)
    if top:
        _c("umount2", _HOLD.encode(), _MNT_DETACH)


def _drop_privileges(uid: int) -> None:
    """Become ``uid`` with no capability left and no way to gain one."""
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        _c("prctl", _PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0),
           ctypes.c_ulong(0))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    _c("capset", ctypes.byref(header), ctypes.byref(data))  # and the inheritable set
    _c("prctl", _PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL), ctypes.c_ulong(0),
       ctypes.c_ulong(0), ctypes.c_ulong(0))
    _c("prctl", _PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
       ctypes.c_ulong(0))
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(f"could not drop to uid {uid}")


def _die_with_parent() -> None:
    _c("prctl", _PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0),
       ctypes.c_ulong(0), ctypes.c_ulong(0))


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# -- in the jail ------------------------------------------------------------------------------
def _kernel_process(request: dict, fds: list[int]) -> None:
    """Child of the server (root in the jail): its memory cgroup, namespaces, init, then the
    kernel. Never returns."""
    from cnncourse.sandbox import DATA_MOUNT, HOME
    try:
        if len(fds) > 3:  # the kernel's cgroup.procs, opened by the grader's relay
            try:
                os.write(fds[3], b"0")  # this process, then all it forks, are charged there
            finally:
                os.close(fds[3])
                fds = fds[:3]
        elif request.get("cgroup_procs"):
            raise OSError("its memory cgroup was not passed")
        _die_with_parent()
        _c("unshare", _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC)
        _c("mount", b"none", b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None)
        for path in ("/tmp", HOME, DATA_MOUNT + "/cache"):
            _fresh_tmpfs(path, int(request["disk_mb"]))
        init = os.fork()
        if init == 0:  # PID 1 of the kernel's namespace
            _die_with_parent()
            _c("mount", b"proc", b"/proc", b"proc",
               ctypes.c_ulong(_MS_NOSUID | _MS_NODEV | _MS_NOEXEC), None)
            kernel = os.fork()
            if kernel == 0:
                _die_with_parent()
                _start_kernel(request, fds)
            for fd in fds:
                os.close(fd)
            while True:  # reap orphans; the namespace ends with the kernel
                pid, status = os.waitpid(-1, 0)
                if pid == kernel:
                    os._exit(_exit_code(status))
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(init, 0)
        os._exit(_exit_code(status))
    except BaseException as exc:  # noqa: BLE001 - report on the kernel's log, then fail
        try:
            os.write(2, f"sandbox: the kernel could not start: {exc!r}\n".encode())
        finally:
            os._exit(70)


def _start_kernel(request: dict, fds: list[int]) -> None:
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with open("/proc/self/oom_score_adj", "w") as f:  # as launch.prepare, while still root
        f.write("500")
    if request.get("uid") is not None:
        _drop_privileges(int(request["uid"]))
    os.environ.clear()
    os.environ.update(request["env"])
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    from cnncourse.sandbox import launch
    launch.prepare(request["config"])
    try:
        launch.run_kernel(request["argv"])
    except SystemExit as exc:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve(path: str) -> None:
    """The server's loop: one kernel per connection, killed when its connection closes."""
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    listener.bind(path + ".new")
    os.umask(old)
    listener.listen(16)
    os.rename(path + ".new", path)  # the grader waits for this name: ready
    kernels: dict[socket.socket, int] = {}  # connection -> pid of the kernel's first child
    while True:
        ready, _, _ = select.select([listener, *kernels], [], [], 0.05)
        for sock in ready:
            if sock is listener:
                conn, _ = listener.accept()
                try:
                    msg, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 4)
                    request = json.loads(msg)
                    if len(fds) != (4 if request.get("cgroup_procs") else 3):
                        for fd in fds:
                            os.close(fd)
                        raise ValueError("stdin, stdout, stderr (and the memory cgroup) "
                                         "are needed")
                except (OSError, ValueError) as exc:
                    conn.sendall(json.dumps({"error": str(exc)}).encode())
                    conn.close()
                    continue
                try:
                    pid = os.fork()
                except OSError as exc:  # the kernel fails to start; the server goes on
                    pid = None
                    conn.sendall(json.dumps({"error": f"fork: {exc}"}).encode())
                    conn.close()
                if pid == 0:
                    listener.close()
                    for other in kernels:
                        other.close()
                    conn.close()
                    _kernel_process(request, fds)
                for fd in fds:
                    os.close(fd)
                if pid:
                    kernels[conn] = pid
            else:  # the relay went away: the kernel goes too
                if not sock.recv(1):
                    _kill(kernels.pop(sock))
                    sock.close()
        while kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            for conn, p in list(kernels.items()):
                if p == pid:
                    try:
                        conn.sendall(json.dumps({"exit": _exit_code(status)}).encode())
                    except OSError:
                        pass
                    conn.close()
                    del kernels[conn]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- in the grader ----------------------------------------------------------------------------
class Zygote:
    """The grader's handle on its kernel server: started on first use, one per process,
    stopped when idle (:meth:`release`) or when the process ends."""

    _shared: "Zygote | None" = None
    _failed: str | None = None
    _lock = threading.RLock()
    _exit_hooks = False
    _running: "set[Zygote]" = set()  # closed at exit, even one no longer _shared

    def __init__(self, env: dict, limits, startup_seconds: float = 120.0):
        from cnncourse.sandbox import bwrap_command
        _remove_stale_spools()
        os.makedirs(SPOOL_BASE, mode=0o1777, exist_ok=True)
        self.spool = tempfile.mkdtemp(prefix=f"cnncs-spool-{os.getpid()}-", dir=SPOOL_BASE)
        os.chmod(self.spool, 0o711)
        self.socket_path = os.path.join(self.spool, SOCKET_NAME)
        cmd = bwrap_command([sys.executable, "-m", "cnncourse.sandbox.zygote", self.socket_path],
                            None, self.spool, None, limits, caps=CAPS)
        # A memory cgroup group (where there can be one): the server in its child "server",
        # each kernel in a child of its own (kernel_cgroup). The server's children keep its
        # oom_score_adj until the kernel sets 500: the OOM killer picks the student's.
        self._leases = 0
        self._timer = None
        self._closed = False
        self.group = MemoryCgroup.create(cgroup_name("server", os.path.basename(self.spool)), None)
        self.cgroup = self.group.child("server", None) if self.group is not None else None
        cmd = enter_then_exec(cmd, self.cgroup, oom_score_adj=-1000)
        self._log = os.fdopen(os.open(os.path.join(self.spool, "zygote.log"),
                                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        self.proc = None
        try:
            self.proc = subprocess.Popen(cmd, env=env, cwd="/", stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=self._log,
                                         start_new_session=True)
        except OSError:
            self.close()
            raise
        end = time.monotonic() + startup_seconds
        while not os.path.exists(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() > end:
                log = self.log()[-2000:]
                self.close()
                raise RuntimeError(f"the warm-kernel server did not start: {log}")
            time.sleep(0.02)

    def kernel_cgroup(self, label: str, limit_mb: int) -> MemoryCgroup | None:
        """A memory cgroup of its own for the next kernel (None where there are none)."""
        if self.group is None:
            return None
        return self.group.child(f"kernel-{label}", limit_mb)

    @classmethod
    def shared(cls, env: dict, limits) -> "Zygote | None":
        """The running server of this process (started now if needed), or None when it
        cannot start here (then kernels start cold, as before; the reason is kept).
        The caller holds it until it calls :meth:`release`."""
        with cls._lock:
            zygote = cls._shared
            if zygote is not None and not zygote.alive():
                zygote.close()
                zygote = None
            if zygote is None:
                if cls._failed is not None:
                    return None
                try:
                    zygote = cls(env, limits)
                except (OSError, RuntimeError) as exc:
                    cls._failed = str(exc)
                    return None
                cls._shared = zygote
                cls._running.add(zygote)
                cls._register_exit_hooks()
            zygote._leases += 1
            if zygote._timer is not None:
                zygote._timer.cancel()
                zygote._timer = None
            return zygote

    def release(self) -> None:
        """One user is done with the server; when none is left it stops after
        ``CNNCOURSE_WARM_IDLE_SECONDS`` (default :data:`IDLE_SECONDS`) unless used again."""
        with Zygote._lock:
            self._leases = max(0, self._leases - 1)
            if self._leases or self._closed:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(float(os.environ.get(IDLE_ENV) or IDLE_SECONDS),
                                          self._close_if_idle)
            self._timer.daemon = True
            self._timer.start()

    def _close_if_idle(self) -> None:
        with Zygote._lock:
            if self._leases or self._closed:
                return
            self.close()

    @classmethod
    def _close_all(cls) -> None:
        with cls._lock:
            for zygote in list(cls._running):
                zygote.close()

    @classmethod
    def _register_exit_hooks(cls) -> None:
        if cls._exit_hooks:
            return
        cls._exit_hooks = True
        atexit.register(cls._close_all)
        try:  # multiprocessing workers leave through os._exit: atexit does not run there
            from multiprocessing import util
            util.Finalize(None, cls._close_all, exitpriority=10)
        except Exception:  # noqa: BLE001
            pass

    def alive(self) -> bool:
        return self.proc.poll() is None and os.path.exists(self.socket_path)

    def log(self) -> str:
        try:
            with open(os.path.join(self.spool, "zygote.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the server and every kernel it forked; remove its spool folder and cgroups."""
        with Zygote._lock:
            if self._closed:
                return
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if Zygote._shared is self:
                Zygote._shared = None
            Zygote._running.discard(self)
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._log.close()
        if self.group is not None:
            self.group.remove()
        shutil.rmtree(self.spool, ignore_errors=True)


def relay_command(zygote: Zygote, request_file: str) -> list[str]:
    """The command jupyter_client runs instead of the kernel (stdlib only, starts in ms)."""
    relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py")
    return [sys.executable, "-I", "-S", relay, zygote.socket_path, request_file]


def _remove_stale_spools() -> None:
    for spool in glob.glob(os.path.join(SPOOL_BASE, "cnncs-spool-*-*")):
        try:
            pid = int(os.path.basename(spool).split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(spool, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass


if __name__ == "__main__":
    serve(sys.argv[1])
