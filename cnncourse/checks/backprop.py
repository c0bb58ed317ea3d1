"""Checks for hand-written backward passes (assignment a3_backprop).

The student writes three ``torch.autograd.Function`` subclasses, called positionally:

- ``MaxPool2dFunction.apply(x, kernel_size, stride, padding, ceil_mode)``;
- ``AvgPool2dFunction.apply(x, kernel_size, stride, padding, ceil_mode, count_include_pad)``;
- ``Conv2dFunction.apply(x, weight, bias, stride, padding, dilation, groups)``

(``stride=None`` means ``kernel_size`` for pooling; sizes are ints or pairs). Each check
takes the class, a graded ``part``, a family (``"visible"`` or ``"hidden"``) and a seed:

- ``check_max_pool(cls, part)``: ``"forward"`` (values against ``F.max_pool2d``, the
  default stride, ``ceil_mode``, the errors PyTorch raises), ``"backward"`` (float64
  ``gradcheck`` and the gradient against autograd through ``F.max_pool2d``, on inputs
  without ties), ``"ties"`` (inputs with deliberate ties: see :data:`TIE_RULE`);
- ``check_avg_pool(cls, part)``: ``"forward"`` (with ``count_include_pad`` and
  ``ceil_mode``; the lecture's L12 example is the golden case) and ``"backward"``;
- ``check_conv2d_function(cls, part)``: ``"forward"`` (values and errors against
  ``F.conv2d``), ``"grad_input"``, ``"grad_weight"``, ``"grad_bias"`` (only that input
  requires grad; ``gradcheck`` plus comparison with autograd through ``F.conv2d``).

Values and gradients are compared in float64 with rtol 1e-7, atol 1e-9; ``gradcheck`` runs
with eps 1e-6, atol 1e-5, rtol 1e-3. Backward cases avoid what only the forward part
grades (the default stride, errors), so that one mistake costs one part.

Every part but the ties also runs float32 inputs (outputs and gradients keep the dtype;
compared with rtol 1e-4, atol 1e-5 against the float64 reference rounded to float32, no
gradcheck) and inputs and output gradients in other memory layouts (transposed views,
channels-last): see :func:`layout_variants`; where CUDA is available, the grader runs one
case per part there (:func:`cnncourse.checks.core.gpu_device`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from cnncourse import lecture
from cnncourse.i18n import N_, _
from cnncourse.checks.core import (ATEN_CONVOLUTION, ATEN_POOLING, FLOAT64_TOL,
                                   TORCH_CONVOLUTIONS, CheckFailure, CheckReport,
                                   ForbiddenCall, _short, channels_last, counted, first_line,
                                   forbid_calls, grader_module, non_contiguous, quiet,
                                   random_tensor, report_failures, tensor_mismatch,
                                   tolerance_for)

#: PyTorch's rule for tied maxima, found with ``F.max_pool2d(..., return_indices=True)``
#: (and tested in tests/test_mutants_a3_backprop.py): each window sends its whole gradient
#: to ONE element, the first maximum in row-major (reading) order inside the window.
#: Overlapping windows that pick the same element add their gradients there.
TIE_RULE = N_("each window sends its whole gradient to one element: the first maximum in "
              "row-major order inside the window (what torch.argmax returns on the flattened "
              "window); overlapping windows that pick the same element add up there.")

FORBIDDEN_POOL = (
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.max_pool2d_with_indices",
    "torch.max_pool2d",
    "torch._C._nn.max_pool2d_with_indices",
    "torch.nn.functional.avg_pool2d",
    "torch._C._nn.avg_pool2d",
    "torch.nn.functional.max_unpool2d",
    "torch.nn.functional.adaptive_max_pool2d",
    "torch.nn.functional.adaptive_avg_pool2d",
    "torch.nn.functional.lp_pool2d",
)
FORBIDDEN_CONV = TORCH_CONVOLUTIONS + ("cnncourse.conv_matrix.conv2d_im2col",)
FORBIDDEN = FORBIDDEN_POOL + FORBIDDEN_CONV + (ATEN_CONVOLUTION, ATEN_POOLING)
REASON = N_("write the forward and the backward yourself (F.unfold, F.fold and F.pad are "
            "allowed).")

GRADCHECK = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3, "fast_mode": True}

HINTS = {
    ("max", "forward"): N_("pad with -inf (never the maximum); stride=None means stride = "
                           "kernel_size; with ceil_mode the last window must start inside the "
                           "input or its left padding; RuntimeError where F.max_pool2d raises "
                           "one (e.g. padding > kernel_size // 2)."),
    ("max", "backward"): N_("the gradient of out[i, j] goes to the input element that was the "
                            "window's maximum (at its position in the unpadded input); "
                            "gradients of overlapping windows add up."),
    # "tie rule: " + TIE_RULE, written out whole for the catalog
    ("max", "ties"): N_("tie rule: each window sends its whole gradient to one element: the "
                        "first maximum in row-major order inside the window (what torch.argmax "
                        "returns on the flattened window); overlapping windows that pick the "
                        "same element add up there."),
    ("avg", "forward"): N_("divide each window's sum by the number of its elements inside the "
                           "input (count_include_pad=False) or inside input + padding, clipped "
                           "at the padded border (count_include_pad=True)."),
    ("avg", "backward"): N_("every element of a window receives grad_out / divisor of that "
                            "window (the same divisor as in the forward); overlapping windows "
                            "add up."),
    ("conv", "forward"): N_("out = weight (as a matrix) @ patches + bias; RuntimeError where "
                            "F.conv2d raises one."),
    ("conv", "grad_input"): N_("grad_input = fold(W^T @ grad_out): each patch's gradient is "
                               "added back where the patch came from (padding dropped, dilation "
                               "and stride as in the forward); pixels no window covers get 0."),
    ("conv", "grad_weight"): N_("grad_weight[o] = sum over batch and pixels of grad_out[n, o, i, "
                                "j] * patch(n, i, j), within output channel o's group."),
    ("conv", "grad_bias"): N_("grad_bias[o] = grad_out[:, o].sum() (over batch and pixels); "
                              "return None for the bias when it is None."),
}
assert HINTS[("max", "ties")] == "tie rule: " + TIE_RULE


@dataclass
class FnCase:
    """One call ``cls.apply(*tensors, *args)``; ``grads`` names the inputs that need grad."""

    name: str
    tensors: dict[str, Any]
    args: dict[str, Any]
    hint: str = ""
    grads: tuple[str, ...] = ()
    gradcheck: bool = True
    grad_seed: int = 0
    compare_grads: bool = True
    extra: dict = field(default_factory=dict)

    def describe(self, fn_name: str) -> str:
        parts = [f"{k}={_short(v)}" for k, v in self.tensors.items()]
        parts += [f"{k}={v!r}" for k, v in self.args.items()]
        need = (_("; requires_grad: {names}").format(names=", ".join(self.grads))
                if self.grads else "")
        layout = self.extra.get("grad_layout")
        if self.grads and layout is not None:
            need += (_("; grad_output channels_last") if layout is channels_last
                     else _("; grad_output non-contiguous"))
        return _("case '{name}': {call}").format(name=_(self.name),
                                                 call=f"{fn_name}({', '.join(parts)})") + need

    @property
    def dtype(self):
        x = next(iter(self.tensors.values()))
        return x.dtype if isinstance(x, torch.Tensor) else torch.float64


def fn_variant(case: FnCase, name: str, dtype: torch.dtype | None = None, layout=None,
               device=None, grad_layout=None) -> FnCase:
    """A copy of ``case`` named ``name``: its tensors in ``dtype`` (no gradcheck then) and
    on ``device``, those of 4 dimensions in the memory ``layout`` (:func:`non_contiguous`,
    :func:`channels_last`), and the output gradient in ``grad_layout``."""
    tensors = {}
    for key, value in case.tensors.items():
        if isinstance(value, torch.Tensor):
            value = value.to(dtype=dtype or value.dtype, device=device or value.device)
            if layout is not None and value.dim() == 4:
                value = layout(value)
        tensors[key] = value
    gradcheck = case.gradcheck and dtype in (None, torch.float64) and device is None
    extra = dict(case.extra, grad_layout=grad_layout) if grad_layout is not None else dict(case.extra)
    return dataclasses.replace(case, name=name, tensors=tensors, gradcheck=gradcheck, extra=extra)


def layout_variants(case: FnCase, label: str = "") -> list[FnCase]:
    """The visible dtype and layout variant of one case: float32 inputs and output gradient
    in a transposed (non-contiguous) layout. (The hidden family's variants are the grader's:
    :mod:`cnncourse.checks.hidden.backprop`.)"""
    return [fn_variant(case, _("{label}float32, transposed (non-contiguous) inputs").format(
                label=_(label)), torch.float32, non_contiguous, grad_layout=non_contiguous)]


def _check_family(family: str) -> None:
    if family not in ("visible", "hidden"):
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


# --- running ----------------------------------------------------------------------------

def _call(fn, case: FnCase, grad_out=None):
    """(output, {name: grad}) of ``fn(*tensors, *args)``; gradients only when needed."""
    tensors = {k: (v.detach().clone().requires_grad_(k in case.grads)
                   if isinstance(v, torch.Tensor) else v) for k, v in case.tensors.items()}
    out = fn(*tensors.values(), *case.args.values())
    if not case.grads:
        return out, {}
    if type(out) is not torch.Tensor:
        raise TypeError(_("returned {type}, expected a torch.Tensor").format(
            type=type(out).__name__))
    if grad_out is None:  # drawn in float64: float32 cases get the same values, rounded
        grad_out = random_tensor(tuple(out.shape), case.grad_seed).to(out.dtype)
        layout = case.extra.get("grad_layout")
        if layout is not None and grad_out.dim() == 4:
            grad_out = layout(grad_out)
    if isinstance(out, torch.Tensor) and grad_out.device != out.device:
        grad_out = grad_out.to(out.device)
    if tuple(grad_out.shape) != tuple(out.shape):
        raise RuntimeError(_("output shape {actual}, expected {expected}").format(
            actual=tuple(out.shape), expected=tuple(grad_out.shape)))
    needed = [tensors[k] for k in case.grads]
    grads = torch.autograd.grad(out, needed, grad_out, allow_unused=True)
    return out, dict(zip(case.grads, grads))


def run_function_cases(cls, reference, cases: list[FnCase], what: str, family: str,
                       backward: bool, tol: dict | None = None, max_reported: int = 3) -> CheckReport:
    """Run ``cls.apply`` on every case and compare with ``reference`` (an ``F.*`` function).

    ``backward=False``: the forward's value (or the exception PyTorch raises).
    ``backward=True``: the gradients of the inputs named in ``case.grads`` against autograd
    through the reference, for the same random ``grad_output``, then float64 ``gradcheck``.
    The reference runs in float64 and its results are rounded to the case's dtype.
    """
    name = f"{cls.__name__}.apply"
    failures = []
    with quiet():
        expectations = []
        for case in cases:
            try:
                expectations.append(_reference_results(reference, case))
            except Exception as exc:  # noqa: BLE001 - the reference refused: an error case
                expectations.append(exc)
        student_fns = [getattr(cls, "forward", None), getattr(cls, "backward", None)]
        with forbid_calls(FORBIDDEN, REASON, [f for f in student_fns if f is not None]):
            for case, expected in zip(cases, expectations):
                problem = _run_one(cls, case, expected, backward,
                                   tolerance_for(torch.empty(0, dtype=case.dtype), tol))
                if problem is not None:
                    failures.append((f"{case.describe(name)}\n    {problem}", case.hint))
    return report_failures(what, family, len(cases), failures, max_reported, passed=counted(cases))


def _reference_results(reference, case: FnCase):
    """(output, {name: grad}) of the reference, computed in float64 and rounded to the
    case's dtype."""
    if case.dtype == torch.float64:
        return _call(reference, case)
    wide = fn_variant(case, case.name, torch.float64)
    out, grads = _call(reference, wide)
    return out.to(case.dtype), {k: (g.to(case.dtype) if g is not None else None) for k, g in grads.items()}


