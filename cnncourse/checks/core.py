"""The machinery every check shares: cases, tensor comparison, forbidden calls, reports."""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch.overrides import TorchFunctionMode

from cnncourse.i18n import N_, _, ngettext

#: Tolerances for float64 comparisons (sums in another order differ by ~1e-15).
FLOAT64_TOL = {"rtol": 1e-7, "atol": 1e-9}
#: Tolerances for float32 results (a case in float32 checks that the dtype is kept; its
#: reference is computed in float64 and rounded, sums in another order differ by ~1e-6).
FLOAT32_TOL = {"rtol": 1e-4, "atol": 1e-5}


def tolerance_for(expected, tol: dict | None = None) -> dict:
    """``tol`` (default :data:`FLOAT64_TOL`), or :data:`FLOAT32_TOL` where the default would
    compare a float32 (or half) result."""
    if (tol is None or tol is FLOAT64_TOL) and isinstance(expected, torch.Tensor) \
            and expected.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return FLOAT32_TOL
    return tol or FLOAT64_TOL


# --- inputs of every dtype and layout ----------------------------------------------------

def non_contiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in a transposed memory layout (the last two dimensions' strides
    swapped): ``t.is_contiguous()`` is False and ``.view`` across those dimensions fails,
    as on a view from ``.transpose``/``.mT``. ``clone()`` keeps this layout."""
    return t.transpose(-1, -2).contiguous().transpose(-1, -2)


def channels_last(t: torch.Tensor) -> torch.Tensor:
    """The same 4-D tensor in ``torch.channels_last`` memory format (N, H, W, C in memory)."""
    return t.contiguous(memory_format=torch.channels_last)


def gpu_device() -> str | None:
    """Where the hidden checks of a1, a2 and a3 add a case besides the CPU: "cuda" when CUDA
    is available, else None (the tests substitute another device to exercise this path;
    the hidden modules look it up here, so one patch reaches all three)."""
    return "cuda" if torch.cuda.is_available() else None


def counted(cases) -> int:
    """How many of ``cases`` a passing check's line names: those whose tensors are on the
    CPU. A case on the GPU (:func:`gpu_device`) runs and fails the check like any other, but
    is not counted, so that a passing check prints the same line on every machine (the
    solutions' test cells are compared exactly by nbval, after `make execute` on CUDA too)."""
    def on_cpu(case) -> bool:
        tensors = getattr(case, "inputs", None) or getattr(case, "tensors", {})
        return all(t.device.type == "cpu" for t in tensors.values() if isinstance(t, torch.Tensor))

    return sum(1 for case in cases if on_cpu(case))


def layout_name(t: torch.Tensor) -> str:
    """"" for a contiguous tensor, else its layout, for messages."""
    if t.is_contiguous():
        return ""
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return "channels_last"
    return "non-contiguous"


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


#: Operator families, forbidden by operator, not by Python name: with a spec
#: ``"aten::NAME|NAME|…"`` every call of PyTorch's API whose operator has one of these names
#: fails while a check runs, whatever the route (F.conv1d/2d/3d, nn modules, Tensor
#: methods, ``torch.ops.aten.*``, another library's helper), through a torch function mode
#: (:class:`ForbidOperators`). Names are ATen's (``torch.ops.aten.convolution.default`` ->
#: ``convolution``) and those of ``torch.nn.functional``. (A dispatch mode, one level lower,
#: also sees what PyTorch's own C++ calls, but made naive loops 4 times slower: graded
#: loops must stay within the time limits.)
ATEN_CONVOLUTION = "aten::" + "|".join((
    "convolution", "_convolution", "convolution_backward", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_tbc",
    "cudnn_convolution", "cudnn_convolution_transpose", "miopen_convolution",
    "mkldnn_convolution", "_nnpack_spatial_convolution", "_slow_conv2d_forward",
    "_slow_conv2d_backward", "slow_conv3d", "slow_conv3d_forward", "slow_conv_dilated2d",
    "slow_conv_dilated3d", "slow_conv_transpose2d", "slow_conv_transpose3d", "thnn_conv2d",
    "_conv_depthwise2d", "conv_depthwise3d"))
#: Ready-made im2col / col2im (F.unfold, F.fold) and the windows view (Tensor.unfold).
ATEN_UNFOLD = "aten::im2col|col2im|unfold|unfold_backward|fold"
ATEN_POOLING = "aten::" + "|".join((
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "max_pool2d_with_indices_backward",
    "max_pool3d_with_indices_backward", "mkldnn_max_pool2d", "max_unpool2d", "max_unpool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "avg_pool2d_backward", "avg_pool3d_backward",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
    "_adaptive_avg_pool3d", "_adaptive_avg_pool2d_backward", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "fractional_max_pool2d",
    "fractional_max_pool3d"))
#: Padding by mirroring or repeating the edge, called directly (``torch.ops.aten``); F.pad's
#: modes (nn.ReflectionPad2d & co. call F.pad) are the name rule ``F.pad[mode=…]``.
ATEN_EDGE_PADDING = "aten::" + "|".join(
    f"{kind}_pad{d}d" for kind in ("reflection", "replication") for d in (1, 2, 3))
ATEN_NORMALISATION = "aten::" + "|".join((
    "batch_norm", "native_batch_norm", "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training", "_native_batch_norm_legit_functional",
    "_batch_norm_impl_index", "_batch_norm_with_update", "_batch_norm_no_update",
    "native_batch_norm_backward", "batch_norm_backward", "cudnn_batch_norm",
    "miopen_batch_norm", "batch_norm_stats", "batch_norm_elemt", "instance_norm",
    "layer_norm", "native_layer_norm", "group_norm", "native_group_norm"))
#: Ready-made dropout (F.dropout & co., torch.dropout, the fused kernels).
ATEN_DROPOUT = "aten::" + "|".join((
    "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "alpha_dropout",
    "feature_alpha_dropout", "native_dropout", "native_dropout_backward", "fused_dropout",
    "_fused_dropout"))


#: Width of a check's message as IPython shows it: nbgrader's Validate indents by 4 and cuts
#: lines longer than 87 characters (``Validator.width`` 90).
MESSAGE_WIDTH = 83


class CheckFailure(AssertionError):
    """A check failed; the message is written for the student."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (the notebook, nbgrader's Validate, the feedback) shows instead of a
        traceback: the message, first and whole. The frames would only be the course's own
        check code; the message already names the case, the arguments, the shapes, what was
        expected and the largest error. Lines are wrapped (never cut) to fit nbgrader's
        Validate report, which cuts lines at 90 characters."""
        import textwrap

        lines = []
        for line in f"{type(self).__name__}: {self}".splitlines():
            indent = " " * (len(line) - len(line.lstrip()) + 4)
            lines += textwrap.wrap(line, MESSAGE_WIDTH, subsequent_indent=indent,
                                   break_on_hyphens=False) or [""]
        return lines


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
        return _("case '{name}': {call}").format(name=_(self.name),
                                                 call=f"{fn_name}({', '.join(parts)})")


def variant(case: Case, name: str, dtype: torch.dtype | None = None, layout=None,
            inputs: tuple[str, ...] | None = None, device=None) -> Case:
    """A copy of ``case`` named ``name``: its floating-point tensors in ``dtype`` (and on
    ``device``), and those named in ``inputs`` (default: every tensor of at least two
    dimensions; four for :func:`channels_last`) in the memory ``layout``, a function such
    as :func:`non_contiguous` or :func:`channels_last`. The values stay the same (rounded
    to ``dtype``): the case checks that the result keeps the input's dtype and device and
    that nothing assumes a contiguous input."""
    new = {}
    for key, value in case.inputs.items():
        if isinstance(value, torch.Tensor):
            if dtype is not None and value.dtype.is_floating_point:
                value = value.to(dtype)
            if device is not None:
                value = value.to(device)
            min_dim = 4 if layout is channels_last else 2
            if layout is not None and (inputs is None or key in inputs) and value.dim() >= min_dim:
                value = layout(value)
        new[key] = value
    return Case(name, new, dict(case.kwargs), case.hint)


def _short(value) -> str:
    if isinstance(value, torch.Tensor):
        extra = "".join(f" {e}" for e in (layout_name(value),
                                          "" if value.device.type == "cpu" else str(value.device))
                        if e)
        return f"<{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}{extra}>"
    return repr(value)


@dataclass
class CheckReport:
    """What a passing check ran; printed as one stable line in the notebook."""

    what: str
    family: str
    passed: int

    def __repr__(self) -> str:
        # English says "all 1 visible cases passed" too: one form, the same line as ever.
        if self.family == "visible":
            text = ngettext("{what}: all {passed} visible cases passed.",
                            "{what}: all {passed} visible cases passed.", self.passed)
        elif self.family == "hidden":
            text = ngettext("{what}: all {passed} hidden cases passed.",
                            "{what}: all {passed} hidden cases passed.", self.passed)
        else:
            return f"{self.what}: all {self.passed} {self.family} cases passed."
        return text.format(what=self.what, passed=self.passed)


def tensor_mismatch(actual, expected: torch.Tensor, rtol: float, atol: float) -> str | None:
    """Why ``actual`` is not ``expected`` (type, dtype, device, shape, finiteness, values).

    Returns ``None`` when they match. ``actual`` must be a plain ``torch.Tensor``:
    subclasses could overload comparisons, so they are refused.
    """
    if type(actual) is not torch.Tensor:
        return _("returned {type}, expected a torch.Tensor").format(type=type(actual).__name__)
    if actual.dtype != expected.dtype:
        return _("dtype {actual}, expected {expected} (keep the input's dtype)").format(
            actual=actual.dtype, expected=expected.dtype)
    if actual.device != expected.device:
        return _("device {actual}, expected {expected} (keep the input's device)").format(
            actual=actual.device, expected=expected.device)
    if tuple(actual.shape) != tuple(expected.shape):
        return _("shape {actual}, expected {expected}").format(
            actual=tuple(actual.shape), expected=tuple(expected.shape))
    actual = actual.detach()
    expected = expected.detach()
    finite = torch.isfinite(actual)
    if not bool(finite.all()) and bool(torch.isfinite(expected).all()):
        idx = tuple(int(i) for i in (~finite).nonzero()[0])
        return _("non-finite value {value} at index {index}").format(value=actual[idx].item(),
                                                                      index=idx)
    if actual.numel() == 0:
        return None
    if expected.dtype.is_floating_point or expected.dtype.is_complex:
        err = (actual.double() - expected.double()).abs()
        allowed = atol + rtol * expected.double().abs()
        bad = err > allowed
        if bool(bad.any()):
            flat = int(torch.argmax(err).item())
            idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), err.shape))
            return ngettext(
                "values differ in {bad} of {total} elements; largest error {error:.3g} at index "
                "{index} (got {got:.6g}, expected {expected:.6g}; tolerance atol={atol:g}, "
                "rtol={rtol:g})",
                "values differ in {bad} of {total} elements; largest error {error:.3g} at index "
                "{index} (got {got:.6g}, expected {expected:.6g}; tolerance atol={atol:g}, "
                "rtol={rtol:g})", err.numel(),
            ).format(bad=int(bad.sum()), total=err.numel(), error=err[idx].item(), index=idx,
                     got=actual[idx].item(), expected=expected[idx].item(), atol=atol, rtol=rtol)
        return None
    bad = actual != expected
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        return ngettext(
            "values differ in {bad} of {total} elements; first at index {index} (got {got}, "
            "expected {expected})",
            "values differ in {bad} of {total} elements; first at index {index} (got {got}, "
            "expected {expected})", bad.numel(),
        ).format(bad=int(bad.sum()), total=bad.numel(), index=idx, got=actual[idx].item(),
                 expected=expected[idx].item())
    return None


