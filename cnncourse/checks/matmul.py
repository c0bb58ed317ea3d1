"""Checks for convolution as matrix multiplication (assignment a2_conv_as_matmul).

Three functions are checked, each on one graded part (``topic``) at a time:

- ``check_conv_matrix(fn)``: the L09 matrix ``M`` with ``M @ x.flatten() ==
  conv(x).flatten()`` for a single-channel (kH, kW) kernel, against
  :func:`cnncourse.conv_matrix.conv_matrix`;
- ``check_conv2d_im2col(fn, topic)``: the convolution as one matrix product, against
  ``F.conv2d``; topics ``"basic"`` (golden lecture examples, channels, bias, batch),
  ``"stride_padding_dilation"`` (groups 1), ``"groups"`` (grouped and depthwise, with
  stride; no padding, dilation 1) and ``"errors"``;
- ``check_im2col_speed(fn)``: the same function on (8, 16, 32, 32)×(32, 16, 3, 3), timed
  against ``F.conv2d`` (median of several runs);
- ``check_conv_transpose2d(fn, topic)``: against ``F.conv_transpose2d``; topics
  ``"basic"`` (the L30 golden example, channels, bias, batch), ``"stride_padding"`` (stride,
  padding, output_padding, dilation; groups 1), ``"groups"`` (with stride) and ``"errors"``.

The topics are disjoint on purpose: a bug in one feature costs the points of that part only.
The ``"basic"`` topics also pass float32 inputs (the result must keep the input's dtype)
and inputs in other memory layouts (channels-last, transposed: nothing may assume a
contiguous input). Values are compared in float64 with ``FLOAT64_TOL`` (rtol 1e-7, atol
1e-9), float32 results with ``FLOAT32_TOL`` (rtol 1e-4, atol 1e-5) against the float64
reference rounded to float32; the timed case runs in float32 and is compared with rtol
1e-4, atol 1e-4.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from cnncourse import conv_matrix as _reference_module
from cnncourse import lecture
from cnncourse.i18n import N_, _
from cnncourse.checks.core import (ATEN_CONVOLUTION, ATEN_UNFOLD, TORCH_CONVOLUTIONS, Case,
                                   CheckFailure, CheckReport, channels_last,
                                   forbid_calls, grader_module, non_contiguous, quiet,
                                   random_tensor, run_cases, tensor_mismatch, variant)

CONV2D_TOPICS = ("basic", "stride_padding_dilation", "groups", "errors")
TRANSPOSE_TOPICS = ("basic", "stride_padding", "groups", "errors")
#: The topics as a passing or failing line names them.
TOPIC_LABELS = {"basic": N_("basic"), "stride_padding_dilation": N_("stride padding dilation"),
                "stride_padding": N_("stride padding"), "groups": N_("groups"),
                "errors": N_("errors")}

#: Every convolution PyTorch offers, and the course's own reference implementations.
FORBIDDEN_CONV = TORCH_CONVOLUTIONS + (
    "cnncourse.conv_matrix.conv_matrix",
    "cnncourse.conv_matrix.im2col",
    "cnncourse.conv_matrix.conv2d_im2col",
    ATEN_CONVOLUTION,
)
#: ... and every ready-made im2col / col2im.
FORBIDDEN_UNFOLD = FORBIDDEN_CONV + (
    "torch.nn.functional.unfold",
    "torch.nn.functional.fold",
    "torch.nn.Unfold",
    "torch.nn.Fold",
    "torch.Tensor.unfold",
    "torch._C._nn.im2col",
    "torch._C._nn.col2im",
    ATEN_UNFOLD,
)
REASON_MATRIX = N_("build the matrix yourself from the kernel's values.")
REASON_IM2COL = N_("gather the patches yourself (e.g. with Tensor.as_strided) and multiply "
                   "matrices; no unfold and no ready-made convolution.")
REASON_TRANSPOSE = N_("multiply by the transpose yourself; no ready-made (transposed) "
                      "convolution.")

TOL_SPEED = {"rtol": 1e-4, "atol": 1e-4}

#: The benchmark of the speed test: (x shape, weight shape, padding).
SPEED_CASE = ((8, 16, 32, 32), (32, 16, 3, 3), 0)
SPEED_TARGET = 10.0  # what the visible test asks for
SPEED_LIMIT = 25.0  # what the hidden test grades (generous: machines are noisy)


def _check_family(family: str) -> None:
    if family not in ("visible", "hidden"):
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


# --- conv_matrix --------------------------------------------------------------------------

HINT_MATRIX = N_("row i*W_out + j belongs to output pixel (i, j); it holds kernel[u, v] in "
                 "column (i + u)*W + (j + v) and zeros elsewhere; raise ValueError when the "
                 "kernel is larger than the input.")


def conv_matrix_cases(family: str = "visible", seed: int = 0) -> list[Case]:
    """Cases ``conv_matrix(input_hw, weight)`` with a (kH, kW) kernel."""
    _check_family(family)

    def case(name, hw, khw, s, dtype=torch.float64):
        return Case(name, {"input_hw": hw, "weight": random_tensor(khw, s, dtype)}, {}, HINT_MATRIX)

    s = seed * 1000
    if family == "visible":
        golden = Case(N_("lecture L09: 3x3 input, 2x2 kernel (golden)"),
                      {"input_hw": (3, 3),
                       "weight": torch.tensor(lecture.EXAMPLE1_KERNEL, dtype=torch.float64)},
                      {}, HINT_MATRIX)
        golden2 = Case(N_("lecture L04 example 2: 5x5 input, 3x3 kernel (golden)"),
                       {"input_hw": (5, 5),
                        "weight": torch.tensor(lecture.EXAMPLE2_KERNEL, dtype=torch.float64)},
                       {}, HINT_MATRIX)
        return [golden, golden2,
                case(N_("non-square input 4x6, kernel 2x3"), (4, 6), (2, 3), s + 10),
                case(N_("non-square input 5x3, kernel 3x1"), (5, 3), (3, 1), s + 20),
                case(N_("kernel as large as the input"), (3, 4), (3, 4), s + 30),
                case(N_("float32 kernel keeps float32"), (4, 4), (2, 2), s + 40, torch.float32),
                case(N_("kernel taller than the input (ValueError)"), (2, 5), (3, 2), s + 50)]
    return grader_module("matmul").conv_matrix_cases(seed)


def _conv_matrix_reference(case: Case):
    hw, weight = case.inputs["input_hw"], case.inputs["weight"]
    m = _reference_module.conv_matrix(hw, weight)
    # Cross-check the reference against F.conv2d itself on a random input.
    x = random_tensor(hw, 7, weight.dtype)
    direct = F.conv2d(x[None, None], weight[None, None]).flatten()
    if tensor_mismatch(m @ x.flatten(), direct, rtol=1e-4, atol=1e-4) is not None:
        raise RuntimeError(_("internal error: reference conv_matrix disagrees with F.conv2d"))
    return m


def check_conv_matrix(conv_matrix, family: str = "visible", seed: int = 0) -> CheckReport:
    """Compare ``conv_matrix(input_hw, weight)`` with the course's reference matrix."""
    return run_cases(conv_matrix, "conv_matrix", conv_matrix_cases(family, seed),
                     _conv_matrix_reference, what="conv_matrix", family=family,
                     forbidden=FORBIDDEN_CONV, forbidden_reason=REASON_MATRIX)


