"""Checks for the forward convolution (assignment a1_conv_forward).

``check_conv_output_size(fn)`` and ``check_conv2d(fn, topic)`` compare the student's
functions with PyTorch over a grid of cases. ``topic`` selects one graded part:

- ``"basic"``: the lecture's worked examples (golden), channels, bias, batch;
- ``"stride_padding"``: int and pair strides and paddings, sizes that do not divide evenly;
- ``"dilation"``: int and pair dilations, with stride and padding;
- ``"groups"``: grouped and depthwise convolutions;
- ``"errors"``: impossible arguments, for which PyTorch raises.

Each topic varies only its own arguments (stride 1, no padding, no dilation, one group
elsewhere), so one misunderstanding costs one graded part.

``check_apply_kernel(fn)`` checks a same-size filter of a photo with the four padding modes;
``F.pad`` may add zeros there (mode ``"constant"``, also inside ``conv2d_naive``), its
``"reflect"``, ``"replicate"`` and ``"circular"`` modes are forbidden.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnncourse import lecture
from cnncourse.i18n import N_, _
from cnncourse.checks.core import (ATEN_CONVOLUTION, ATEN_EDGE_PADDING, TORCH_CONVOLUTIONS,
                                   Case, CheckFailure, channels_last, grader_module,
                                   non_contiguous, random_tensor, run_cases, variant)

TOPICS = ("basic", "stride_padding", "dilation", "groups", "errors")
#: The topics as a passing or failing line names them.
TOPIC_LABELS = {"basic": N_("basic"), "stride_padding": N_("stride & padding"),
                "dilation": N_("dilation"), "groups": N_("groups"), "errors": N_("errors")}

#: Functions that a hand-written convolution must not call while it is checked.
FORBIDDEN_CONV = TORCH_CONVOLUTIONS + (ATEN_CONVOLUTION,)  # any route to a convolution kernel
FORBIDDEN_REASON = N_("implement the convolution yourself, with loops over the output.")

HINTS = {
    "basic": N_("out[n, o, i, j] = bias[o] + sum over c, u, v of x[n, c, i + u, j + v] * "
                "weight[o, c, u, v]; the output has the input's dtype and device "
                "(x.new_zeros(...)), and any memory layout of the inputs works (reshape, not "
                "view, on a non-contiguous tensor)."),
    "stride_padding": N_("pad first (zeros on every side), then move the window by stride; "
                         "H_out = floor((H + 2*padding - dilation*(k - 1) - 1) / stride) + 1."),
    "dilation": N_("kernel element (u, v) reads the input at (u*dilation_h, v*dilation_w) from "
                   "the window's corner; the window spans dilation*(k - 1) + 1 pixels."),
    "groups": N_("with g groups, output channel o sees only input channels "
                 "[(o // (C_out/g)) * C_in/g, ...) of size C_in/g = weight.shape[1]."),
    "errors": N_("raise RuntimeError for impossible arguments, as F.conv2d does."),
}


def _conv_case(name, x_shape, w_shape, seed, bias=True, topic="basic", **kwargs) -> Case:
    x = random_tensor(x_shape, seed)
    w = random_tensor(w_shape, seed + 1)
    b = random_tensor((w_shape[0],), seed + 2) if bias else None
    return Case(name, {"x": x, "weight": w, "bias": b}, kwargs, HINTS[topic])


def layout_cases(shape32, w_shape32, shape_nc, w_shape_nc, seed: int, topic: str = "basic",
                 label: str = "") -> list[Case]:
    """The dtype and layout cases of a topic: float32 inputs (channels-last x), and float64
    inputs in a transposed, non-contiguous memory layout (x and weight)."""
    f32 = _conv_case("", shape32, w_shape32, seed, topic=topic)
    nc = _conv_case("", shape_nc, w_shape_nc, seed + 5, topic=topic)
    return [variant(f32, _("{label}float32 inputs (channels-last x) keep float32").format(
                label=label), torch.float32, channels_last, ("x",)),
            variant(nc, _("{label}non-contiguous x and weight (transposed layout)").format(
                label=label), layout=non_contiguous)]


def _golden_cases() -> list[Case]:
    cases = []
    for i, (inp, ker) in enumerate([(lecture.EXAMPLE1_INPUT, lecture.EXAMPLE1_KERNEL),
                                    (lecture.EXAMPLE2_INPUT, lecture.EXAMPLE2_KERNEL)], 1):
        cases.append(Case(_("lecture worked example {i} (golden)").format(i=i),
                          {"x": lecture.as_nchw(inp), "weight": lecture.as_nchw(ker), "bias": None},
                          {}, HINTS["basic"]))
    return cases


def _visible(topic: str, seed: int) -> list[Case]:
    s = seed * 1000
    if topic == "basic":
        return _golden_cases() + [
            _conv_case(N_("one channel, bias"), (1, 1, 6, 6), (1, 1, 3, 3), s + 10),
            _conv_case(N_("3 -> 4 channels, non-square input and kernel"), (2, 3, 6, 5), (4, 3, 3, 2), s + 20),
            _conv_case(N_("batch 1, 1x1 kernel"), (1, 2, 4, 7), (3, 2, 1, 1), s + 30),
            _conv_case(N_("kernel as large as the input"), (2, 2, 3, 4), (2, 2, 3, 4), s + 40, bias=False),
        ] + layout_cases((2, 3, 5, 4), (2, 3, 3, 2), (2, 2, 5, 6), (3, 2, 3, 2), s + 50)
    if topic == "stride_padding":
        t = "stride_padding"
        return [
            _conv_case(N_("stride 2"), (1, 2, 7, 7), (2, 2, 3, 3), s + 10, topic=t, stride=2),
            _conv_case(N_("stride (2, 1)"), (2, 1, 8, 6), (3, 1, 3, 2), s + 20, topic=t, stride=(2, 1)),
            _conv_case(N_("padding 1"), (1, 2, 5, 6), (2, 2, 3, 3), s + 30, topic=t, padding=1),
            _conv_case(N_("padding (2, 0)"), (1, 1, 4, 6), (2, 1, 3, 3), s + 40, topic=t, padding=(2, 0)),
            _conv_case(N_("stride 3, padding 1, size not divisible"), (2, 2, 8, 9), (2, 2, 3, 2), s + 50,
                       topic=t, stride=3, padding=1),
        ]
    if topic == "dilation":
        t = "dilation"
        return [
            _conv_case(N_("dilation 2"), (1, 1, 7, 7), (1, 1, 3, 3), s + 10, topic=t, dilation=2),
            _conv_case(N_("dilation (2, 1), non-square kernel"), (2, 2, 9, 6), (3, 2, 3, 2), s + 20,
                       topic=t, dilation=(2, 1)),
            _conv_case(N_("dilation 3, three channels"), (1, 3, 8, 9), (2, 3, 2, 3), s + 30,
                       topic=t, dilation=3),
        ]
    if topic == "groups":
        t = "groups"
        return [
            _conv_case(N_("groups 2"), (1, 4, 5, 5), (6, 2, 3, 3), s + 10, topic=t, groups=2),
            _conv_case(N_("depthwise, groups = channels = 3"), (2, 3, 6, 5), (3, 1, 3, 3), s + 20,
                       topic=t, groups=3),
            _conv_case(N_("depthwise with multiplier 2"), (1, 3, 5, 6), (6, 1, 2, 3), s + 30, topic=t, groups=3),
            _conv_case(N_("groups 2, non-square kernel, batch 2"), (2, 4, 6, 8), (4, 2, 2, 3), s + 40,
                       topic=t, groups=2),
        ]
    if topic == "errors":
        t = "errors"
        return [
            _conv_case(N_("kernel larger than the input"), (1, 1, 3, 3), (1, 1, 4, 2), s + 10, topic=t),
            _conv_case(N_("input channels do not match the weight"), (1, 3, 5, 5), (2, 2, 3, 3), s + 20, topic=t),
            _conv_case(N_("out channels not divisible by groups"), (1, 4, 5, 5), (3, 2, 3, 3), s + 30,
                       topic=t, groups=2),
            _conv_case(N_("stride 0"), (1, 1, 5, 5), (1, 1, 3, 3), s + 40, topic=t, stride=0),
            _conv_case(N_("negative padding"), (1, 1, 5, 5), (1, 1, 3, 3), s + 50, topic=t, padding=-1),
            _conv_case(N_("dilation 0"), (1, 1, 5, 5), (1, 1, 3, 3), s + 60, topic=t, dilation=0),
        ]
    raise ValueError(f"unknown topic {topic!r}; choose one of {TOPICS}")


def conv2d_cases(topic: str, family: str = "visible", seed: int = 0) -> list[Case]:
    """The cases of one topic: the fixed visible list, or seeded hidden ones."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; choose one of {TOPICS}")
    if family == "visible":
        return _visible(topic, seed)
    if family == "hidden":
        return grader_module("conv").conv2d_cases(topic, seed)
    raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


