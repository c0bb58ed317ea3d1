"""Hostile and broken submissions of a1_conv_forward, for the sandboxed autograder.

Each :class:`Hostile` builds one submission and says what grade it must get:

- ``same_as``: the per-cell scores of a *control* submission graded in the same run
  (``good``: the reference solution; ``ctl_half``: a convolution off by a factor 2;
  ``ctl_runtime`` / ``ctl_oserror``: a convolution that raises RuntimeError / OSError;
  ``ctl_baseexc``: one that raises a BaseException which no check catches). Comparing
  with controls keeps the corpus right when the assignment's parts or points change.
- ``fails``: a function of the notebook layout giving the grade cells that score zero
  (all others full marks).
- ``total``: the exact total (submissions nbgrader cannot read).

``expect``/``forbid``: text that must / must not appear in the autograded notebook.
Submissions are built from the reference solution with
``solved_notebook("a1_conv_forward", edit=...)``; the hostile code is appended to a
solution cell, most often as a wrapper around ``conv2d_naive`` or ``conv_output_size``.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from cnncourse.nbgrader_course import REPO_ROOT, release_notebook, solved_notebook
from cnncourse.sandbox import cgroup

A1 = "a1_conv_forward"


@dataclass
class Context:
    root: Path          # the throwaway course root
    port: int           # a TCP port listening on the grader's loopback


@dataclass
class Layout:
    """The released notebook: its code cells in order and the grade cells' points."""

    cells: list  # (grade_id or None, source) of the code cells, in order
    points: dict  # grade_id -> points of the graded test cells

    @classmethod
    def of_release(cls) -> "Layout":
        nb = release_notebook(A1)
        cells, points = [], {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            cells.append((meta.get("grade_id"), cell.source))
            if meta.get("grade") and not meta.get("solution"):
                points[meta["grade_id"]] = float(meta["points"])
        return cls(cells, points)

    def graded_from(self, index: int) -> set[str]:
        return {gid for gid, _ in self.cells[index:] if gid in self.points}

    def first_call(self, name: str) -> int:
        """Index of the first code cell that calls ``name`` (not the one defining it)."""
        for i, (_, source) in enumerate(self.cells):
            if f"{name}(" in source and f"def {name}(" not in source:
                return i
        raise LookupError(name)

    def first_graded_call(self, name: str) -> str:
        for gid, source in self.cells:
            if gid in self.points and f"{name}(" in source:
                return gid
        raise LookupError(name)


@dataclass
class Hostile:
    name: str
    build: Callable[[Context], object]  # -> notebook, raw text, or (notebook, filename, {extra files})
    same_as: str | None = None
    fails: Callable[[Layout], set] | None = None
    total: float | None = None
    expect: tuple = ()
    forbid: tuple = ()
    why: str = ""
    extra_check: Callable | None = field(default=None, repr=False)


def _append(grade_id: str, code: str):
    code = textwrap.dedent(code).strip("\n")

    def edit(gid, source):
        return source + "\n\n" + code + "\n" if gid == grade_id else source
    return edit


def wrap_calls(fn: str, before: str = "", result: str = "result", first_only: bool = False):
    """Wrap the student's ``fn``: run ``before`` on each (or the first) call, return
    ``result`` (an expression of ``result``, the reference answer)."""
    cell = "conv2d_naive" if fn == "conv2d_naive" else "conv_output_size"
    body = textwrap.indent(textwrap.dedent(before).strip("\n") or "pass", " " * 8)
    return _append(cell, f"""
_original_{fn} = {fn}
_fired_{fn} = []
def {fn}(*args, **kwargs):
    if not ({first_only!r} and _fired_{fn}):
        _fired_{fn}.append(1)
{body}
    result = _original_{fn}(*args, **kwargs)
    return {result}
""")


def solved(edit=None):
    return lambda ctx: solved_notebook(A1, edit=edit)


def solved_ctx(make_edit):
    return lambda ctx: solved_notebook(A1, edit=make_edit(ctx))


def _reads(paths_of) -> Callable:
    def make_edit(ctx):
        paths = [str(p) for p in paths_of(ctx)]
        return _append("conv2d_naive", f"""
import os as _os
_leaks = []
for _p in {paths!r}:
    try:
        if _os.path.isdir(_p):
            _os.listdir(_p)
        else:
            with open(_p, "rb") as _f:
                _f.read(16)
        _leaks.append(_p)
    except OSError:
        pass
print("LEAKED" if _leaks else "ISOLATED", _leaks)
if _leaks:
    def conv2d_naive(*args, **kwargs):
        raise RuntimeError("this submission could read " + repr(_leaks))
""")
    return make_edit


def _network(ctx):
    return _append("conv2d_naive", f"""
import socket as _socket
_reached = []
for _addr in [("127.0.0.1", {ctx.port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    _s = _socket.socket()
    _s.settimeout(2)
    try:
        if _s.connect_ex(_addr) == 0:
            _reached.append(_addr)
    except OSError:
        pass
    finally:
        _s.close()
print("REACHED" if _reached else "OFFLINE", _reached)
if _reached:
    def conv2d_naive(*args, **kwargs):
        raise RuntimeError("this submission reached the network")
""")


def _with_files(nb_builder, files: dict):
    return lambda ctx: (nb_builder(ctx), None, files)


def _renamed(ctx):
    return (solved_notebook(A1), "my_solution.ipynb", {})


def _edited_tests(ctx):
    nb = solved_notebook(A1, edit=wrap_calls("conv2d_naive", result="0.5 * result"))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell.source = 'print("all cases passed")'
    return nb


def _deleted_tests(ctx):
    nb = solved_notebook(A1)
    nb.cells = [c for c in nb.cells
                if not (c.metadata.get("nbgrader", {}).get("grade")
                        and not c.metadata["nbgrader"].get("solution"))]
    return nb


HALF = "0.5 * result"

CONTROLS = [
    Hostile("good", solved()),
    Hostile("ctl_half", solved(wrap_calls("conv2d_naive", result=HALF))),
    Hostile("ctl_runtime", solved(wrap_calls("conv2d_naive", "raise RuntimeError('control')"))),
    Hostile("ctl_oserror", solved(wrap_calls("conv2d_naive", "raise OSError('control')"))),
    Hostile("ctl_baseexc", solved(wrap_calls("conv2d_naive", """
        class _Abort(BaseException):
            pass
        raise _Abort('control')"""))),
]

CORPUS = [
    # -- time ---------------------------------------------------------------------------------
    Hostile("busy_loop", solved(wrap_calls("conv_output_size", "while True:\n    pass",
                                           first_only=True)),
            fails=lambda L: {L.first_graded_call("conv_output_size")},
            expect=("wall-time limit",), why="interrupted at the cell limit; later cells run"),
    Hostile("sleep_past_limit", solved(wrap_calls("conv_output_size", "import time\ntime.sleep(10**6)",
                                                  first_only=True)),
            fails=lambda L: {L.first_graded_call("conv_output_size")}, expect=("wall-time limit",)),
    Hostile("hang_every_call", solved(wrap_calls("conv2d_naive", "while True:\n    pass")),
            fails=lambda L: L.graded_from(L.first_call("conv2d_naive")),
            expect=("conv2d_naive is not called again",),
            why="one cell limit (the first call), then every call of conv2d_naive, direct or "
                "through apply_kernel, fails at once"),
    Hostile("ignore_sigint", solved(wrap_calls("conv_output_size", """
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass""", first_only=True)),
            fails=lambda L: L.graded_from(L.first_call("conv_output_size")),
            expect=("ignored the interrupt",), why="the kernel is killed; later cells score 0"),
    # -- memory, processes, files, output --------------------------------------------------------
    Hostile("memory_bomb", solved(wrap_calls("conv2d_naive", """
        global _hog
        _hog = [torch.empty(2**31, dtype=torch.float32) for _ in range(4)]  # 32 GiB""")),
            same_as="ctl_runtime", expect=("memory limit",)),
    Hostile("fork_bomb", solved(wrap_calls("conv2d_naive", """
        import os, time
        for _ in range(300):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)""")),
            same_as="ctl_oserror", expect=("process limit",)),
    Hostile("huge_file", solved(wrap_calls("conv2d_naive", """
        with open("huge.bin", "wb") as f:
            for _ in range(40):
                f.write(bytes(2**24))  # 640 MiB in all""")),
            same_as="ctl_oserror", expect=("file size limit",)),
    Hostile("fill_disk", solved(wrap_calls("conv2d_naive", """
        import os
        try:
            for i in range(100):
                with open(f"filler{i}.bin", "wb") as f:
                    f.write(bytes(2**25))  # 32 MiB each, 3.2 GiB in all
        except OSError as exc:
            print("DISK", exc)""", first_only=True)),
            same_as="good", expect=("No space left on device",)),
    Hostile("print_flood", solved(wrap_calls("conv_output_size", """
        for _ in range(200):
            print("x" * 100_000)  # 20 MB""", first_only=True)),
            same_as="good", expect=("output limit",)),
    # -- ending the process ------------------------------------------------------------------------
    Hostile("os_exit", solved(wrap_calls("conv2d_naive", "import os\nos._exit(3)")),
            fails=lambda L: L.graded_from(L.first_call("conv2d_naive")), expect=("kernel",)),
    Hostile("system_exit", solved(wrap_calls("conv2d_naive", "raise SystemExit(0)")),
            same_as="ctl_baseexc"),
    Hostile("keyboard_interrupt", solved(wrap_calls("conv2d_naive", "raise KeyboardInterrupt")),
            same_as="ctl_baseexc"),
    Hostile("kill_parent", solved(wrap_calls("conv2d_naive", """
        import os, signal
        for pid in {os.getppid(), 1}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass""", first_only=True)),
            same_as="good"),
    # -- reading what it should not see -----------------------------------------------------------
    Hostile("read_gradebook", solved_ctx(_reads(lambda ctx: [
        ctx.root / "autograder" / "gradebook.db", ctx.root / "autograder",
        REPO_ROOT / "autograder"])), same_as="good", expect=("ISOLATED",), forbid=("LEAKED",)),
    Hostile("read_solutions", solved_ctx(_reads(lambda ctx: [
        ctx.root / "solutions" / A1 / f"{A1}.ipynb", REPO_ROOT / "solutions" / A1 / f"{A1}.ipynb",
        REPO_ROOT / "solutions"])), same_as="good", expect=("ISOLATED",), forbid=("LEAKED",)),
    Hostile("read_other_student", solved_ctx(_reads(lambda ctx: [
        ctx.root / "autograder" / "submitted" / "aaa_good" / A1 / f"{A1}.ipynb",
        ctx.root / "autograder" / "autograded" / "aaa_good" / A1 / f"{A1}.ipynb",
        ctx.root / "autograder" / "submitted"])), same_as="good", expect=("ISOLATED",),
            forbid=("LEAKED",)),
    Hostile("read_home", solved_ctx(_reads(lambda ctx: [
        Path.home() / ".bashrc", Path.home() / ".ssh", "/etc/shadow", "/etc/passwd",
        REPO_ROOT / "README.md", REPO_ROOT / "nbgrader_config.py", ctx.root])),
            same_as="good", expect=("ISOLATED",), forbid=("LEAKED",)),
    Hostile("network", solved_ctx(_network), same_as="good", expect=("OFFLINE",),
            forbid=("REACHED",)),
    # -- faking the verdict ----------------------------------------------------------------------
    Hostile("patch_assert_close", solved(wrap_calls("conv2d_naive", """
        torch.testing.assert_close = lambda *a, **k: None
        torch.allclose = lambda *a, **k: True
        torch.equal = lambda *a, **k: True""", result=HALF)), same_as="ctl_half"),
    Hostile("tensor_subclass", solved(_append("conv2d_naive", """
class _AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("allclose", "equal", "isclose", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

_conv_reference = conv2d_naive
def conv2d_naive(*args, **kwargs):
    return (0.5 * _conv_reference(*args, **kwargs)).as_subclass(_AlwaysEqual)
""")), same_as="ctl_half"),
    Hostile("patch_checks", solved(wrap_calls("conv2d_naive", """
        import cnncourse.checks.core as core
        core.tensor_mismatch = lambda *a, **k: None
        core.run_cases = lambda *a, **k: "all cases passed"
        core._CALL_HOOK = None""", result=HALF)), same_as="ctl_half",
            why="the kernel runs only the cases; the checks run in the grader"),
    Hostile("ipython_hook", solved(wrap_calls("conv2d_naive", """
        ip = get_ipython()
        ip.set_custom_exc((BaseException,), lambda *a, **k: None)
        ip.showtraceback = lambda *a, **k: None""", result=HALF)), same_as="ctl_half"),
    Hostile("print_fake_results", solved(wrap_calls("conv2d_naive", """
        print("conv2d_naive, basic: all 6 visible cases passed.")""", result=HALF)),
            same_as="ctl_half"),
    Hostile("forbidden_conv", solved(_append("conv2d_naive", """
def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
""")), same_as="ctl_baseexc", expect=("forbids",)),
    Hostile("torch_shadow", _with_files(solved(), {
        "torch.py": "raise SystemExit('the shadowing torch.py was imported')\n",
        "cnncourse.py": "raise SystemExit('the shadowing cnncourse.py was imported')\n"}),
            same_as="good", forbid=("shadowing",)),
    # -- broken notebooks ------------------------------------------------------------------------
    Hostile("invalid_json", lambda ctx: '{"cells": [ this is not JSON', total=0.0),
    Hostile("renamed_notebook", _renamed, total=0.0),
    Hostile("deleted_test_cells", _deleted_tests, fails=lambda L: set(L.points)),
    Hostile("edited_test_cells", _edited_tests, same_as="ctl_half"),
    # -- wrong outputs ---------------------------------------------------------------------------
    Hostile("nan_outputs", solved(wrap_calls("conv2d_naive", result="result * float('nan')")),
            same_as="ctl_half", expect=("non-finite",)),
    Hostile("wrong_dtype", solved(wrap_calls("conv2d_naive", result="result.float()")),
            same_as="ctl_half", expect=("dtype",)),
    Hostile("wrong_device", solved(wrap_calls("conv2d_naive", result="result.to('meta')")),
            same_as="ctl_half", expect=("device",)),
    # -- the jail itself -------------------------------------------------------------------------
    Hostile("limits_probe", solved(_append("conv2d_naive", """
import os, resource, socket
print("PROBE uid", os.getuid(), "host", socket.gethostname(), "root", sorted(os.listdir("/")))
print("PROBE nproc", resource.getrlimit(resource.RLIMIT_NPROC),
      "fsize", resource.getrlimit(resource.RLIMIT_FSIZE),
      "as", resource.getrlimit(resource.RLIMIT_AS), "cpu", resource.getrlimit(resource.RLIMIT_CPU))
print("PROBE ifaces", sorted(name for _, name in socket.if_nameindex()))
""")), same_as="good", expect=("PROBE uid",)),
]


# Where the grader can make memory cgroups (root, cgroup memory controller writable): the
# memory of the sandbox as a whole is bounded too, not only each process's address space.
if cgroup.base() is not None:
    CORPUS.append(
        Hostile("memory_touch", solved(wrap_calls("conv2d_naive", """
            global _hog
            _hog = []
            # 18 blocks of 2**25 float32 (128 MiB) = 2.25 GiB, written. A cold kernel maps
            # ~3.2 GiB, a warm one ~3.9 GiB: the 17th block would pass the 6 GiB address-space
            # limit there, but the kernel's own cgroup (the run's 2 GiB) is full by the 16th
            for _ in range(18):
                _hog.append(torch.ones(2**25, dtype=torch.float32))""", first_only=True)),
                fails=lambda L: L.graded_from(L.first_call("conv2d_naive")),
                expect=("sandbox's memory limit",), why="the OOM killer ends the kernel (cgroup)"))


def submission_text(nb) -> str:
    return nbformat.writes(copy.deepcopy(nb)) if not isinstance(nb, str) else nb