# --- conv2d_im2col ------------------------------------------------------------------------

HINTS_CONV = {
    "basic": N_("out[n, o] = weight[o].flatten() @ patches; a patch holds x[n, :, i:i+kH, "
                "j:j+kW] in the order of weight.reshape(C_out, -1); add bias[o]; keep the "
                "input's dtype and device; take strides from the tensor (.stride()) or make it "
                ".contiguous() first, and reshape rather than view: inputs may be "
                "non-contiguous."),
    "stride_padding_dilation": N_("pad x with zeros first; patch (i, j) starts at (i*stride_h, "
                                  "j*stride_w) and its element (u, v) sits at (u*dilation_h, "
                                  "v*dilation_w) from there; H_out = floor((H + 2*padding - "
                                  "dilation*(k - 1) - 1) / stride) + 1."),
    "groups": N_("split the input channels into groups of C_in/groups = weight.shape[1] and "
                 "the output channels into groups of C_out/groups; output group g sees input "
                 "group g only (output channel o is in group o // (C_out/groups))."),
    "errors": N_("raise RuntimeError for impossible arguments, as F.conv2d does."),
}


def _conv_case(name, x_shape, w_shape, seed, hint, bias=True, **kwargs) -> Case:
    x = random_tensor(x_shape, seed)
    w = random_tensor(w_shape, seed + 1)
    b = random_tensor((w_shape[0],), seed + 2) if bias else None
    return Case(name, {"x": x, "weight": w, "bias": b}, kwargs, hint)