def _run_one(cls, case: FnCase, expected, backward: bool, tol) -> str | None:
    if isinstance(expected, BaseException):
        try:
            out = cls.apply(*case.tensors.values(), *case.args.values())
        except ForbiddenCall as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, type(expected)):
                return None
            return _("raised {type}: {message}; PyTorch raises {expected_type} here: "
                     "{expected_message}").format(
                type=type(exc).__name__, message=first_line(exc),
                expected_type=type(expected).__name__, expected_message=first_line(expected))
        return _("returned {value} but these arguments are impossible: PyTorch raises "
                 "{type}: {message}").format(value=type(out).__name__,
                                             type=type(expected).__name__,
                                             message=first_line(expected))
    ref_out, ref_grads = expected
    try:
        out, grads = _call(cls.apply, case, None)
    except ForbiddenCall as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        return _("raised {type}: {message}").format(type=type(exc).__name__,
                                                    message=first_line(exc))
    if not backward:
        problem = tensor_mismatch(out, ref_out, **tol)
        return None if problem is None else _("output: {problem}").format(problem=problem)
    if case.compare_grads:
        for key in case.grads:
            got = grads[key]
            if got is None:
                return _("grad of {name}: None (your backward returned no gradient for "
                         "it)").format(name=key)
            problem = tensor_mismatch(got, ref_grads[key], **tol)
            if problem is not None:
                return _("grad of {name}: {problem}").format(name=key, problem=problem)
    if case.gradcheck:
        tensors = {k: (v.detach().clone().requires_grad_(k in case.grads)
                       if isinstance(v, torch.Tensor) else v) for k, v in case.tensors.items()}
        keys = list(tensors)
        needed = [tensors[k] for k in case.grads]

        def f(*xs):
            full = dict(tensors)
            full.update(zip(case.grads, xs))
            return cls.apply(*[full[k] for k in keys], *case.args.values())

        try:
            ok = torch.autograd.gradcheck(f, tuple(needed), raise_exception=False, **GRADCHECK)
        except ForbiddenCall as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001
            return _("gradcheck raised {type}: {message}").format(type=type(exc).__name__,
                                                                  message=first_line(exc))
        if not ok:
            return _("torch.autograd.gradcheck failed: your backward disagrees with finite "
                     "differences of your forward (float64, eps=1e-6)")
    return None


