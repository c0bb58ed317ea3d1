"""The machinery every check shares: cases, tensor comparison, forbidden calls, reports."""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch

#: Tolerances for float64 comparisons (sums in another order differ by ~1e-15).
FLOAT64_TOL = {"rtol": 1e-7, "atol": 1e-9}


#: Every ready-made 2-D convolution in PyTorch, forward and backward: the exercises that
#: ask for a hand-written convolution forbid them while their checks run.
TORCH_CONVOLUTIONS = (
    "torch.nn.functional.conv2d",
    "torch.conv2d",
    "torch.convolution",
    "torch._convolution",
    "torch.nn.functional.conv_transpose2d",
    "torch.conv_transpose2d",
    "torch.nn.grad.conv2d_input",
    "torch.nn.grad.conv2d_weight",
)


class CheckFailure(AssertionError):
    """A check failed; the message is written for the student."""


class ForbiddenCall(CheckFailure):
    """The student's code called a function that this exercise forbids."""


@dataclass
class Case:
    """One call of the student's function: positional tensors, keyword arguments, a hint."""

    name: str
    inputs: dict[str, Any]  # name -> tensor (or None), passed positionally in order
    kwargs: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def describe(self, fn_name: str) -> str:
        parts = []
        for key, value in self.inputs.items():
            parts.append(f"{key}={_short(value)}")
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"case '{self.name}': {fn_name}({', '.join(parts)})"


def _short(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"<{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}>"
    return repr(value)


@dataclass
class CheckReport:
    """What a passing check ran; printed as one stable line in the notebook."""

    what: str
    family: str
    passed: int

    def __repr__(self) -> str:
        return f"{self.what}: all {self.passed} {self.family} cases passed."


def tensor_mismatch(actual, expected: torch.Tensor, rtol: float, atol: float) -> str | None:
    """Why ``actual`` is not ``expected`` (type, dtype, device, shape, finiteness, values).

    Returns ``None`` when they match. ``actual`` must be a plain ``torch.Tensor``:
    subclasses could overload comparisons, so they are refused.
    """
    if type(actual) is not torch.Tensor:
        return f"returned {type(actual).__name__}, expected a torch.Tensor"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, expected {expected.dtype} (keep the input's dtype)"
    if actual.device != expected.device:
        return f"device {actual.device}, expected {expected.device} (keep the input's device)"
    if tuple(actual.shape) != tuple(expected.shape):
        return f"shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    actual = actual.detach()
    expected = expected.detach()
    finite = torch.isfinite(actual)
    if not bool(finite.all()) and bool(torch.isfinite(expected).all()):
        idx = tuple(int(i) for i in (~finite).nonzero()[0])
        return f"non-finite value {actual[idx].item()} at index {idx}"
    if actual.numel() == 0:
        return None
    if expected.dtype.is_floating_point or expected.dtype.is_complex:
        err = (actual.double() - expected.double()).abs()
        allowed = atol + rtol * expected.double().abs()
        bad = err > allowed
        if bool(bad.any()):
            flat = int(torch.argmax(err).item())
            idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), err.shape))
            return (
                f"values differ in {int(bad.sum())} of {err.numel()} elements; largest error "
                f"{err[idx].item():.3g} at index {idx} (got {actual[idx].item():.6g}, expected "
                f"{expected[idx].item():.6g}; tolerance atol={atol:g}, rtol={rtol:g})"
            )
        return None
    bad = actual != expected
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        return (f"values differ in {int(bad.sum())} of {bad.numel()} elements; first at index "
                f"{idx} (got {actual[idx].item()}, expected {expected[idx].item()})")
    return None


def _resolve(dotted: str):
    module_name, attr = dotted.rsplit(".", 1)
    try:
        return importlib.import_module(module_name), attr
    except ModuleNotFoundError:  # a class attribute, e.g. "torch.Tensor.unfold"
        owner, name = _resolve(module_name)
        return getattr(owner, name), attr


@contextlib.contextmanager
def forbid_calls(names: Iterable[str], reason: str, student_fns: Iterable[Callable] = ()):
    """Make the named functions (``"torch.nn.functional.conv2d"``, …) raise while active.

    Also replaces any global or closure variable of the student's functions that refers to
    one of them (``from torch.nn.functional import conv2d``).
    """
    saved = []
    forbidden_objects = {}
    for dotted in names:
        module, attr = _resolve(dotted)
        original = getattr(module, attr)
        forbidden_objects[id(original)] = dotted

        def blocked(*args, __name=dotted, **kwargs):
            raise ForbiddenCall(f"your code called {__name}, which this exercise forbids: {reason}")

        saved.append((module, attr, original))
        setattr(module, attr, blocked)
    for fn in student_fns:
        namespace = getattr(fn, "__globals__", None)
        if namespace is None:
            continue
        for key, value in list(namespace.items()):
            dotted = forbidden_objects.get(id(value))
            if dotted is not None:
                def blocked(*args, __name=dotted, **kwargs):
                    raise ForbiddenCall(
                        f"your code called {__name}, which this exercise forbids: {reason}")
                saved.append((namespace, key, value))
                namespace[key] = blocked
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            dotted = forbidden_objects.get(id(value))
            if dotted is not None:
                def blocked(*args, __name=dotted, **kwargs):
                    raise ForbiddenCall(
                        f"your code called {__name}, which this exercise forbids: {reason}")
                saved.append((cell, None, value))
                cell.cell_contents = blocked
    try:
        yield
    finally:
        for target, attr, original in reversed(saved):
            if isinstance(target, dict):
                target[attr] = original
            elif attr is None:
                target.cell_contents = original
            else:
                setattr(target, attr, original)


