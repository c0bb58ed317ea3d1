"""Sandboxed autograding: student code runs in a bubblewrap jail, as an unprivileged user.

``nbgrader autograde`` (configured in ``nbgrader_config.py``) executes each submission with
:class:`cnncourse.sandbox.execute.SandboxedExecute`, which starts the kernel through
:class:`cnncourse.sandbox.manager.SandboxKernelManager`:

- the kernel runs under ``bwrap`` in new mount, PID, network, IPC and UTS namespaces; it
  sees ``/usr``, the Python installation and virtual environment (read-only), the
  ``cnncourse`` package (read-only, at ``/opt/cnncourse-lib``), MNIST (read-only), a copy
  of the submission folder in a size-limited tmpfs, and nothing else: no gradebook, no
  ``solutions/``, no other student, no home folder, no network (only its own loopback);
- when the grader is root, the kernel drops to a dedicated uid (one per concurrent sandbox
  on the machine, ``uid_base + slot``; the slots are locked in ``/run/cnncourse/slots``,
  shared by every grader) with no capabilities and ``no_new_privs``; otherwise it runs as
  the grader's uid inside a user namespace (same file-system and network isolation);
- the kernel talks to nbgrader over ZMQ ``ipc`` sockets in a private folder bound into the
  jail (no TCP port is needed, loopback is not shared);
- resource limits (:class:`Limits`) bound wall time per cell and per submission, CPU
  time, address space, processes, file size, tmpfs size and captured output, and, where
  the grader may make memory cgroups, the memory of all the sandbox's processes together
  (:mod:`cnncourse.sandbox.cgroup`: a cgroup of the sandbox's own); where it may not,
  grading says so once at start-up.

As root, kernels are *warm* (:mod:`cnncourse.sandbox.zygote`): one server per grader
process, in such a jail with torch already imported, forks each kernel into new namespaces,
its own memory cgroup and fresh tmpfs and drops it to the slot's uid; it stops when its
process ends or a few seconds after its last use; ``CNNCOURSE_WARM_KERNELS=0`` turns it off.

Where bubblewrap cannot run (no user namespaces, a container without the privilege,
bwrap missing), grading refuses to start unless ``CNNCOURSE_UNSAFE_GRADING=1`` is set;
then the kernel runs unsandboxed but with the same resource limits.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

UNSAFE_ENV = "CNNCOURSE_UNSAFE_GRADING"
LIB_MOUNT = "/opt/cnncourse-lib"
DATA_MOUNT = LIB_MOUNT + "/data"  # cnncourse.data: REPO_ROOT / "data"
HOME = "/home/student"
WORK = HOME + "/work"
SUBMISSION = "/opt/submission"

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one graded submission. Change them in ``nbgrader_config.py``
    (``c.SandboxedExecute.<name> = value``) or per run with environment variables
    ``CNNCOURSE_LIMIT_<NAME>`` (upper case)."""

    cell_seconds: float = 120.0        # wall time of one cell
    submission_seconds: float = 600.0  # wall time of all cells of one notebook
    cpu_seconds: int = 600             # CPU time of the kernel process (RLIMIT_CPU)
    memory_mb: int = 6144              # address space per process (RLIMIT_AS; torch maps ~3 GiB)
    sandbox_memory_mb: int = 8192      # memory of all processes together (cgroup, where available)
    processes: int = 64                # processes and threads of the sandbox uid (RLIMIT_NPROC)
    file_mb: int = 64                  # largest file the kernel may write (RLIMIT_FSIZE)
    disk_mb: int = 256                 # each of the tmpfs /tmp and /home/student
    output_kb: int = 256               # output kept per cell; the rest is dropped
    startup_seconds: float = 60.0      # kernel start-up

    @classmethod
    def from_env(cls, **overrides) -> "Limits":
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"CNNCOURSE_LIMIT_{f.name.upper()}")
            if raw:
                values[f.name] = type(f.default)(float(raw)) if f.type != "str" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def rlimits(self) -> dict[str, tuple[int, int]]:
        return {
            "RLIMIT_CPU": (int(self.cpu_seconds), int(self.cpu_seconds) + 5),
            "RLIMIT_AS": (self.memory_mb * MiB, self.memory_mb * MiB),
            "RLIMIT_NPROC": (self.processes, self.processes),
            "RLIMIT_FSIZE": (self.file_mb * MiB, self.file_mb * MiB),
            "RLIMIT_CORE": (0, 0),
            "RLIMIT_NOFILE": (256, 256),
        }

    def as_dict(self) -> dict:
        return asdict(self)


class SandboxUnavailable(RuntimeError):
    """Grading refused: the sandbox cannot run here and unsafe grading was not asked for."""


def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_ENV, "") == "1"


def is_root() -> bool:
    return os.geteuid() == 0