# --- pooling cases ------------------------------------------------------------------------

def _distinct(shape, seed):
    """Float64 values without ties (a random permutation, scaled, plus noise)."""
    gen = torch.Generator().manual_seed(seed)
    n = 1
    for s in shape:
        n *= s
    perm = torch.randperm(n, generator=gen).to(torch.float64)
    return ((perm - n / 2) / 4 + 0.01 * torch.rand(n, generator=gen, dtype=torch.float64)).reshape(shape)


def _tied(shape, seed, levels=3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, levels, shape, generator=gen).to(torch.float64)


def _max_args(kernel_size, stride, padding=0, ceil_mode=False):
    return {"kernel_size": kernel_size, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}


def _avg_args(kernel_size, stride, padding=0, ceil_mode=False, count_include_pad=True):
    return {"kernel_size": kernel_size, "stride": stride, "padding": padding,
            "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}


def _pool_case(kind, part, name, x, args, seed=0):
    grads = ("x",) if part in ("backward", "ties") else ()
    return FnCase(name, {"x": x}, args, HINTS[(kind, part)], grads=grads,
                  gradcheck=(part == "backward"), grad_seed=seed + 7)


def max_pool_cases(part: str, family: str = "visible", seed: int = 0) -> list[FnCase]:
    _check_family(family)
    s = seed * 1000
    if part not in ("forward", "backward", "ties"):
        raise ValueError("part must be 'forward', 'backward' or 'ties'")
    if family == "hidden":
        return grader_module("backprop").max_pool_cases(part, seed)
    c = lambda *a, **k: _pool_case("max", part, *a, **k)  # noqa: E731
    if part == "forward":
        return [
            c(N_("lecture L04/L12 input, 3x3, stride 1 (golden)"), lecture.as_nchw(lecture.EXAMPLE2_INPUT),
              _max_args(3, 1)),
            c(N_("lecture L12's shape, batch 2: (2, 16, 50, 32), kernel (3, 2), stride (2, 1)"),
              random_tensor((2, 16, 50, 32), s + 10), _max_args((3, 2), (2, 1))),
            c(N_("stride None means kernel_size"), random_tensor((2, 3, 6, 7), s + 20), _max_args(2, None)),
            c(N_("padding 1 on negative values (pad with -inf)"), -random_tensor((1, 2, 5, 5), s + 30).abs(),
              _max_args(3, 2, 1)),
            c(N_("ceil_mode, size not divisible"), random_tensor((1, 1, 7, 6), s + 40),
              _max_args(2, None, 0, True)),
            c(N_("ceil_mode: a last window starting in the padding is dropped"),
              random_tensor((1, 2, 5, 5), s + 50), _max_args(2, 2, 1, True)),
            c(N_("padding larger than half the kernel (RuntimeError)"), random_tensor((1, 1, 5, 5), s + 60),
              _max_args(2, 1, 2)),
            c(N_("kernel larger than the input (RuntimeError)"), random_tensor((1, 1, 3, 3), s + 70),
              _max_args(4, 1)),
        ] + layout_variants(c("", random_tensor((2, 3, 6, 5), s + 80), _max_args(3, 2, 1)),
                            N_("kernel 3, stride 2, padding 1, "))
    if part == "backward":
        return [
            c(N_("3x3, stride 1, overlapping windows"), _distinct((1, 1, 5, 5), s + 10), _max_args(3, 1), s + 10),
            c(N_("2x2, stride 2, channels and batch"), _distinct((2, 3, 4, 6), s + 20), _max_args(2, 2), s + 20),
            c(N_("kernel (3, 2), stride (2, 1), padding (1, 0)"), _distinct((1, 2, 6, 5), s + 30),
              _max_args((3, 2), (2, 1), (1, 0)), s + 30),
            c(N_("padding 1 on negative values"), -_distinct((1, 1, 5, 4), s + 40).abs() - 1,
              _max_args(3, 2, 1), s + 40),
            c(N_("ceil_mode, size not divisible"), _distinct((1, 2, 7, 5), s + 50),
              _max_args(2, 2, 0, True), s + 50),
        ] + layout_variants(c("", _distinct((2, 2, 6, 5), s + 60), _max_args(3, 2, 1), s + 60),
                            N_("kernel 3, stride 2, padding 1, "))
    # ties
    return [
        c(N_("a 2x2 block of equal values (golden: all to the top-left)"),
          torch.tensor([[[[5., 5., 1.], [5., 5., 0.], [2., 3., 4.]]]], dtype=torch.float64),
          _max_args(2, 2, 0, True), s + 10),
        c(N_("all values equal, 2x2, stride 1"), torch.ones(1, 1, 4, 5, dtype=torch.float64),
          _max_args(2, 1), s + 20),
        c(N_("values in {0, 1, 2}, 3x3, stride 1"), _tied((2, 2, 6, 6), s + 30), _max_args(3, 1), s + 30),
        c(N_("values in {0, 1}, kernel (2, 3), stride (2, 1)"), _tied((1, 3, 6, 7), s + 40, 2),
          _max_args((2, 3), (2, 1)), s + 40),
    ]


def avg_pool_cases(part: str, family: str = "visible", seed: int = 0) -> list[FnCase]:
    _check_family(family)
    if part not in ("forward", "backward"):
        raise ValueError("part must be 'forward' or 'backward'")
    if family == "hidden":
        return grader_module("backprop").avg_pool_cases(part, seed)
    s = seed * 1000
    c = lambda *a, **k: _pool_case("avg", part, *a, **k)  # noqa: E731
    if part == "forward":
        return [
            c(N_("lecture L12: average 3x3, stride 1 on the L04 input (golden)"),
              lecture.as_nchw(lecture.EXAMPLE2_INPUT), _avg_args(3, 1)),
            c(N_("stride None means kernel_size, non-square"), random_tensor((2, 3, 6, 7), s + 10),
              _avg_args((2, 3), None)),
            c(N_("padding 1, count_include_pad=True"), random_tensor((1, 2, 5, 5), s + 20), _avg_args(3, 2, 1)),
            c(N_("padding 1, count_include_pad=False"), random_tensor((1, 2, 5, 5), s + 30),
              _avg_args(3, 2, 1, False, False)),
            c(N_("ceil_mode with padding: windows clipped at the padded border"),
              random_tensor((1, 1, 6, 5), s + 40), _avg_args(3, 2, 1, True, True)),
            c(N_("padding larger than half the kernel (RuntimeError)"), random_tensor((1, 1, 5, 5), s + 50),
              _avg_args(3, 1, 2)),
        ] + layout_variants(c("", random_tensor((2, 3, 6, 5), s + 60), _avg_args(3, 2, 1, False, False)),
                            N_("kernel 3, stride 2, padding 1, count_include_pad=False, "))
    return [
        c(N_("3x3, stride 1, overlapping windows"), random_tensor((1, 1, 5, 5), s + 10), _avg_args(3, 1), s + 10),
        c(N_("2x2, stride 2, channels and batch"), random_tensor((2, 3, 4, 6), s + 20), _avg_args(2, 2), s + 20),
        c(N_("padding 1, count_include_pad=False"), random_tensor((1, 2, 5, 4), s + 30),
          _avg_args(3, 2, 1, False, False), s + 30),
        c(N_("ceil_mode with padding (1, 0), count_include_pad=True"), random_tensor((2, 1, 6, 5), s + 40),
          _avg_args((3, 2), (2, 2), (1, 0), True, True), s + 40),
        c(N_("ceil_mode, count_include_pad=False"), random_tensor((1, 2, 5, 7), s + 50),
          _avg_args(2, (2, 3), 1, True, False), s + 50),
    ] + layout_variants(c("", random_tensor((2, 2, 6, 5), s + 60), _avg_args(3, 2, 1, True, True), s + 60),
                        N_("kernel 3, stride 2, padding 1, "))


def _max_reference(x, kernel_size, stride, padding, ceil_mode):
    return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)


