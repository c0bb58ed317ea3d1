"""Hidden cases of :mod:`cnncourse.checks.backprop` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

import torch

from cnncourse.checks import backprop, core
from cnncourse.checks.backprop import (FnCase, _avg_args, _conv_case, _distinct, _max_args,
                                       _pool_case, _tied, fn_variant)
from cnncourse.checks.core import channels_last, non_contiguous, random_tensor
from cnncourse.i18n import N_, _


def layout_variants(case: FnCase, label: str) -> list[FnCase]:
    """The hidden dtype, layout and device variants of one case: float32 in channels-last
    (inputs and output gradient), float64 transposed (non-contiguous, with gradcheck), and
    float64 on the GPU where there is one (:func:`cnncourse.checks.core.gpu_device`)."""
    cases = [fn_variant(case, _("{label}float32, channels-last inputs").format(label=label),
                        torch.float32, channels_last, grad_layout=channels_last),
             fn_variant(case, _("{label}float64, transposed (non-contiguous) inputs").format(
                 label=label), layout=non_contiguous, grad_layout=non_contiguous)]
    device = core.gpu_device()
    if device is not None:
        cases.append(fn_variant(case, _("{label}float64 on {device}").format(label=label,
                                                                             device=device),
                                device=device))
    return cases


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _random_pool_cases(c, rng: random.Random, s: int, make_args) -> list:
    """Eight random pooling cases: geometry, then an input of a fitting shape, then the
    arguments ``make_args(rng, kernel, stride, padding, ceil_mode)``."""
    cases = []
    for i in range(8):
        kernel, stride, padding, ceil = _random_pool_geometry(rng, explicit_stride=i % 2 == 1)
        kh, kw = _pair(kernel)
        shape = (rng.randint(1, 2), rng.randint(1, 3), kh + rng.randint(0, 6), kw + rng.randint(0, 6))
        cases.append(c(_("random #{number}").format(number=i + 1), random_tensor(shape, s + 100 + 10 * i),
                       make_args(rng, kernel, stride, padding, ceil)))
    return cases


def _random_pool_geometry(rng: random.Random, explicit_stride: bool):
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    kernel = kh if (kh == kw or rng.random() < 0.3) else (kh, kw)
    kh, kw = _pair(kernel)
    if explicit_stride:
        sh, sw = rng.randint(1, 3), rng.randint(1, 3)
        stride = sh if rng.random() < 0.3 else (sh, sw)
    else:
        stride = None
    ph, pw = rng.randint(0, kh // 2), rng.randint(0, kw // 2)
    padding = ph if rng.random() < 0.4 else (ph, pw)
    return kernel, stride, padding, rng.random() < 0.4


def _layout_pool(c, rng: random.Random, seed: int, make_x, make_args, grad_seed: bool) -> list[FnCase]:
    """The hidden dtype, layout and device variants of one random pooling case (channels,
    height and width of at least 2, so that the layouts differ from a contiguous one)."""
    k, st = rng.randint(2, 3), rng.randint(1, 2)
    p = rng.randint(0, k // 2)
    shape = (rng.randint(1, 2), rng.randint(2, 3), k + rng.randint(1, 4), k + rng.randint(1, 4))
    args = make_args(rng, k, st, p)
    base = c("", make_x(shape, seed), args, seed) if grad_seed else c("", make_x(shape, seed), args)
    return layout_variants(base, _("random kernel {k}, stride {stride}, padding {padding}, ").format(
        k=k, stride=st, padding=p))


def _pair_or_int(rng: random.Random, low: int, high: int):
    a, b = rng.randint(low, high), rng.randint(low, high)
    return a if rng.random() < 0.3 else (a, b)


def max_pool_cases(part: str, seed: int) -> list[FnCase]:
    s = seed * 1000
    c = lambda *a, **k: _pool_case("max", part, *a, **k)  # noqa: E731
    if part == "forward":
        cases = _random_pool_cases(c, random.Random(f"max-forward-{seed}"), s,
                                   lambda rng, *geometry: _max_args(*geometry))
        cases += [c(N_("stride 0 (RuntimeError)"), random_tensor((1, 1, 4, 4), s + 200), _max_args(2, 0)),
                  c(N_("padding (0, 2) with kernel 3 (RuntimeError)"), random_tensor((1, 1, 6, 6), s + 210),
                    _max_args(3, 1, (0, 2)))]
        return cases + _layout_pool(c, random.Random(f"max-forward-layout-{seed}"), s + 300, random_tensor,
                                    lambda rng, k, st, p: _max_args(k, st, p, rng.random() < 0.5), False)
    if part == "backward":
        rng = random.Random(f"max-backward-{seed}")
        cases = []
        for i in range(6):
            kernel, stride, padding, ceil = _random_pool_geometry(rng, explicit_stride=True)
            kh, kw = _pair(kernel)
            shape = (rng.randint(1, 2), rng.randint(1, 2), kh + rng.randint(0, 4), kw + rng.randint(0, 4))
            cases.append(c(_("random #{number}").format(number=i + 1), _distinct(shape, s + 100 + 10 * i),
                           _max_args(kernel, stride, padding, ceil), s + 100 + 10 * i))
        return cases + _layout_pool(c, random.Random(f"max-backward-layout-{seed}"), s + 300, _distinct,
                                    lambda rng, k, st, p: _max_args(k, st, p, rng.random() < 0.5), True)
    # ties
    rng = random.Random(f"max-ties-{seed}")
    cases = []
    for i in range(6):
        kh, kw = rng.randint(2, 4), rng.randint(1, 4)
        stride = rng.choice([1, (kh, kw), (1, rng.randint(1, 2))])
        shape = (rng.randint(1, 2), rng.randint(1, 3), kh + rng.randint(0, 5), kw + rng.randint(0, 5))
        cases.append(c(_("random ties #{number}").format(number=i + 1), _tied(shape, s + 100 + 10 * i, rng.randint(2, 3)),
                       _max_args((kh, kw), stride), s + 100 + 10 * i))
    return cases


def avg_pool_cases(part: str, seed: int) -> list[FnCase]:
    s = seed * 1000
    c = lambda *a, **k: _pool_case("avg", part, *a, **k)  # noqa: E731
    if part == "forward":
        cases = _random_pool_cases(c, random.Random(f"avg-forward-{seed}"), s,
                                   lambda rng, *geometry: _avg_args(*geometry, rng.random() < 0.5))
        cases += [c(N_("kernel wider than the input (RuntimeError)"), random_tensor((1, 1, 4, 2), s + 200),
                    _avg_args((2, 3), 1)),
                  c(N_("padding (2, 0) with kernel 3 (RuntimeError)"), random_tensor((1, 1, 6, 6), s + 210),
                    _avg_args(3, 1, (2, 0)))]
        return cases + _layout_pool(c, random.Random(f"avg-forward-layout-{seed}"), s + 300, random_tensor,
                                    lambda rng, k, st, p: _avg_args(k, st, p, rng.random() < 0.5,
                                                                    rng.random() < 0.5), False)
    rng = random.Random(f"avg-backward-{seed}")
    cases = []
    for i in range(6):
        kernel, stride, padding, ceil = _random_pool_geometry(rng, explicit_stride=True)
        kh, kw = _pair(kernel)
        if i < 2:  # make sure the divisor matters
            padding, ceil = (kh // 2, kw // 2), True
        shape = (rng.randint(1, 2), rng.randint(1, 2), kh + rng.randint(0, 4), kw + rng.randint(0, 4))
        cases.append(c(_("random #{number}").format(number=i + 1), random_tensor(shape, s + 100 + 10 * i),
                       _avg_args(kernel, stride, padding, ceil, i % 2 == 1), s + 100 + 10 * i))
    return cases + _layout_pool(c, random.Random(f"avg-backward-layout-{seed}"), s + 300, random_tensor,
                                lambda rng, k, st, p: _avg_args(k, st, p, rng.random() < 0.5,
                                                                rng.random() < 0.5), True)


def conv2d_function_cases(part: str, seed: int) -> list[FnCase]:
    s = seed * 1000
    c = lambda *a, **k: _conv_case(part, *a, **k)  # noqa: E731
    rng = random.Random(f"conv-{part}-{seed}")
    cases = []
    for i in range(6):
        groups = rng.choice([1, 1, 2, 3])
        cin_g = 1 if (groups > 1 and i % 2 == 0) else rng.randint(1, 2)
        cout = groups * rng.randint(1, 2)
        kh, kw = rng.randint(1, 3), rng.randint(1, 3)
        stride = _pair_or_int(rng, 1, 3)
        padding = _pair_or_int(rng, 0, 2)
        dilation = _pair_or_int(rng, 1, 2)
        (dh, dw), (ph, pw) = _pair(dilation), _pair(padding)
        h = max(1, dh * (kh - 1) + 1 - 2 * ph) + rng.randint(0, 4)
        w = max(1, dw * (kw - 1) + 1 - 2 * pw) + rng.randint(0, 4)
        cases.append(c(_("random #{number}").format(number=i + 1), (rng.randint(1, 2) if i else 2, cin_g * groups, h, w),
                       (cout, cin_g, kh, kw), s + 100 + 10 * i, bias=part == "grad_bias" or rng.random() < 0.7,
                       stride=stride, padding=padding, dilation=dilation, groups=groups))
    if part == "forward":
        cases += [c(N_("out channels not divisible by groups (RuntimeError)"), (1, 4, 5, 5), (3, 2, 3, 3),
                    s + 200, groups=2),
                  c(N_("negative padding (RuntimeError)"), (1, 1, 5, 5), (1, 1, 3, 3), s + 210, padding=(0, -1))]
    if part == "grad_bias":
        cases.append(c(N_("no bias, groups 2"), (2, 2, 5, 4), (2, 1, 2, 2), s + 200, bias=False,
                       groups=2, grads=("x", "weight"), compare_grads=False))
    # dtype, layout and device: channels, sides and kernel sides of at least 2
    rng = random.Random(f"conv-{part}-layout-{seed}")
    groups = rng.choice([1, 2])
    kh, kw = rng.randint(2, 3), rng.randint(2, 3)
    stride, padding = rng.randint(1, 2), rng.randint(0, 1)
    base = c("", (rng.randint(1, 2), 2 * groups, kh + rng.randint(1, 3), kw + rng.randint(1, 3)),
             (2 * groups, 2, kh, kw), s + 300, stride=stride, padding=padding, groups=groups)
    return cases + layout_variants(base, _("random groups {groups}, stride {stride}, padding "
                                           "{padding}, ").format(groups=groups, stride=stride,
                                                                 padding=padding))