#: What a returned number may be: Python's own. (The autograder's records keep the value
#: of these and of plain tensors, but only the type's name of a NumPy scalar.)
PYTHON_NUMBERS = (int, float)


def _describe(value) -> str:
    """A returned value for a message: its repr and type for plain Python values, its type
    otherwise (the same text in the notebook and in the autograder, which keeps no more)."""
    if value is None or type(value) in (int, float, bool, str):
        return f"{value!r} ({type(value).__name__})"
    if type(value) is torch.Tensor:
        return _("a tensor {tensor}").format(tensor=_short(value))
    return _("a value of type {type}").format(type=type(value).__name__)


def _not_a_number(actual, expected) -> str | None:
    """Why ``actual`` cannot stand for the number ``expected`` (its type), or None:
    "<what it is>; return <what>: <how>".

    An int is expected as a Python int, or as a float with an integral value (1234.0: a
    natural transcription of a formula with ``/``; a non-integral float is a wrong value,
    not a wrong type); a float as a Python int or float. bool, NumPy scalars, tensors and
    anything else are refused, saying what to change."""
    if type(actual) in PYTHON_NUMBERS:
        return None
    integer = type(expected) is int
    if actual is None:
        return _("None; return an int") if integer else _("None; return a number")
    if isinstance(actual, torch.Tensor):
        text = (_("{value}; return an int: int(...) or .item()") if integer
                else _("{value}; return a number: float(...) or .item()"))
    else:
        text = (_("{value}, not a Python number; return an int: int(...)") if integer
                else _("{value}, not a Python number; return a number: float(...)"))
    return text.format(value=_describe(actual))