def _layout_pair(f32: Case, nc: Case, label: str) -> list[Case]:
    return [variant(f32, _("{label}float32 inputs (channels-last x) keep float32").format(
                label=label), torch.float32, channels_last, ("x",)),
            variant(nc, _("{label}non-contiguous x and weight (transposed layout)").format(
                label=label), layout=non_contiguous)]


def conv_layout_cases(shape32, w_shape32, shape_nc, w_shape_nc, seed: int,
                      label: str = "") -> list[Case]:
    """conv2d_im2col's dtype and layout cases: float32 inputs (x channels-last), and
    float64 inputs in a transposed, non-contiguous layout (x and weight)."""
    h = HINTS_CONV["basic"]
    return _layout_pair(_conv_case("", shape32, w_shape32, seed, h),
                        _conv_case("", shape_nc, w_shape_nc, seed + 5, h), label)


def transpose_layout_cases(shape32, w_shape32, shape_nc, w_shape_nc, seed: int,
                           label: str = "") -> list[Case]:
    """conv_transpose2d's dtype and layout cases (weight (C_in, C_out, kH, kW))."""
    h = HINTS_T["basic"]
    return _layout_pair(_t_case("", shape32, w_shape32, seed, h),
                        _t_case("", shape_nc, w_shape_nc, seed + 5, h), label)