def _double(*tensors):
    return [t.double() if isinstance(t, torch.Tensor) else t for t in tensors]


def _conv2d_reference(case: Case):
    """F.conv2d, computed in float64 and rounded to the input's dtype."""
    x, w, b = case.inputs.values()
    return F.conv2d(*_double(x, w, b), **case.kwargs).to(x.dtype)


def check_conv2d(conv2d, topic: str = "basic", family: str = "visible", seed: int = 0):
    """Compare ``conv2d(x, weight, bias, **kwargs)`` with ``F.conv2d`` on one topic's cases."""
    cases = conv2d_cases(topic, family, seed)
    return run_cases(conv2d, getattr(conv2d, "__name__", "conv2d"), cases, _conv2d_reference,
                     what=f"{getattr(conv2d, '__name__', 'conv2d')}, {_(TOPIC_LABELS[topic])}",
                     family=family, forbidden=FORBIDDEN_CONV, forbidden_reason=FORBIDDEN_REASON)


# --- output size -------------------------------------------------------------------------

def conv_output_size_cases(family: str = "visible", seed: int = 0) -> list[Case]:
    hint = N_("H_out = floor((n + 2*padding - dilation*(k - 1) - 1) / stride) + 1; "
              "raise ValueError when that is less than 1.")
    if family == "visible":
        grid = [(5, 3, 1, 0, 1), (28, 5, 1, 0, 1), (50, 3, 2, 4, 3), (100, 5, 1, 2, 1),
                (7, 3, 2, 1, 1), (8, 3, 3, 0, 1), (6, 2, 4, 1, 2), (3, 5, 1, 0, 1), (4, 3, 1, 0, 2)]
    elif family == "hidden":
        grid = grader_module("conv").conv_output_size_grid(seed)
    else:
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")
    return [Case(f"n={n}, k={k}, stride={s}, padding={p}, dilation={d}", {"n": n, "k": k},
                 {"stride": s, "padding": p, "dilation": d}, hint) for n, k, s, p, d in grid]