def _same_number(actual, expected, tol: dict) -> bool:
    if type(expected) is int:
        return actual == expected  # exact; 1234.0 == 1234
    err = abs(actual - expected)
    return bool(err <= tol["atol"] + tol["rtol"] * abs(expected))  # False for nan


def value_mismatch(actual, expected, tol: dict | None = None) -> str | None:
    """Why the returned ``actual`` is not ``expected``, or None: the one comparison of
    returned values that the checks share.

    - a tensor: :func:`tensor_mismatch` (type, dtype, device, shape, values within ``tol``);
    - a number: a Python int or float (see :func:`_not_a_number`); an int must be equal
      exactly (``1234.0`` is 1234), a float within ``tol`` (``rtol``, ``atol``);
    - a tuple of numbers (a pair, ...): a tuple or a list of as many numbers, each as above;
    - anything else: the same type and ``==``.
    """
    tol = tol or FLOAT64_TOL
    if isinstance(expected, torch.Tensor):
        return tensor_mismatch(actual, expected, **tol)
    if type(expected) in PYTHON_NUMBERS:
        problem = _not_a_number(actual, expected)
        if problem is not None:
            return _("returned {problem}").format(problem=problem)
        if _same_number(actual, expected, tol):
            return None
        return _("returned {actual!r}, expected {expected!r}").format(actual=actual,
                                                                     expected=expected)
    if type(expected) is tuple and all(type(e) in PYTHON_NUMBERS for e in expected):
        if not isinstance(actual, (tuple, list)):  # a list, a namedtuple: fine
            return ngettext("returned {value}; return a tuple of {n} numbers, like {example!r}",
                            "returned {value}; return a tuple of {n} numbers, like {example!r}",
                            len(expected)).format(value=_describe(actual), n=len(expected),
                                                  example=expected)
        if len(actual) != len(expected):
            return ngettext("returned {got} numbers, expected {n}: {example!r}",
                            "returned {got} numbers, expected {n}: {example!r}",
                            len(actual)).format(got=len(actual), n=len(expected),
                                                example=expected)
        for i, (a, e) in enumerate(zip(actual, expected)):
            problem = _not_a_number(a, e)
            if problem is not None:
                return _("element {i} is {problem}").format(i=i, problem=problem)
        if not all(_same_number(a, e, tol) for a, e in zip(actual, expected)):
            return _("returned {actual!r}, expected {expected!r}").format(actual=tuple(actual),
                                                                         expected=expected)
        return None
    if type(actual) is not type(expected) or actual != expected:
        return _("returned {actual!r}, expected {expected!r}").format(actual=actual,
                                                                     expected=expected)
    return None