def _conv_visible(topic: str, seed: int) -> list[Case]:
    s, h = seed * 1000, HINTS_CONV[topic]
    if topic == "basic":
        golden = [Case(_("lecture worked example {i} (golden)").format(i=i),
                       {"x": lecture.as_nchw(inp), "weight": lecture.as_nchw(ker), "bias": None},
                       {}, h)
                  for i, (inp, ker) in enumerate([(lecture.EXAMPLE1_INPUT, lecture.EXAMPLE1_KERNEL),
                                                  (lecture.EXAMPLE2_INPUT, lecture.EXAMPLE2_KERNEL)], 1)]
        return golden + [
            _conv_case(N_("3 -> 4 channels, non-square input and kernel"), (2, 3, 6, 5), (4, 3, 3, 2), s + 10, h),
            _conv_case(N_("batch 1, 1x1 kernel"), (1, 2, 4, 7), (3, 2, 1, 1), s + 20, h),
            _conv_case(N_("kernel as large as the input"), (2, 2, 3, 4), (2, 2, 3, 4), s + 30, h, bias=False),
        ] + conv_layout_cases((2, 3, 5, 4), (2, 3, 3, 2), (2, 2, 5, 6), (3, 2, 3, 2), s + 40)
    if topic == "stride_padding_dilation":
        return [
            _conv_case(N_("stride 2"), (1, 2, 7, 7), (2, 2, 3, 3), s + 10, h, stride=2),
            _conv_case(N_("stride (2, 1), padding (2, 0)"), (2, 1, 8, 6), (3, 1, 3, 2), s + 20, h,
                       stride=(2, 1), padding=(2, 0)),
            _conv_case(N_("padding 1"), (1, 2, 5, 6), (2, 2, 3, 3), s + 30, h, padding=1),
            _conv_case(N_("dilation (2, 1), non-square kernel"), (2, 2, 9, 6), (3, 2, 3, 2), s + 40, h,
                       dilation=(2, 1)),
            _conv_case(N_("stride 3, padding 1, dilation 2, size not divisible"), (1, 3, 10, 9),
                       (2, 3, 3, 2), s + 50, h, stride=3, padding=1, dilation=2),
        ]
    if topic == "groups":
        return [
            _conv_case(N_("groups 2"), (1, 4, 5, 5), (6, 2, 3, 3), s + 10, h, groups=2),
            _conv_case(N_("depthwise, groups = channels = 3"), (2, 3, 6, 5), (3, 1, 3, 3), s + 20, h,
                       groups=3),
            _conv_case(N_("depthwise with multiplier 2"), (1, 3, 5, 6), (6, 1, 2, 3), s + 30, h, groups=3),
            _conv_case(N_("groups 2 with stride (1, 2)"), (2, 4, 7, 8), (4, 2, 2, 3), s + 40,
                       h, groups=2, stride=(1, 2)),
        ]
    if topic == "errors":
        return [
            _conv_case(N_("kernel larger than the input"), (1, 1, 3, 3), (1, 1, 4, 2), s + 10, h),
            _conv_case(N_("input channels do not match the weight"), (1, 3, 5, 5), (2, 2, 3, 3), s + 20, h),
            _conv_case(N_("out channels not divisible by groups"), (1, 4, 5, 5), (3, 2, 3, 3), s + 30, h,
                       groups=2),
            _conv_case(N_("stride 0"), (1, 1, 5, 5), (1, 1, 3, 3), s + 40, h, stride=0),
            _conv_case(N_("negative padding"), (1, 1, 5, 5), (1, 1, 3, 3), s + 50, h, padding=-1),
            _conv_case(N_("dilation 0"), (1, 1, 5, 5), (1, 1, 3, 3), s + 60, h, dilation=0),
        ]
    raise ValueError(f"unknown topic {topic!r}; choose one of {CONV2D_TOPICS}")


def conv2d_im2col_cases(topic: str, family: str = "visible", seed: int = 0) -> list[Case]:
    _check_family(family)
    if topic not in CONV2D_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; choose one of {CONV2D_TOPICS}")
    if family == "hidden":
        return grader_module("matmul").conv2d_im2col_cases(topic, seed)
    return _conv_visible(topic, seed)


def _double(*tensors):
    return [t.double() if isinstance(t, torch.Tensor) else t for t in tensors]


def _conv2d_reference(case: Case):
    """F.conv2d, computed in float64 and rounded to the input's dtype."""
    x, w, b = case.inputs.values()
    return F.conv2d(*_double(x, w, b), **case.kwargs).to(x.dtype)


def check_conv2d_im2col(conv2d_im2col, topic: str = "basic", family: str = "visible",
                        seed: int = 0) -> CheckReport:
    """Compare ``conv2d_im2col(x, weight, bias, **kwargs)`` with ``F.conv2d``."""
    cases = conv2d_im2col_cases(topic, family, seed)
    return run_cases(conv2d_im2col, "conv2d_im2col", cases, _conv2d_reference,
                     what=f"conv2d_im2col, {_(TOPIC_LABELS[topic])}", family=family,
                     forbidden=FORBIDDEN_UNFOLD, forbidden_reason=REASON_IM2COL)


# --- speed ---------------------------------------------------------------------------------