def _avg_reference(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    return F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)


#: The graded parts as a passing or failing line names them.
PART_LABELS = {"forward": N_("forward"), "backward": N_("backward"), "ties": N_("ties"),
               "grad_input": N_("grad input"), "grad_weight": N_("grad weight"),
               "grad_bias": N_("grad bias")}


def check_max_pool(cls, part: str = "forward", family: str = "visible", seed: int = 0) -> CheckReport:
    """``cls.apply(x, kernel_size, stride, padding, ceil_mode)`` against ``F.max_pool2d``."""
    cases = max_pool_cases(part, family, seed)
    return run_function_cases(cls, _max_reference, cases, f"{cls.__name__}, {_(PART_LABELS[part])}", family,
                              backward=part != "forward")


def check_avg_pool(cls, part: str = "forward", family: str = "visible", seed: int = 0) -> CheckReport:
    """``cls.apply(x, kernel_size, stride, padding, ceil_mode, count_include_pad)`` against
    ``F.avg_pool2d``."""
    cases = avg_pool_cases(part, family, seed)
    return run_function_cases(cls, _avg_reference, cases, f"{cls.__name__}, {_(PART_LABELS[part])}", family,
                              backward=part != "forward")


# --- convolution --------------------------------------------------------------------------

CONV_PARTS = ("forward", "grad_input", "grad_weight", "grad_bias")