def _resolve(dotted: str):
    module_name, attr = dotted.rsplit(".", 1)
    try:
        return importlib.import_module(module_name), attr
    except ModuleNotFoundError:  # a class attribute, e.g. "torch.Tensor.unfold"
        owner, name = _resolve(module_name)
        return getattr(owner, name), attr


_SPEC = re.compile(r"(?P<name>[\w.]+)(?:\[(?P<param>\w+)=(?P<values>[^\]]+)\])?")


def parse_forbidden(spec: str) -> tuple[str, str | None, tuple[str, ...]]:
    """``"torch.nn.functional.pad[mode=reflect|replicate|circular]"`` ->
    ``("torch.nn.functional.pad", "mode", ("reflect", "replicate", "circular"))``: the
    function is forbidden only when that argument (passed by keyword or by position, or
    its default) is one of the values. A plain dotted name forbids every call:
    ``("torch.nn.functional.conv2d", None, ())``. Specs are strings, so that the
    autograder can send them to the student's kernel."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(f"not a forbidden-call spec: {spec!r}")
    values = tuple(match["values"].split("|")) if match["values"] else ()
    return match["name"], match["param"], values


def _blocker(spec: str, original: Callable, reason: str) -> Callable:
    """What stands for ``original`` while it is forbidden: raises ForbiddenCall on the calls
    the spec forbids, and calls ``original`` on the others."""
    dotted, param, values = parse_forbidden(spec)
    if param is None:
        def blocked(*args, **kwargs):
            raise ForbiddenCall(_("your code called {name}, which this exercise forbids: "
                                  "{reason}").format(name=dotted, reason=_(reason)))
        return blocked
    signature = inspect.signature(original)

    def blocked_some(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # wrong arguments: the original says what is wrong
            return original(*args, **kwargs)
        bound.apply_defaults()
        value = bound.arguments.get(param)
        # str.__str__: the text itself, whatever a str subclass claims about equality
        if isinstance(value, str) and (value := str.__str__(value)) in values:
            raise ForbiddenCall(_("your code called {name} with {param}={value!r}, which this "
                                  "exercise forbids: {reason}").format(
                name=dotted, param=param, value=value, reason=_(reason)))
        return original(*args, **kwargs)
    return blocked_some


class ForbidOperators(TorchFunctionMode):
    """While active, a PyTorch call whose operator is in ``names`` raises
    :class:`ForbiddenCall` (``torch.ops.aten.convolution.default`` is ``convolution``)."""

    def __init__(self, names: Iterable[str], reason: str):
        super().__init__()
        self.names = frozenset(names)
        self.reason = reason
        self._allowed: set = set()  # functions seen and allowed (the mode is on every call)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func not in self._allowed:
            name = getattr(func, "__name__", "").split(".", 1)[0]
            if name in self.names:
                raise ForbiddenCall(
                    _("your code called the operator {name}, which this exercise forbids "
                      "whatever the route (F.conv1d/2d/3d, nn layers, torch.ops.aten, …): "
                      "{reason}").format(name=name, reason=_(self.reason)))
            try:
                self._allowed.add(func)
            except TypeError:  # not hashable: checked each time
                pass
        return func(*args, **kwargs) if kwargs else func(*args)


def _split_specs(names: Iterable[str]) -> tuple[list[str], set[str]]:
    """(name specs, forbidden ATen operator names) of a list of specs."""
    specs, operators = [], set()
    for spec in names:
        if spec.startswith("aten::"):
            operators.update(spec[len("aten::"):].split("|"))
        else:
            specs.append(spec)
    return specs, operators


@contextlib.contextmanager
def forbid_calls(names: Iterable[str], reason: str, student_fns: Iterable[Callable] = ()):
    """Make the named functions (``"torch.nn.functional.conv2d"``, …) raise while active.

    A name may restrict one argument (see :func:`parse_forbidden`):
    ``"torch.nn.functional.pad[mode=reflect|replicate|circular]"`` forbids only those
    modes, and ``F.pad`` adding zeros still works. Also replaces any global or closure
    variable of the student's functions that refers to one of them
    (``from torch.nn.functional import conv2d``). A spec ``"aten::NAME|…"`` (the
    ``ATEN_*`` families above) forbids those operators whatever route reaches them.
    """
    names, operators = _split_specs(names)
    saved = []
    blockers = {}  # id(original) -> what stands for it
    for spec in names:
        dotted = parse_forbidden(spec)[0]
        module, attr = _resolve(dotted)
        original = getattr(module, attr)
        blocker = _blocker(spec, original, reason)
        blockers[id(original)] = blocker
        saved.append((module, attr, original))
        setattr(module, attr, blocker)
    for fn in student_fns:
        namespace = getattr(fn, "__globals__", None)
        if namespace is None:
            continue
        for key, value in list(namespace.items()):
            blocker = blockers.get(id(value))
            if blocker is not None:
                saved.append((namespace, key, value))
                namespace[key] = blocker
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            blocker = blockers.get(id(value))
            if blocker is not None:
                saved.append((cell, None, value))
                cell.cell_contents = blocker
    try:
        with (ForbidOperators(operators, reason) if operators else contextlib.nullcontext()):
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
    References are computed before the forbidden functions are blocked. A float32 result is
    compared with :data:`FLOAT32_TOL` where ``tol`` is the default. The inputs are cloned
    for each call in their own layout (a non-contiguous or channels-last input stays so).
    """
    failures = []
    with quiet(), one_thread():
        expectations = expected_results(cases, reference)
        forbidden = tuple(forbidden)
        CURRENT_RUN.set((forbidden, forbidden_reason))  # read by cnncourse.sandbox.replay
        with forbid_calls(forbidden, forbidden_reason, [fn]):
            for case, expected in zip(cases, expectations):
                problem = _run_one(fn, case, expected, tolerance_for(expected, tol))
                if problem is not None:
                    failures.append((f"{case.describe(fn_name)}\n    {problem}", case.hint))
    return report_failures(what, family, len(cases), failures, max_reported, passed=counted(cases))