class SpeedReport(CheckReport):
    def __init__(self, family, ratio, ms_student, ms_reference, limit):
        super().__init__("conv2d_im2col speed", family, 1)
        self.ratio, self.ms_student, self.ms_reference, self.limit = (
            ratio, ms_student, ms_reference, limit)

    def __repr__(self) -> str:
        x_shape, w_shape, padding = SPEED_CASE
        verdict = (_("within the target") if self.ratio <= SPEED_TARGET
                   else _("slower than the target of {target:g}x").format(target=SPEED_TARGET))
        where = f"{x_shape} x {w_shape}" + (
            _(", padding {padding}").format(padding=padding) if padding else "")
        if self.limit:
            text = _("conv2d_im2col on {where}: values correct; median {ms:.2f} ms against "
                     "F.conv2d's {ms_ref:.2f} ms, {ratio:.1f}x ({verdict}; target {target:g}x, "
                     "graded limit {limit:g}x)")
        else:
            text = _("conv2d_im2col on {where}: values correct; median {ms:.2f} ms against "
                     "F.conv2d's {ms_ref:.2f} ms, {ratio:.1f}x ({verdict}; target {target:g}x)")
        return text.format(where=where, ms=self.ms_student, ms_ref=self.ms_reference,
                           ratio=self.ratio, verdict=verdict, target=SPEED_TARGET, limit=self.limit)


def measure_speed(fn, seed: int = 0, repeats: int = 7, inner: int = 3, cap: float | None = None,
                  device=None):
    """(student's median seconds, F.conv2d's median seconds) on :data:`SPEED_CASE`.

    Runs interleave the two functions so that load on the machine hits both alike, on one
    CPU thread (on a shared machine, multi-threaded timings swing by 10x and more). The
    student's function runs with the forbidden functions blocked. When ``cap`` is given and
    the first run is already slower than ``cap`` times the reference, timing stops early.
    """
    x_shape, w_shape, padding = SPEED_CASE
    x = random_tensor(x_shape, seed, torch.float32).to(device or "cpu")
    w = random_tensor(w_shape, seed + 1, torch.float32).to(x.device)
    b = random_tensor((w_shape[0],), seed + 2, torch.float32).to(x.device)

    def sync():
        if x.device.type == "cuda":
            torch.cuda.synchronize()

    def timed(f):
        sync()
        start = time.perf_counter()
        for _unused in range(inner):
            f(x, w, b, padding=padding)
        sync()
        return (time.perf_counter() - start) / inner

    reference = F.conv2d
    expected = reference(x, w, b, padding=padding)
    t_ref, t_student = [], []
    threads = torch.get_num_threads()
    with quiet():
        with forbid_calls(FORBIDDEN_UNFOLD, REASON_IM2COL, [fn]):
            try:
                actual = fn(x, w, b, padding=padding)  # warm-up and correctness
            except Exception as exc:  # noqa: BLE001
                raise CheckFailure(_("conv2d_im2col speed: the benchmark case raised {type}: "
                                     "{message}").format(type=type(exc).__name__,
                                                          message=exc)) from None
        problem = tensor_mismatch(actual, expected, **TOL_SPEED)
        if problem is not None:
            raise CheckFailure(_("conv2d_im2col speed: the benchmark case x={x}, weight={weight}, "
                                 "padding={padding} (float32) is wrong: {problem}").format(
                x=x_shape, weight=w_shape, padding=padding, problem=problem))
        reference(x, w, b, padding=padding)
        torch.set_num_threads(1)
        try:
            for r in range(repeats):
                t_ref.append(timed(reference))
                with forbid_calls(FORBIDDEN_UNFOLD, REASON_IM2COL, [fn]):
                    t_student.append(timed(fn))
                if cap is not None and r == 0 and t_student[0] > 3 * cap * t_ref[0]:
                    break
        finally:
            torch.set_num_threads(threads)
    return statistics.median(t_student), statistics.median(t_ref)


