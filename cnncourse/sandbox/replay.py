"""Trusted verdicts: re-run the graded test cells in the grader, on the student's results.

In the student's kernel, :func:`cnncourse.checks.core.run_cases` calls the student's
function on each case through a hook that :func:`install_recorder` sets: every outcome
(a plain tensor, a Python scalar, the name of any other returned type, or the raised
exception's type and message) is written with ``torch.save`` to the records folder, keyed by
a digest of the case (its name, inputs and keyword arguments).

After the notebook ran, :func:`evaluate_cell` re-executes each graded test cell's source,
taken from the gradebook, in the grader's own process: its imports come from the
gradebook's locked cells, and every other name (the student's functions) is a
:class:`Replay` that answers each call of a case with the recorded outcome, loaded with
``torch.load(weights_only=True)``. The checks, the references and the comparisons thus run
in a process that the student's code never touched: patching ``torch``, the checks,
``print`` or IPython, printing fake results or returning tensor subclasses cannot change
the verdict. A case without a record (the function never returned: it looped, killed the
kernel, or the test cell was subverted) fails.

Plans keep the hidden tests out of the kernel: before execution, :func:`plan_cell` runs
each graded cell in the grader with :class:`PlanReplay` stand-ins that note every case
run_cases would call; the kernel then executes :func:`run_plan` on those cases instead of
the cell's code (checks, seeds and expected values stay in the grader).

A cell whose check uses the student's code other than through ``run_cases`` (a class
that is instantiated, a backward pass, a model) cannot be replayed: :class:`NotReplayable`
is raised and the cell keeps the verdict of the kernel (logged as such).

The messages a student reads (a case with no result, the kernel's line for a planned cell)
are templates of the course's catalog (:mod:`cnncourse.i18n`): in the grader's language for
the first, made in the grader; in the kernel's, which the sandbox sets to the grader's, for
the second.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import os
import tempfile

import torch

from cnncourse.checks import core
from cnncourse.i18n import _, ngettext

RECORD_ENV = "CNNCOURSE_RECORD_DIR"
MAX_RECORD_BYTES = 64 * 1024 * 1024


class NotReplayable(BaseException):
    """The check used the student's code in a way that records cannot answer."""


# -- digests ----------------------------------------------------------------------------------
def _feed(h, value) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}{t.device.type}".encode())
        if t.device.type != "meta":
            h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for item in value:
            _feed(h, item)
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _feed(h, value[key])
    else:
        h.update(repr(value).encode())


def case_digest(case) -> str:
    h = hashlib.sha256(b"case\0" + case.name.encode())
    for key, value in case.inputs.items():
        h.update(b"\0" + key.encode())
        _feed(h, value)
    h.update(b"\0kwargs")
    _feed(h, dict(case.kwargs))
    return h.hexdigest()


# -- the student's side -------------------------------------------------------------------------
_PLAIN = (int, float, bool, str, type(None))


def encode(value=None, exc: BaseException | None = None) -> dict:
    if exc is not None:
        return {"kind": "raise", "mro": [c.__name__ for c in type(exc).__mro__],
                "message": str(exc)[:4000]}
    if type(value) is torch.Tensor:
        if value.device.type == "cpu":
            return {"kind": "tensor", "value": value.detach().clone()}
        return {"kind": "tensor_on", "device": value.device.type, "dtype": str(value.dtype),
                "shape": list(value.shape)}
    if type(value) in _PLAIN:
        return {"kind": "plain", "value": value}
    if type(value) in (tuple, list) and len(value) <= 64:
        return {"kind": "seq", "tuple": type(value) is tuple, "items": [encode(v) for v in value]}
    return {"kind": "object", "type": type(value).__name__[:100]}


def install_recorder(directory: str) -> None:
    """Make run_cases record each outcome in ``directory`` (called in the kernel)."""

    def hook(fn, case, args):
        path = os.path.join(directory, case_digest(case) + ".pt")
        try:
            value = fn(*args, **case.kwargs)
        except Exception as exc:
            _save(encode(exc=exc), path)
            raise
        _save(encode(value), path)
        return value

    core._CALL_HOOK = hook


def _save(record: dict, path: str) -> None:
    try:
        buf = io.BytesIO()
        torch.save(record, buf)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - a record that cannot be written fails its case
        pass


# -- the grader's side --------------------------------------------------------------------------
class _Opaque:
    """Stands for a returned object that is not a plain tensor or Python value."""

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