def _conv_case(part, name, x_shape, w_shape, seed, bias=True, stride=1, padding=0, dilation=1,
               groups=1, grads=None, compare_grads=True):
    x = random_tensor(x_shape, seed)
    w = random_tensor(w_shape, seed + 1)
    b = random_tensor((w_shape[0],), seed + 2) if bias else None
    if grads is None:
        grads = {"forward": (), "grad_input": ("x",), "grad_weight": ("weight",),
                 "grad_bias": ("bias",)}[part]
    return FnCase(name, {"x": x, "weight": w, "bias": b},
                  {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
                  HINTS[("conv", part)], grads=grads, gradcheck=part != "forward" and compare_grads,
                  grad_seed=seed + 3, compare_grads=compare_grads)


def conv2d_function_cases(part: str, family: str = "visible", seed: int = 0) -> list[FnCase]:
    _check_family(family)
    if part not in CONV_PARTS:
        raise ValueError(f"part must be one of {CONV_PARTS}")
    if family == "hidden":
        return grader_module("backprop").conv2d_function_cases(part, seed)
    s = seed * 1000
    c = lambda *a, **k: _conv_case(part, *a, **k)  # noqa: E731
    grid = [
        c(N_("3 -> 2 channels, non-square"), (2, 3, 5, 4), (2, 3, 3, 2), s + 10),
        c(N_("stride 2, size not divisible (a row no window covers)"), (1, 2, 6, 5), (3, 2, 3, 3), s + 20,
          stride=2),
        c(N_("padding (1, 2), stride (2, 1)"), (2, 1, 4, 5), (2, 1, 3, 3), s + 30, padding=(1, 2),
          stride=(2, 1)),
        c(N_("dilation (2, 1)"), (1, 2, 7, 5), (2, 2, 3, 2), s + 40, dilation=(2, 1)),
        c(N_("groups 2"), (1, 4, 4, 4), (4, 2, 2, 3), s + 50, groups=2),
        c(N_("depthwise with multiplier 2, stride 2, padding 1"), (2, 2, 5, 5), (4, 1, 3, 3), s + 60,
          groups=2, stride=2, padding=1),
    ]
    if part == "forward":
        golden = FnCase(N_("lecture worked example 2 (golden)"),
                        {"x": lecture.as_nchw(lecture.EXAMPLE2_INPUT),
                         "weight": lecture.as_nchw(lecture.EXAMPLE2_KERNEL), "bias": None},
                        {"stride": 1, "padding": 0, "dilation": 1, "groups": 1},
                        HINTS[("conv", "forward")])
        grid = [golden] + grid + [
            c(N_("input channels do not match the weight (RuntimeError)"), (1, 3, 5, 5), (2, 2, 3, 3), s + 70),
            c(N_("kernel larger than the padded input (RuntimeError)"), (1, 1, 3, 3), (1, 1, 4, 4), s + 80,
              padding=(1, 0)),
            c(N_("stride 0 (RuntimeError)"), (1, 1, 5, 5), (1, 1, 3, 3), s + 90, stride=0),
        ]
    if part == "grad_bias":
        grid.append(c(N_("no bias: backward must return None for it"), (1, 2, 4, 4), (2, 2, 2, 2), s + 70,
                      bias=False, grads=("x",), compare_grads=False))
    return grid + layout_variants(c("", (2, 3, 5, 4), (2, 3, 3, 2), s + 100, padding=1, stride=(2, 1)),
                                  N_("padding 1, stride (2, 1), "))


def _conv_reference(x, weight, bias, stride, padding, dilation, groups):
    return F.conv2d(x, weight, bias, stride, padding, dilation, groups)


def check_conv2d_function(cls, part: str = "forward", family: str = "visible",
                          seed: int = 0) -> CheckReport:
    """``cls.apply(x, weight, bias, stride, padding, dilation, groups)`` against ``F.conv2d``."""
    cases = conv2d_function_cases(part, family, seed)
    return run_function_cases(cls, _conv_reference, cases, f"{cls.__name__}, {_(PART_LABELS[part])}",
                              family, backward=part != "forward")


__all__ = ["TIE_RULE", "CONV_PARTS", "check_max_pool", "check_avg_pool", "check_conv2d_function",
           "max_pool_cases", "avg_pool_cases", "conv2d_function_cases", "run_function_cases",
           "CheckFailure"]