def check_im2col_speed(conv2d_im2col, family: str = "visible", seed: int = 0,
                       limit: float | None = None, device=None) -> SpeedReport:
    """Time ``conv2d_im2col`` against ``F.conv2d`` on :data:`SPEED_CASE`.

    The visible family checks the values and reports the ratio (the target is 10x); the
    hidden family fails when the median ratio exceeds ``limit`` (default 25x).
    """
    _check_family(family)
    if family == "hidden" and limit is None:
        limit = SPEED_LIMIT
    t_student, t_ref = measure_speed(conv2d_im2col, seed=seed, cap=limit, device=device)
    ratio = t_student / t_ref
    report = SpeedReport(family, ratio, 1000 * t_student, 1000 * t_ref, limit)
    if limit is not None and ratio > limit:
        raise CheckFailure(
            _("conv2d_im2col speed: {ratio:.1f}x slower than F.conv2d on x={x}, weight={weight} "
              "(median {ms:.1f} ms against {ms_ref:.1f} ms); the limit is {limit:g}x.").format(
                ratio=ratio, x=SPEED_CASE[0], weight=SPEED_CASE[1], ms=1000 * t_student,
                ms_ref=1000 * t_ref, limit=limit)
            + "\n" + _("hint: {hint}").format(hint=_(
                "no Python loop over output pixels or patches: build all patches at once with "
                "one as_strided view, then do one matrix multiplication (torch.matmul broadcasts "
                "over groups and batch).")))
    return report


# --- conv_transpose2d ---------------------------------------------------------------------

HINTS_T = {
    "basic": N_("the transposed convolution multiplies by M^T: every input pixel x[n, c, i, j] "
                "adds x[n, c, i, j] * weight[c, o] to the output window at (i, j); weight is "
                "(C_in, C_out, kH, kW); keep the input's dtype and device (x.new_zeros); "
                "reshape, not view: inputs may be non-contiguous."),
    "stride_padding": N_("input pixel (i, j) adds its window at (i*stride_h, j*stride_w), kernel "
                         "element (u, v) at offset (u*dilation_h, v*dilation_w); then crop "
                         "`padding` from each side; output_padding adds rows/columns at the "
                         "bottom/right: H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + "
                         "output_padding + 1."),
    "groups": N_("weight is (C_in, C_out/groups, kH, kW); input channel c belongs to group "
                 "c // (C_in/groups) and feeds output channels [g*C_out/groups, "
                 "(g+1)*C_out/groups)."),
    "errors": N_("raise RuntimeError where F.conv_transpose2d does: output_padding must be "
                 "smaller than stride or dilation (in each direction), channels must match, "
                 "the output must have a positive size, ..."),
}


def _t_case(name, x_shape, w_shape, seed, hint, bias=True, groups=1, **kwargs) -> Case:
    x = random_tensor(x_shape, seed)
    w = random_tensor(w_shape, seed + 1)
    b = random_tensor((w_shape[1] * groups,), seed + 2) if bias else None
    if groups != 1:
        kwargs["groups"] = groups
    return Case(name, {"x": x, "weight": w, "bias": b}, kwargs, hint)