def _exception(mro: list[str], message: str) -> BaseException:
    known = {"ForbiddenCall": core.ForbiddenCall, "CheckFailure": core.CheckFailure}
    for name in mro:
        base = known.get(name) or getattr(builtins, name, None)
        if isinstance(base, type) and issubclass(base, BaseException):
            break
    else:
        base = Exception
    if mro and mro[0] != base.__name__:
        base = type(mro[0], (base,), {"__module__": "student"})
    if not issubclass(base, Exception):  # never replay BaseExceptions: a missing result
        raise NotReplayable("a BaseException")
    return base(message)


def decode(record: dict):
    kind = record.get("kind")
    if kind == "tensor":
        value = record["value"]
        if type(value) is not torch.Tensor:
            raise ValueError("bad record")
        return value
    if kind == "tensor_on":
        dtype = getattr(torch, str(record["dtype"]).replace("torch.", ""), torch.float32)
        return torch.empty(record["shape"], dtype=dtype, device="meta")
    if kind == "plain":
        return record["value"]
    if kind == "seq":
        items = [decode(r) for r in record["items"]]
        return tuple(items) if record["tuple"] else items
    if kind == "object":
        return type(str(record["type"]), (_Opaque,), {})()
    raise ValueError(f"unknown record kind {kind!r}")


class Records:
    def __init__(self, directory: str | None):
        self.directory = directory

    def get(self, digest: str):
        if not self.directory:
            return None
        path = os.path.join(self.directory, digest + ".pt")
        try:
            if os.path.getsize(path) > MAX_RECORD_BYTES:
                return None
            return torch.load(path, weights_only=True, map_location="cpu")
        except Exception:  # noqa: BLE001 - missing or unreadable: no result
            return None


def _same(a, b) -> bool:
    if isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and (a.device.type == "meta" or bool(torch.equal(a, b))))
    try:
        return a is b or bool(a == b)
    except Exception:  # noqa: BLE001
        return False


class Replay:
    """Stands for one of the student's names; answers run_cases' calls from the records."""

    def __init__(self, name: str, records: Records):
        self.__name__ = name
        self._records = records
        self.calls = 0

    def _case(self, args, kwargs):
        """The run_cases case this call belongs to, and its inputs; NotReplayable when the
        call is not exactly that case's (outside run_cases, other arguments)."""
        case = core.CURRENT_CASE.get()
        if case is None:
            raise NotReplayable(f"{self.__name__} called outside run_cases")
        inputs = list(case.inputs.values())
        if (len(args) != len(inputs) or kwargs != dict(case.kwargs)
                or not all(_same(a, b) for a, b in zip(args, inputs))):
            raise NotReplayable(f"{self.__name__} called with other arguments than its case")
        return case, inputs

    def __call__(self, *args, **kwargs):
        case, _inputs = self._case(args, kwargs)
        self.calls += 1
        record = self._records.get(case_digest(case))
        if record is None:
            raise core.CheckFailure(_(
                "no result for case '{name}': your function did not return on it (it ran past "
                "a limit, stopped the kernel, or the test did not run)").format(name=case.name))
        if record.get("kind") == "raise":
            raise _exception(list(record.get("mro", [])), str(record.get("message", "")))
        return decode(record)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise NotReplayable(f"{self.__name__}.{name} used by the check")


class _Namespace(dict):
    """Locals of a replayed cell: the setup imports, then a Replay for any other name
    (built by ``make_replay(name)``)."""

    def __init__(self, known: dict, records: Records):
        self._init(known, lambda key: Replay(key, records))

    def _init(self, known: dict, make_replay):
        dict.__init__(self, known)
        self._make_replay = make_replay
        self.replays = []

    def __missing__(self, key):
        if hasattr(builtins, key):
            raise KeyError(key)
        replay = self._make_replay(key)
        self.replays.append(replay)
        self[key] = replay
        return replay


def setup_namespace(setup_sources: list[str]) -> dict:
    """Run only the import statements of the (trusted) locked cells."""
    namespace: dict = {"__name__": "__graded__"}
    for source in setup_sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if imports:
            exec(compile(ast.Module(body=imports, type_ignores=[]), "<setup>", "exec"), namespace)
    return namespace


def evaluate_cell(source: str, namespace: dict, records: Records):
    """Re-run one graded cell. Returns (passed, printed text, error or None, replayed) where
    ``replayed`` is False when the cell cannot be judged this way (keep the kernel's verdict)."""
    lines = []

    def _print(*args, sep=" ", end="\n", **_):
        lines.append(sep.join(str(a) for a in args) + end)

    known = dict(namespace)
    known["print"] = _print
    local = _Namespace(known, records)
    error = None
    try:
        code = compile(source, "<graded cell>", "exec")
        exec(code, {"__builtins__": builtins, "__name__": "__graded__"}, local)
    except NotReplayable:
        return False, "", None, False
    except Exception as exc:  # noqa: BLE001 - the check's verdict
        error = exc
    if not any(r.calls for r in local.replays):
        return False, "", None, False  # nothing of the student's was judged here
    text = "".join(lines)
    return error is None, text, error, True


