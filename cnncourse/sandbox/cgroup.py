"""A memory cgroup per sandbox: the memory of all a submission's processes, together.

``RLIMIT_AS`` bounds each process; a submission that forks could still use up to
``processes`` times that. Where the grader may create memory cgroups (root, with the
cgroup v2 memory controller delegated to its cgroup or the v1 ``memory`` hierarchy
writable, as in most VMs and privileged containers), every sandbox also gets one, below
the grader's own cgroup: ``Limits.sandbox_memory_mb`` for all its processes together, swap
included. A cold kernel's jail is in ``cnncourse-PID-kernel-LABEL``; the warm-kernel server
gets a group ``cnncourse-PID-server-LABEL`` holding ``server`` (the server itself, no
limit) and one ``kernel-LABEL`` per kernel it forks, which the forked kernel enters before
it runs anything (:mod:`cnncourse.sandbox.zygote`). So a kernel's limit counts only what
that kernel's processes allocate, never what the server or anything else was charged
(on v1, page cache is charged to whichever cgroup first read a file). Past the limit, the
kernel's OOM killer ends the largest process of that sandbox only; the grader reads the
cgroup's ``oom_kill`` count to say so.

Where cgroups are not available, :func:`unavailable` says why and
:func:`memory_limit_warning` is what the grader prints once at start-up: then the
per-process limit is all there is, and grading goes on.
``CNNCOURSE_CGROUP_ROOT`` points this module at another cgroup mount point (tests).
"""

from __future__ import annotations

import functools
import os
import time

from cnncourse.sandbox import MiB

ROOT = "/sys/fs/cgroup"
ROOT_ENV = "CNNCOURSE_CGROUP_ROOT"


def root() -> str:
    return os.environ.get(ROOT_ENV) or ROOT


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
def _probe(mount: str) -> tuple[tuple[str, int] | None, str | None]:
    """((folder under which sandbox cgroups go, version), None), or (None, why not)."""
    if os.geteuid() != 0:
        return None, "the grader is not root, and only root may make memory cgroups"
    candidates, why = [], []
    v1 = os.path.join(mount, "memory")
    own = _own_path("memory")
    if own is not None and os.path.isdir(v1):
        candidates.append((os.path.join(v1, (own or "/").lstrip("/")), 1))
    own2 = _own_path(None)
    if os.path.isfile(os.path.join(mount, "cgroup.controllers")) and own2 is not None:
        candidates.append((os.path.join(mount, own2.lstrip("/")), 2))
    if not candidates:
        return None, (f"no cgroup memory controller is mounted at {mount} (neither a cgroup v1 "
                      f"'memory' hierarchy nor cgroup v2)")
    for folder, version in candidates:
        probe = os.path.join(folder, f"cnncourse-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError as exc:
            why.append(f"cgroup v{version}: cannot make a cgroup in {folder} ({exc.strerror})")
            continue
        try:
            ok = os.path.exists(os.path.join(probe, "memory.limit_in_bytes" if version == 1
                                              else "memory.max"))
        finally:
            _rmdir(probe)
        if ok:
            _remove_stale(folder)
            return (folder, version), None
        why.append(f"cgroup v{version}: the memory controller is not enabled below {folder}"
                   + (" (it is not in that cgroup's cgroup.subtree_control)" if version == 2 else ""))
    return None, "; ".join(why)


def base() -> tuple[str, int] | None:
    """(folder under which sandbox cgroups go, cgroup version), or None when unavailable."""
    return _probe(root())[0]


def unavailable() -> str | None:
    """None when sandbox memory cgroups can be made here, else why not."""
    return _probe(root())[1]


def memory_limit_warning(limits) -> str | None:
    """What the grader says once at start-up when ``limits.sandbox_memory_mb`` cannot be
    enforced here (None when it can)."""
    why = unavailable()
    if why is None or limits.sandbox_memory_mb <= 0:
        return None
    return (f"the sandbox's memory limit ({limits.sandbox_memory_mb} MiB for all of a "
            f"submission's processes together) cannot be enforced here: {why}. Only the "
            f"per-process address-space limit ({limits.memory_mb} MiB) holds, so a submission "
            f"that forks could use up to {limits.processes} times that.")


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
            _rmtree(os.path.join(folder, entry), kill=False, tries=1)
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


def _rmtree(path: str, kill: bool, tries: int = 50) -> bool:
    """Remove a cgroup and the cgroups below it, deepest first (killing their processes
    first when ``kill``)."""
    import signal
    try:
        children = [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return True
    except OSError:
        children = []
    for child in children:
        _rmtree(child, kill, tries)
    if kill:
        try:
            pids = [int(p) for p in open(os.path.join(path, "cgroup.procs")).read().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return _rmdir(path, tries)


class MemoryCgroup:
    """One sandbox's memory cgroup; :meth:`create` returns None where there can be none."""

    def __init__(self, path: str, version: int, limit_mb: int):
        self.path, self.version, self.limit_mb = path, version, limit_mb

    @classmethod
    def create(cls, name: str, limit_mb: int | None) -> "MemoryCgroup | None":
        """A cgroup below the grader's own; ``limit_mb`` None: no limit (a group)."""
        where = base()
        if where is None or (limit_mb is not None and limit_mb <= 0):
            return None
        folder, version = where
        return cls._make(os.path.join(folder, name), version, limit_mb)

    def child(self, name: str, limit_mb: int | None) -> "MemoryCgroup | None":
        """A cgroup below this one. On v2 this one must then hold no process itself (the
        warm server's group: its processes are in its ``server`` child)."""
        if self.version == 2:
            control = os.path.join(self.path, "cgroup.subtree_control")
            try:
                if "memory" not in open(control).read().split():
                    _write(self.path, "cgroup.subtree_control", "+memory")
            except OSError:
                return None
        return self._make(os.path.join(self.path, name), self.version, limit_mb)

    @classmethod
    def _make(cls, path: str, version: int, limit_mb: int | None) -> "MemoryCgroup | None":
        try:
            os.makedirs(path, exist_ok=True)
            group = cls(path, version, 1 << 40)  # unlimited so far
            if limit_mb is not None:
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

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in open(self.procs).read().split()]
        except (OSError, ValueError):
            return []

    def add(self, pid: int) -> None:
        _write(self.path, "cgroup.procs", str(pid))

    def usage_mb(self) -> int:
        name = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            return int(open(os.path.join(self.path, name)).read()) // MiB
        except (OSError, ValueError):
            return 0

    def limit_bytes(self) -> int | None:
        """The limit the kernel enforces now (None: cannot be read)."""
        name = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        try:
            raw = open(os.path.join(self.path, name)).read().strip()
        except OSError:
            return None
        return 1 << 62 if raw == "max" else int(raw)

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

    def remove(self) -> bool:
        """Remove it and the cgroups below it once their processes are gone (killing what
        is left)."""
        return _rmtree(self.path, kill=True)


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