@contextlib.contextmanager
def one_thread():
    """Run a check's small tensors on one thread: on a shared machine, thread
    synchronisation costs far more than these computations (grouped float64 convolutions
    slow down 1000-fold with two busy threads). The previous setting is restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def quiet():
    """Silence warnings: a PyTorch warning on stderr must not cost a correct answer points."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def expected_results(cases, reference, refusals: tuple = (Exception,)) -> list:
    """``reference(case)`` for each case, or the exception it raised (one of ``refusals``)
    when the case's arguments are impossible: then the student's function must refuse too."""
    expectations = []
    for case in cases:
        try:
            expectations.append(reference(case))
        except refusals as exc:
            expectations.append(exc)
    return expectations


def run_cases(fn: Callable, fn_name: str, cases: list[Case], reference: Callable,
              what: str, family: str, tol: dict | None = None,
              forbidden: Iterable[str] = (), forbidden_reason: str = "",
              max_reported: int = 3) -> CheckReport:
    """Run ``fn`` on each case, compare with ``reference`` and raise on any failure.

    ``reference(case)`` returns the expected tensor, or an exception instance when the
    arguments are impossible (then ``fn`` must raise an exception of the same type).
    References are computed before the forbidden functions are blocked.
    """
    tol = tol or FLOAT64_TOL
    failures = []
    with quiet(), one_thread():
        expectations = expected_results(cases, reference)
        forbidden = tuple(forbidden)
        CURRENT_RUN.set((forbidden, forbidden_reason))  # read by cnncourse.sandbox.replay
        with forbid_calls(forbidden, forbidden_reason, [fn]):
            for case, expected in zip(cases, expectations):
                problem = _run_one(fn, case, expected, tol)
                if problem is not None:
                    failures.append((f"{case.describe(fn_name)}\n    {problem}", case.hint))
    return report_failures(what, family, len(cases), failures, max_reported)


def report_failures(what: str, family: str, total: int, failures: list[tuple[str, str]],
                    max_reported: int = 3) -> CheckReport:
    """Raise :class:`CheckFailure` listing the first failures ``(description, hint)`` and
    their hints once each; or, when nothing failed, return the :class:`CheckReport`."""
    if failures:
        shown = "\n".join(text for text, _ in failures[:max_reported])
        more = len(failures) - max_reported
        hints = list(dict.fromkeys(hint for _, hint in failures[:max_reported] if hint))
        raise CheckFailure(
            f"{what}: {len(failures)} of {total} {family} cases failed.\n{shown}"
            + (f"\n({more} more failing cases not shown)" if more > 0 else "")
            + "".join(f"\nhint: {hint}" for hint in hints))
    return CheckReport(what, family, total)


#: The case that run_cases is calling the student's function on (None outside). With
#: _CALL_HOOK, the autograder records each outcome in the student's kernel and replays it
#: in a trusted process (cnncourse.sandbox.replay); both are unused in notebooks.
CURRENT_CASE: contextvars.ContextVar = contextvars.ContextVar("cnncourse_case", default=None)
#: (forbidden names, reason) of the latest run_cases call.
CURRENT_RUN: contextvars.ContextVar = contextvars.ContextVar("cnncourse_run", default=((), ""))
_CALL_HOOK: Callable | None = None


def _call(fn, case: Case, args: list):
    token = CURRENT_CASE.set(case)
    try:
        if _CALL_HOOK is not None:
            return _CALL_HOOK(fn, case, args)
        return fn(*args, **case.kwargs)
    finally:
        CURRENT_CASE.reset(token)


def _run_one(fn, case: Case, expected, tol) -> str | None:
    args = [v.clone() if isinstance(v, torch.Tensor) else v for v in case.inputs.values()]
    try:
        actual = _call(fn, case, args)
    except ForbiddenCall as exc:
        return str(exc)
    except NotImplementedError as exc:  # a RuntimeError, but never a right answer
        return f"not implemented yet (raised NotImplementedError: {_first_line(exc)})"
    except Exception as exc:  # noqa: BLE001 - any error of the student's is reported
        if isinstance(expected, BaseException):
            if isinstance(exc, type(expected)):
                return None
            return (f"raised {type(exc).__name__}: {_first_line(exc)}; PyTorch raises "
                    f"{type(expected).__name__} here: {_first_line(expected)}")
        return f"raised {type(exc).__name__}: {_first_line(exc)}"
    if isinstance(expected, BaseException):
        return (f"returned {_short(actual)} but these arguments are impossible: PyTorch raises "
                f"{type(expected).__name__}: {_first_line(expected)}")
    if isinstance(expected, torch.Tensor):
        return tensor_mismatch(actual, expected, **tol)
    if type(actual) is not type(expected) or actual != expected:
        return f"returned {actual!r}, expected {expected!r}"
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 300 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


_first_line = first_line


def random_tensor(shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    """A reproducible standard-normal tensor (independent of the global RNG)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=dtype)


def isclose(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