# -- hidden tests never reach the kernel: plans -------------------------------------------------
class _Planned(Exception):
    """Raised by a PlanReplay once it noted a call: the case runs later, in the kernel."""


class PlanReplay(Replay):
    """Stands for a student's name while the grader *plans* a test cell: notes each case
    that run_cases would call it on (inputs, keyword arguments, forbidden functions)."""

    def __init__(self, name: str, calls: list):
        super().__init__(name, Records(None))
        self._calls = calls

    def __call__(self, *args, **kwargs):
        case, inputs = self._case(args, kwargs)
        forbidden, reason = core.CURRENT_RUN.get()
        self._calls.append({"fn": self.__name__, "digest": case_digest(case),
                            "args": [v.clone() if isinstance(v, torch.Tensor) else v for v in inputs],
                            "kwargs": dict(case.kwargs), "forbidden": list(forbidden),
                            "reason": str(reason)})
        raise _Planned()


class _PlanNamespace(_Namespace):
    def __init__(self, known: dict, calls: list):
        self._init(known, lambda key: PlanReplay(key, calls))


def _plannable(value) -> bool:
    if value is None or type(value) in (int, float, bool, str):
        return True
    if type(value) is torch.Tensor:
        return value.device.type == "cpu"
    if type(value) in (tuple, list):
        return all(_plannable(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plannable(v) for k, v in value.items())
    return False


def plan_cell(source: str, namespace: dict) -> list | None:
    """The calls a graded cell makes of the student's functions, or None when the cell
    cannot be planned (then the kernel runs its source, and the verdict is replayed or,
    failing that, the kernel's)."""
    calls: list = []
    known = dict(namespace)
    known["print"] = lambda *a, **k: None
    local = _PlanNamespace(known, calls)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:  # statement by statement: a failing check must not hide the next
        code = compile(ast.Module(body=[node], type_ignores=[]), "<graded cell>", "exec")
        try:
            exec(code, {"__builtins__": builtins, "__name__": "__graded__"}, local)
        except NotReplayable:
            return None
        except Exception:  # noqa: BLE001 - the check failed on the _Planned cases
            pass
    if not calls or not all(_plannable(c["args"]) and _plannable(c["kwargs"]) for c in calls):
        return None
    return calls


def run_plan(path: str) -> None:
    """In the kernel: call the student's functions on the planned cases, record the results.

    This is what the kernel executes instead of a graded cell's source, so the hidden tests'
    code (checks, seeds, expected values) never reaches the student's process."""
    import sys

    namespace = sys._getframe(1).f_globals
    calls = torch.load(path, weights_only=True)
    try:
        os.unlink(path)
    except OSError:
        pass
    directory = os.path.dirname(path)
    ran = 0
    with core.quiet():
        for call in calls:
            fn = namespace.get(call["fn"])
            target = os.path.join(directory, call["digest"] + ".pt")
            if fn is None:
                _save(encode(exc=NameError(f"name '{call['fn']}' is not defined")), target)
                continue
            args = [v.clone() if isinstance(v, torch.Tensor) else v for v in call["args"]]
            with core.forbid_calls(call["forbidden"], call["reason"], [fn]):
                try:
                    value = fn(*args, **call["kwargs"])
                except Exception as exc:  # noqa: BLE001 - recorded, judged by the grader
                    _save(encode(exc=exc), target)
                    continue
            _save(encode(value), target)
            ran += 1
    print(ngettext("[autograder] {count} case run; the verdict comes from the grader.",
                   "[autograder] {count} cases run; the verdict comes from the grader.",
                   len(calls)).format(count=len(calls)))


class NotCalledAgain(BaseException):
    """Raised by a student function that ran past a cell's time limit, on every later call.

    A BaseException, like the KeyboardInterrupt that stopped it: no ``except Exception`` in
    the student's code or in :func:`run_plan` turns it into a result, so the case (and the
    rest of its cell) fails at once."""


def stop_calling(namespace: dict, name: str, message: str) -> None:
    """In the kernel, after ``name`` hung: replace it by a function that raises at once."""
    def not_called_again(*args, **kwargs):
        raise NotCalledAgain(message)

    not_called_again.__name__ = not_called_again.__qualname__ = name
    namespace[name] = not_called_again


def save_plan(calls: list, directory: str, name: str) -> str:
    path = os.path.join(directory, f"plan-{name}.pt")
    torch.save(calls, path)
    return path