def _conv_output_size_reference(case: Case):
    """The size that ``nn.Conv2d`` really produces; ValueError where PyTorch refuses."""
    n, k = case.inputs["n"], case.inputs["k"]
    kw = case.kwargs
    x = torch.zeros(1, 1, n, 1)
    w = torch.zeros(1, 1, k, 1)
    try:
        out = F.conv2d(x, w, stride=(kw["stride"], 1), padding=(kw["padding"], 0),
                       dilation=(kw["dilation"], 1))
    except RuntimeError as exc:
        return ValueError(_("PyTorch refuses: {error}").format(error=str(exc).splitlines()[0]))
    return int(out.shape[2])


def check_conv_output_size(conv_output_size, family: str = "visible", seed: int = 0):
    """Compare ``conv_output_size(n, k, stride, padding, dilation)`` with ``nn.Conv2d``."""
    cases = conv_output_size_cases(family, seed)
    return run_cases(conv_output_size, "conv_output_size", cases, _conv_output_size_reference,
                     what="conv_output_size", family=family)




# --- applying a kernel to a photo -----------------------------------------------------

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
#: apply_kernel teaches the padding modes: F.pad may add zeros (mode "constant", e.g. for
#: conv2d_naive's padding), but its other modes, which nn.ReflectionPad2d & co. call too,
#: raise while apply_kernel is checked.
FORBIDDEN_PAD = FORBIDDEN_CONV + ("torch.nn.functional.pad[mode=reflect|replicate|circular]",
                                  ATEN_EDGE_PADDING)
FORBIDDEN_PAD_REASON = N_("pad with the reflect, replicate and circular modes yourself, with "
                          "indexing (F.pad may add zeros), and use your conv2d_naive.")