def report_failures(what: str, family: str, total: int, failures: list[tuple[str, str]],
                    max_reported: int = 3, passed: int | None = None) -> CheckReport:
    """Raise :class:`CheckFailure` listing the first failures ``(description, hint)`` and
    their hints once each; or, when nothing failed, return the :class:`CheckReport` of
    ``passed`` cases (default ``total``; see :func:`counted`)."""
    if failures:
        shown = "\n".join(text for text, _ in failures[:max_reported])
        more = len(failures) - max_reported
        hints = list(dict.fromkeys(hint for _, hint in failures[:max_reported] if hint))
        if family == "visible":
            head = ngettext("{what}: {failed} of {total} visible cases failed.",
                            "{what}: {failed} of {total} visible cases failed.", len(failures))
        elif family == "hidden":
            head = ngettext("{what}: {failed} of {total} hidden cases failed.",
                            "{what}: {failed} of {total} hidden cases failed.", len(failures))
        else:
            head = "{what}: {failed} of {total} " + family + " cases failed."
        raise CheckFailure(
            head.format(what=what, failed=len(failures), total=total) + f"\n{shown}"
            + ("\n" + ngettext("({more} more failing cases not shown)",
                               "({more} more failing cases not shown)", more).format(more=more)
               if more > 0 else "")
            + "".join("\n" + _("hint: {hint}").format(hint=_(hint)) for hint in hints))
    return CheckReport(what, family, total if passed is None else passed)


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
        return _("not implemented yet (raised NotImplementedError: {message})").format(
            message=_first_line(exc))
    except Exception as exc:  # noqa: BLE001 - any error of the student's is reported
        if isinstance(expected, BaseException):
            if isinstance(exc, type(expected)):
                return None
            return _("raised {type}: {message}; PyTorch raises {expected_type} here: "
                     "{expected_message}").format(
                type=type(exc).__name__, message=_first_line(exc),
                expected_type=type(expected).__name__, expected_message=_first_line(expected))
        return _("raised {type}: {message}").format(type=type(exc).__name__,
                                                    message=_first_line(exc))
    if isinstance(expected, BaseException):
        return _("returned {value} but these arguments are impossible: PyTorch raises "
                 "{type}: {message}").format(value=_short(actual), type=type(expected).__name__,
                                             message=_first_line(expected))
    return value_mismatch(actual, expected, tol)


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


# --- the grader's cases ------------------------------------------------------------------

#: What asking for the hidden family says where the grader's cases are not installed.
GRADER_ONLY_MESSAGE = N_("the hidden cases are the grader's: they are not part of the "
                         "students' package")


def grader_module(name: str):
    """``cnncourse.checks.hidden.<name>``, which builds the hidden family's cases.

    Imported only when hidden cases are asked for: the students' wheel leaves the
    ``cnncourse.checks.hidden`` package out (tools/student_dist.py), so that the argument
    combinations the autograder tries stay unknown. There, this raises ``LookupError``
    with :data:`GRADER_ONLY_MESSAGE` instead of an ImportError from the internals.
    """
    full = f"cnncourse.checks.hidden.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name in ("cnncourse.checks.hidden", full):
            raise LookupError(_(GRADER_ONLY_MESSAGE)) from None
        raise