def _t_visible(topic: str, seed: int) -> list[Case]:
    s, h = seed * 1000, HINTS_T[topic]
    if topic == "basic":
        golden = Case(N_("lecture L30: arange(1, 17) as 4x4, 2x2 kernel of ones (golden)"),
                      {"x": torch.arange(1, 17, dtype=torch.float64).reshape(1, 1, 4, 4),
                       "weight": torch.ones(1, 1, 2, 2, dtype=torch.float64), "bias": None}, {}, h)
        return [golden,
                _t_case(N_("2 -> 3 channels, non-square input and kernel"), (2, 2, 3, 5), (2, 3, 2, 3),
                        s + 10, h),
                _t_case(N_("batch 1, 1x1 kernel"), (1, 3, 4, 2), (3, 2, 1, 1), s + 20, h),
                _t_case(N_("1x1 input"), (2, 2, 1, 1), (2, 1, 3, 2), s + 30, h, bias=False)] + \
            transpose_layout_cases((2, 3, 4, 3), (3, 2, 2, 3), (1, 2, 3, 4), (2, 3, 3, 2), s + 40)
    if topic == "stride_padding":
        return [
            _t_case(N_("stride 2"), (1, 2, 3, 3), (2, 2, 3, 3), s + 10, h, stride=2),
            _t_case(N_("stride (2, 1), padding (1, 0)"), (2, 1, 4, 3), (1, 2, 3, 2), s + 20, h,
                    stride=(2, 1), padding=(1, 0)),
            _t_case(N_("stride 2, output_padding 1"), (1, 2, 3, 4), (2, 1, 3, 3), s + 30, h, stride=2,
                    output_padding=1),
            _t_case(N_("dilation 2, output_padding (1, 0) (smaller than dilation)"), (1, 1, 3, 3),
                    (1, 2, 2, 3), s + 40, h, dilation=2, output_padding=(1, 0)),
            _t_case(N_("stride 3, padding 2, dilation (1, 2)"), (2, 2, 4, 3), (2, 2, 3, 3), s + 50, h,
                    stride=3, padding=2, dilation=(1, 2)),
        ]
    if topic == "groups":
        return [
            _t_case(N_("groups 2"), (1, 4, 3, 4), (4, 3, 2, 2), s + 10, h, groups=2),
            _t_case(N_("depthwise, groups = channels = 3"), (2, 3, 4, 3), (3, 1, 3, 2), s + 20, h, groups=3),
            _t_case(N_("groups 2 with stride (2, 1)"), (1, 4, 3, 3), (4, 2, 3, 3), s + 30, h,
                    groups=2, stride=(2, 1)),
        ]
    if topic == "errors":
        return [
            _t_case(N_("output_padding 1 with stride 1 and dilation 1"), (1, 2, 4, 4), (2, 3, 3, 3),
                    s + 10, h, output_padding=1),
            _t_case(N_("output_padding 2 with stride 2"), (1, 2, 4, 4), (2, 3, 3, 3), s + 20, h, stride=2,
                    output_padding=2),
            _t_case(N_("input channels do not match weight.shape[0]"), (1, 2, 4, 4), (3, 3, 3, 3),
                    s + 30, h),
            _t_case(N_("padding too large: output size not positive"), (1, 2, 1, 1), (2, 1, 3, 3),
                    s + 40, h, padding=2),
            _t_case(N_("stride 0"), (1, 1, 3, 3), (1, 1, 2, 2), s + 50, h, stride=0),
            _t_case(N_("negative padding"), (1, 1, 3, 3), (1, 1, 2, 2), s + 60, h, padding=-1),
        ]
    raise ValueError(f"unknown topic {topic!r}; choose one of {TRANSPOSE_TOPICS}")


def conv_transpose2d_cases(topic: str, family: str = "visible", seed: int = 0) -> list[Case]:
    _check_family(family)
    if topic not in TRANSPOSE_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; choose one of {TRANSPOSE_TOPICS}")
    if family == "hidden":
        return grader_module("matmul").conv_transpose2d_cases(topic, seed)
    return _t_visible(topic, seed)


def _transpose_reference(case: Case):
    """F.conv_transpose2d, computed in float64 and rounded to the input's dtype."""
    x, w, b = case.inputs.values()
    return F.conv_transpose2d(*_double(x, w, b), **case.kwargs).to(x.dtype)


def check_conv_transpose2d(conv_transpose2d, topic: str = "basic", family: str = "visible",
                           seed: int = 0) -> CheckReport:
    """Compare ``conv_transpose2d(x, weight, bias, **kwargs)`` with ``F.conv_transpose2d``."""
    cases = conv_transpose2d_cases(topic, family, seed)
    return run_cases(conv_transpose2d, "conv_transpose2d", cases, _transpose_reference,
                     what=f"conv_transpose2d, {_(TOPIC_LABELS[topic])}", family=family,
                     forbidden=FORBIDDEN_UNFOLD, forbidden_reason=REASON_TRANSPOSE)


__all__ = ["CONV2D_TOPICS", "TRANSPOSE_TOPICS", "SPEED_CASE", "SPEED_LIMIT", "SPEED_TARGET",
           "check_conv_matrix", "check_conv2d_im2col", "check_im2col_speed",
           "check_conv_transpose2d", "conv_matrix_cases", "conv2d_im2col_cases",
           "conv_transpose2d_cases", "measure_speed", "CheckFailure"]
