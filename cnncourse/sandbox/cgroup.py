"""A memory cgroup per sandbox: the memory of all a submission's processes, together.

``RLIMIT_AS`` bounds each process; a submission that forks could still use up to
``processes`` times that. Where the grader may create memory cgroups (root, with the
cgroup v2 memory controller or the v1 ``memory`` hierarchy writable, as in most VMs and
privileged containers), every sandbox also gets one, below the grader's own cgroup:
``Limits.sandbox_memory_mb`` for all its processes together, swap included. Past it, the
kernel's OOM killer ends the largest process of that sandbox only; the grader reads the
cgroup's ``oom_kill`` count to say so. Where cgroups are not available the per-process
limit is all there is (README says so), and grading goes on.
"""

from __future__ import annotations

import functools
import os
import time

from cnncourse.sandbox import MiB

ROOT = "/sys/fs/cgroup"


def _own_path(controller: str | None) -> str | None:
    """This process's cgroup path in the v1 hierarchy of ``controller`` (None: v2)."""
    try:
        lines = open("/proc/self/cgroup").read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (
                controller is not None and controller in controllers.split(",")):
            return path
    return None


@functools.lru_cache(maxsize=None)
def base() -> tuple[str, int] | None:
    """(folder under which sandbox cgroups go, cgroup version), or None when unavailable."""
    if os.geteuid() != 0:
        return None
    candidates = []
    v1 = os.path.join(ROOT, "memory")
    own = _own_path("memory")
    if own is not None and os.path.isdir(v1):
        candidates.append((os.path.join(v1, (own or "/").lstrip("/")), 1))
    own2 = _own_path(None)
    if os.path.isfile(os.path.join(ROOT, "cgroup.controllers")) and own2 is not None:
        candidates.append((os.path.join(ROOT, own2.lstrip("/")), 2))
    for folder, version in candidates:
        probe = os.path.join(folder, f"cnncourse-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError:
            continue
        try:
            ok = os.path.exists(os.path.join(probe, "memory.limit_in_bytes" if version == 1
                                              else "memory.max"))
        finally:
            _rmdir(probe)
        if ok:
            _remove_stale(folder)
            return folder, version
    return None


def name(kind: str, label: str) -> str:
    """A cgroup name that says which grader process made it: ``cnncourse-PID-KIND-LABEL``."""
    return f"cnncourse-{os.getpid()}-{kind}-{label}"


def _remove_stale(folder: str) -> None:
    """Remove the cgroups of grader processes that are gone (empty by now)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith("cnncourse-")]
    except OSError:
        return
    for entry in names:
        try:
            os.kill(int(entry.split("-")[1]), 0)
        except ProcessLookupError:
            _rmdir(os.path.join(folder, entry), tries=1)
        except (ValueError, IndexError, PermissionError):
            pass


def _rmdir(path: str, tries: int = 50) -> bool:
    for _ in range(tries):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:  # tasks still exiting
            time.sleep(0.02)
    return False


class MemoryCgroup:
    """One sandbox's memory cgroup; :meth:`create` returns None where there can be none."""

    def __init__(self, path: str, version: int, limit_mb: int):
        self.path, self.version, self.limit_mb = path, version, limit_mb

    @classmethod
    def create(cls, name: str, limit_mb: int) -> "MemoryCgroup | None":
        where = base()
        if where is None or limit_mb <= 0:
            return None
        folder, version = where
        path = os.path.join(folder, name)
        try:
            os.makedirs(path, exist_ok=True)
            group = cls(path, version, 1 << 40)  # unlimited so far
            group.set_limit(limit_mb)  # with swap (v1 memsw), or swap off (v2)
            if version == 2 and os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(path, "memory.swap.max", "0")
        except OSError:
            _rmdir(path, tries=1)
            return None
        return group

    @property
    def procs(self) -> str:
        """Write a pid here to move that process (and its future children) in."""
        return os.path.join(self.path, "cgroup.procs")

    def add(self, pid: int) -> None:
        _write(self.path, "cgroup.procs", str(pid))

    def usage_mb(self) -> int:
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            return int(open(os.path.join(self.path, name)).read()) // MiB
        except (OSError, ValueError):
            return 0

    def set_limit(self, limit_mb: int) -> None:
        limit = str(limit_mb * MiB)
        if self.version == 1:
            # memsw must stay >= the plain limit: raise in the order that keeps it so
            names = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
            if limit_mb > self.limit_mb:
                names.reverse()
            for name in names:
                if os.path.exists(os.path.join(self.path, name)):
                    _write(self.path, name, limit)
        else:
            _write(self.path, "memory.max", limit)
        self.limit_mb = limit_mb

    def oom_kills(self) -> int:
        """How many processes the OOM killer ended in this cgroup."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in open(os.path.join(self.path, name)).read().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        """Remove it once its processes are gone (killing what is left)."""
        import signal
        try:
            pids = [int(p) for p in open(self.procs).read().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _rmdir(self.path)


def _write(folder: str, name: str, value: str) -> None:
    with open(os.path.join(folder, name), "w") as f:
        f.write(value)


def enter_then_exec(cmd: list[str], group: MemoryCgroup | None,
                    oom_score_adj: int | None = None) -> list[str]:
    """``cmd``, started so that it is in ``group`` (and, if allowed, has ``oom_score_adj``)
    from its first instruction: a shell moves itself, then execs it (same pid, same parent)."""
    steps = []
    if group is not None:
        steps.append('echo $$ > "$0" && ')
    if oom_score_adj is not None:  # best effort: lowering it needs CAP_SYS_RESOURCE
        steps.append(f"(echo {int(oom_score_adj)} > /proc/$$/oom_score_adj) 2>/dev/null; ")
    if not steps:
        return list(cmd)
    return ["/bin/sh", "-c", "".join(steps) + 'exec "$@"',
            group.procs if group is not None else "sh", *cmd]