def _parents(path: str) -> list[str]:
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def runtime_binds() -> list[tuple[str, str]]:
    """(source, destination) of the read-only runtime: Python, the venv, cnncourse, data."""
    import cnncourse

    binds = []
    seen = set()
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        real = os.path.realpath(prefix)
        for p in {prefix, real}:
            if p not in seen and os.path.isdir(p) and not p.startswith("/usr"):
                binds.append((os.path.realpath(p), p))
                seen.add(p)
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(dst + "/") for _, dst in binds) and not exe.startswith("/usr/"):
        binds.append((os.path.dirname(exe), os.path.dirname(exe)))
    pkg = os.path.dirname(os.path.abspath(cnncourse.__file__))
    binds.append((pkg, f"{LIB_MOUNT}/cnncourse"))
    mnist = Path(pkg).parent / "data" / "mnist"
    mnist = Path(os.environ.get("CNNCOURSE_MNIST_DIR", mnist))
    if mnist.is_dir():  # where cnncourse.data looks for it, read-only
        binds.append((str(mnist), f"{DATA_MOUNT}/mnist"))
    return binds


def bwrap_command(inner: list[str], submission: str | None, ipc_dir: str, uid: int | None,
                  limits: Limits, extra_rw: list[str] = (), caps: list[str] = ()) -> list[str]:
    """The bwrap command line that runs ``inner`` in the jail.

    ``uid``: the uid ``inner`` drops to (the grader is root); None: the grader's own uid in
    a user namespace. ``caps`` (root only): ``inner`` stays root in the jail with just these
    capabilities -- the warm-kernel server (:mod:`cnncourse.sandbox.zygote`), which drops
    to the sandbox uid itself in every kernel it forks."""
    bwrap = shutil.which("bwrap") or "bwrap"
    cmd = [bwrap, "--die-with-parent", "--new-session",
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "sandbox"]
    if uid is None and not caps:  # not root: the user namespace maps our own uid
        cmd += ["--unshare-user"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                "/etc/localtime", "/etc/nsswitch.conf"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    disk = str(limits.disk_mb * MiB)
    cmd += ["--size", disk, "--perms", "1777", "--tmpfs", "/tmp"]
    cmd += ["--perms", "0755", "--dir", "/home"]
    # data/cache of cnncourse.data (decompressed MNIST for torchvision): writable, bounded
    cmd += ["--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", LIB_MOUNT,
            "--perms", "0755", "--dir", DATA_MOUNT,
            "--size", disk, "--perms", "1777", "--tmpfs", DATA_MOUNT + "/cache"]
    cmd += ["--size", disk, "--perms", "1777", "--tmpfs", HOME]
    made = {"/home", "/tmp", "/usr", "/opt", LIB_MOUNT, DATA_MOUNT}
    binds = runtime_binds() + ([(submission, SUBMISSION)] if submission else [])
    for src, dst in binds:
        for parent in _parents(dst):
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--ro-bind", src, dst]
        made.add(dst)
    for rw in [ipc_dir, *extra_rw]:
        for parent in _parents(rw):
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--bind", rw, rw]
    cmd += ["--chdir", "/"]
    if caps:
        cmd += ["--cap-add", ",".join(caps), "--"]
    elif uid is not None:
        cmd += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]
    else:
        cmd += ["--"]
    return cmd + inner


@functools.lru_cache(maxsize=None)
def probe() -> str | None:
    """None when the sandbox works here, else why not."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap")
    import tempfile
    with tempfile.TemporaryDirectory(prefix="cnncs-probe-") as tmp:
        os.chmod(tmp, 0o755)
        uid = 61999 if is_root() else None
        cmd = bwrap_command([sys.executable, "-c", "import os; print(os.getuid())"], tmp, tmp, uid,
                            Limits())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap could not start: {exc}"
        if proc.returncode != 0:
            return (f"bwrap failed ({proc.returncode}): {proc.stderr.strip()[-500:]} -- this machine "
                    "does not allow the namespaces the sandbox needs (unprivileged user "
                    "namespaces, or root with CAP_SYS_ADMIN)")
        if uid is not None and proc.stdout.strip() != str(uid):
            return f"the sandboxed process did not drop to uid {uid}: {proc.stdout!r}"
    return None


def require_sandbox() -> bool:
    """True when grading is sandboxed; False when explicitly unsafe; else raise."""
    why = probe()
    if why is None:
        return True
    if unsafe_allowed():
        return False
    raise SandboxUnavailable(
        f"refusing to autograde: the sandbox cannot run on this machine ({why}). Student code "
        f"would run with your rights, see your files and the network. Fix the cause, or set "
        f"{UNSAFE_ENV}=1 to grade without the sandbox (resource limits still apply) at your "
        f"own risk, e.g. inside a disposable VM.")
