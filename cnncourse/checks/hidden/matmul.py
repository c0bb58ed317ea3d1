"""Hidden cases of :mod:`cnncourse.checks.matmul` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

import torch

from cnncourse.checks.core import Case, non_contiguous, random_tensor
from cnncourse.i18n import N_, _
from cnncourse.checks.hidden.conv import ERROR_GEOMETRIES, on_gpu
from cnncourse.checks.matmul import (CONV2D_TOPICS, HINT_MATRIX, HINTS_CONV, HINTS_T,
                                     TRANSPOSE_TOPICS, _conv_case, _t_case, conv_layout_cases,
                                     transpose_layout_cases)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pair_or_int(rng: random.Random, low: int, high: int):
    a, b = rng.randint(low, high), rng.randint(low, high)
    return a if rng.random() < 0.3 else (a, b)


def conv_matrix_cases(seed: int) -> list[Case]:
    def case(name, hw, khw, s, dtype=torch.float64):
        return Case(name, {"input_hw": hw, "weight": random_tensor(khw, s, dtype)}, {}, HINT_MATRIX)

    s = seed * 1000
    rng = random.Random(f"conv_matrix-{seed}")
    cases = []
    for i in range(6):
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        h, w = kh + rng.randint(0, 4), kw + rng.randint(0, 4)
        if h == w:
            w += 1
        cases.append(case(_("random #{number}").format(number=i + 1), (h, w), (kh, kw),
                          s + 100 + 10 * i))
    cases.append(case(N_("kernel wider than the input (ValueError)"), (4, 2), (2, 3), s + 200))
    kh, kw = rng.randint(2, 3), rng.randint(2, 3)
    weight = non_contiguous(random_tensor((kh, kw), s + 300, torch.float32))
    cases.append(Case(N_("float32 kernel, transposed (non-contiguous)"), {
        "input_hw": (kh + rng.randint(0, 3), kw + rng.randint(1, 3)), "weight": weight}, {}, HINT_MATRIX))
    return cases + on_gpu(cases[0])


def _random_layout_shapes(rng: random.Random, transpose: bool) -> list:
    """Shapes for the layout cases: channels, height, width and kernel sides of at least 2
    (so that the layouts differ from a contiguous one)."""
    shapes = []
    for _unused in range(2):
        c_in, c_out = rng.randint(2, 3), rng.randint(1, 3)
        kh, kw = rng.randint(2, 3), rng.randint(2, 3)
        h, w = rng.randint(2, 4), rng.randint(2, 4)
        if not transpose:
            h, w = h + kh - 1, w + kw - 1
        shapes += [(rng.choice([1, 2]), c_in, h, w),
                   (c_in, c_out, kh, kw) if transpose else (c_out, c_in, kh, kw)]
    return shapes


def conv2d_im2col_cases(topic: str, seed: int, n: int = 6) -> list[Case]:
    rng = random.Random(f"im2col-{topic}-{seed}")
    h_ = HINTS_CONV[topic]
    base = seed * 1000 + 100
    if topic == "errors":  # a1's hidden impossible geometries
        return [_conv_case(name, x, w, base + 10 * k, h_, **kwargs)
                for k, (name, x, w, kwargs) in enumerate(ERROR_GEOMETRIES)]
    if topic not in CONV2D_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; choose one of {CONV2D_TOPICS}")
    cases = []
    for i in range(n):
        kwargs = {}
        groups = 1
        if topic == "groups":
            groups = rng.choice([2, 3])
            kwargs["groups"] = groups
        cin_g = 1 if (topic == "groups" and i % 2 == 0) else rng.randint(1, 3)
        cin, cout = cin_g * groups, groups * rng.randint(1, 2)
        if topic == "groups" and i % 3 == 1:
            cout = groups * 2  # several output channels per group
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride, padding, dilation = 1, 0, 1
        if topic in ("stride_padding_dilation", "groups"):
            stride = _pair_or_int(rng, 1, 3)
        if topic == "stride_padding_dilation":
            padding = _pair_or_int(rng, 0, 2)
            dilation = _pair_or_int(rng, 1, 3)
        for key, value, default in (("stride", stride, 1), ("padding", padding, 0),
                                    ("dilation", dilation, 1)):
            if value != default:
                kwargs[key] = value
        (dh, dw), (ph, pw) = _pair(dilation), _pair(padding)
        min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
        min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
        h, w = min_h + rng.randint(0, 6), min_w + rng.randint(0, 6)
        batch = rng.choice([1, 2])
        cases.append(_conv_case(_("random {topic} #{number}").format(topic=topic, number=i + 1), (batch, cin, h, w), (cout, cin_g, kh, kw),
                                base + 10 * i, h_, bias=rng.random() < 0.7, **kwargs))
    if topic == "basic":
        cases += conv_layout_cases(*_random_layout_shapes(rng, False), base + 700, label=_("random "))
        cases += on_gpu(cases[0])
    if topic == "stride_padding_dilation":  # make sure each feature is present on its own
        cases += [
            _conv_case(N_("random dilation 2 alone"), (1, 2, 7, 6), (2, 2, 3, 2), base + 500, h_, dilation=2),
            _conv_case(N_("random padding (1, 2) alone"), (2, 1, 4, 5), (2, 1, 3, 3), base + 510, h_,
                       padding=(1, 2)),
            _conv_case(N_("random stride (3, 2) alone"), (1, 2, 8, 7), (1, 2, 2, 2), base + 520, h_,
                       stride=(3, 2)),
        ]
    return cases


def conv_transpose2d_cases(topic: str, seed: int, n: int = 6) -> list[Case]:
    rng = random.Random(f"transpose-{topic}-{seed}")
    h_ = HINTS_T[topic]
    base = seed * 1000 + 100
    if topic == "errors":
        return [
            _t_case(N_("output_padding (0, 2) with stride (1, 2), dilation 1"), (1, 2, 4, 4), (2, 1, 2, 2),
                    base, h_, stride=(1, 2), output_padding=(0, 2)),
            _t_case(N_("output_padding 2 with stride 2 and dilation 2"), (1, 1, 3, 3), (1, 1, 2, 2),
                    base + 10, h_, stride=2, dilation=2, output_padding=2),
            _t_case(N_("in channels not divisible by groups"), (1, 3, 4, 4), (3, 1, 3, 3), base + 20, h_,
                    groups=2),
            _t_case(N_("negative output_padding"), (1, 1, 3, 3), (1, 1, 2, 2), base + 30, h_,
                    output_padding=-1),
            _t_case(N_("dilation (1, 0)"), (1, 1, 3, 3), (1, 1, 2, 2), base + 40, h_, dilation=(1, 0)),
            _t_case(N_("groups 0"), (1, 2, 3, 3), (2, 1, 2, 2), base + 50, h_, groups=0),
            _t_case(N_("padding (0, 3) too large"), (1, 1, 3, 2), (1, 1, 2, 2), base + 60, h_,
                    padding=(0, 3)),
        ]
    if topic not in TRANSPOSE_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; choose one of {TRANSPOSE_TOPICS}")
    cases = []
    for i in range(n):
        groups = rng.choice([2, 3]) if topic == "groups" else 1
        cin = groups * (1 if i % 2 == 0 else rng.randint(1, 2))
        cout_g = rng.randint(1, 2) if i % 3 else 2
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        kwargs = {}
        if topic in ("stride_padding", "groups"):
            stride = _pair_or_int(rng, 1, 3)
            padding = _pair_or_int(rng, 0, 2) if topic == "stride_padding" else 0
            (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
            dilation = _pair_or_int(rng, 1, 3) if topic == "stride_padding" else 1
            (dh, dw) = _pair(dilation)
            output_padding = 0
            if topic == "stride_padding":
                oph = rng.randint(0, max(sh, dh) - 1)
                opw = rng.randint(0, max(sw, dw) - 1)
                output_padding = oph if oph == opw else (oph, opw)
            for key, value, default in (("stride", stride, 1), ("padding", padding, 0),
                                        ("dilation", dilation, 1),
                                        ("output_padding", output_padding, 0)):
                if value != default:
                    kwargs[key] = value
        else:
            (sh, sw), (ph, pw), (dh, dw) = (1, 1), (0, 0), (1, 1)
        # input large enough that the output is positive after cropping the padding
        h = rng.randint(1, 4)
        w = rng.randint(1, 4)
        while (h - 1) * sh - 2 * ph + dh * (kh - 1) + 1 < 1:
            h += 1
        while (w - 1) * sw - 2 * pw + dw * (kw - 1) + 1 < 1:
            w += 1
        cases.append(_t_case(_("random {topic} #{number}").format(topic=topic, number=i + 1), (rng.choice([1, 2]), cin, h, w),
                             (cin, cout_g, kh, kw), base + 10 * i, h_, bias=rng.random() < 0.7,
                             groups=groups, **kwargs))
    if topic == "basic":
        cases += transpose_layout_cases(*_random_layout_shapes(rng, True), base + 700, label=_("random "))
        cases += on_gpu(cases[0])
    if topic == "stride_padding":  # each feature on its own, too
        cases += [
            _t_case(N_("random output_padding (1, 2) with stride 3 alone"), (1, 2, 3, 2), (2, 1, 2, 3),
                    base + 500, h_, stride=3, output_padding=(1, 2)),
            _t_case(N_("random dilation (2, 3) alone"), (2, 1, 3, 4), (1, 2, 3, 2), base + 510, h_,
                    dilation=(2, 3)),
            _t_case(N_("random padding 1 alone"), (1, 2, 4, 3), (2, 2, 3, 3), base + 520, h_, padding=1),
        ]
    return cases