_APPLY_HINT = N_("pad by (kH // 2, kW // 2) on each side with the given mode (zeros: 0; "
                 "reflect: mirror without repeating the edge; replicate: repeat the edge; "
                 "circular: wrap around), then cross-correlate each channel with the kernel; "
                 "the output has the image's shape and dtype (kernel.to(image.dtype)).")


def _photo_crop(name: str, top: int, left: int, h: int, w: int, step: int, gray: bool):
    from cnncourse.data import load_photo

    image = torch.from_numpy(load_photo(name, gray=gray)[::step, ::step].copy()).double() / 255
    if image.ndim == 3:
        image = image.permute(2, 0, 1)
    return image[..., top:top + h, left:left + w].contiguous()


def apply_kernel_cases(family: str = "visible", seed: int = 0) -> list[Case]:
    k = {name: torch.tensor(v, dtype=torch.float64) for name, v in lecture.KERNELS.items()}
    if family == "visible":
        cam = _photo_crop("camera", 40, 60, 12, 16, 4, True)
        cat = _photo_crop("chelsea", 20, 40, 10, 12, 4, False)
        plan = [
            (N_("camera crop, blur, zeros"), cam, k["blur"], "zeros"),
            (N_("camera crop, sharpen, reflect"), cam, k["sharpen"], "reflect"),
            (N_("camera crop, top sobel, replicate"), cam, k["top sobel"], "replicate"),
            (N_("camera crop, outline, circular"), cam, k["outline"], "circular"),
            (N_("colour cat crop (3 channels), custom, reflect"), cat, k["custom"], "reflect"),
            (N_("colour cat crop, 3x5 kernel, replicate"), cat, random_tensor((3, 5), seed + 7),
             "replicate"),
            (N_("camera crop, 5x5 kernel, circular"), cam, random_tensor((5, 5), seed + 8),
             "circular"),
            (N_("camera crop (7x9) as float32, transposed (non-contiguous), blur, reflect"),
             non_contiguous(cam[:7, :9].float()), k["blur"], "reflect"),
        ]
        cases = [Case(name, {"image": img, "kernel": ker}, {"padding_mode": mode}, _APPLY_HINT)
                 for name, img, ker, mode in plan]
        cases += [
            Case(N_("unknown padding mode 'mirror'"), {"image": cam, "kernel": k["blur"]},
                 {"padding_mode": "mirror"}, N_("raise ValueError for an unknown padding_mode.")),
            Case(N_("even-sized kernel (2x2)"), {"image": cam, "kernel": k["blur"][:2, :2]},
                 {"padding_mode": "zeros"}, N_("raise ValueError when a kernel side is even.")),
        ]
        return cases
    if family == "hidden":
        return grader_module("conv").apply_kernel_cases(seed)
    raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


def _apply_kernel_reference(case: Case):
    image, kernel = case.inputs["image"], case.inputs["kernel"]
    mode = case.kwargs["padding_mode"]
    if mode not in PADDING_MODES:
        return ValueError(_("padding_mode must be one of {modes}, not {mode!r}").format(
            modes=PADDING_MODES, mode=mode))
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        return ValueError(_("the kernel's sides must be odd"))
    x = image[None] if image.ndim == 3 else image[None, None]
    x = x.transpose(0, 1).double()  # channels as a batch; in float64, rounded at the end
    padded = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2),
                   mode="constant" if mode == "zeros" else mode)
    out = F.conv2d(padded, kernel[None, None].double())[:, 0].to(image.dtype)
    return out if image.ndim == 3 else out[0]


def check_apply_kernel(apply_kernel, family: str = "visible", seed: int = 0):
    """Compare ``apply_kernel(image, kernel, padding_mode)`` with ``F.pad`` + ``F.conv2d``."""
    return run_cases(apply_kernel, "apply_kernel", apply_kernel_cases(family, seed),
                     _apply_kernel_reference, what="apply_kernel", family=family,
                     forbidden=FORBIDDEN_PAD, forbidden_reason=FORBIDDEN_PAD_REASON)


__all__ = ["TOPICS", "PADDING_MODES", "check_apply_kernel", "check_conv2d", "check_conv_output_size",
           "apply_kernel_cases", "conv2d_cases",
           "conv_output_size_cases", "CheckFailure"]
