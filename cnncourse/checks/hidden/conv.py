"""Hidden cases of :mod:`cnncourse.checks.conv` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

import torch

from cnncourse import lecture
from cnncourse.checks.conv import _APPLY_HINT, PADDING_MODES, _conv_case, _photo_crop, layout_cases
from cnncourse.checks import core
from cnncourse.checks.core import Case, non_contiguous, random_tensor, variant
from cnncourse.i18n import N_, _


def _pair_or_int(rng: random.Random, low: int, high: int):
    a, b = rng.randint(low, high), rng.randint(low, high)
    return a if rng.random() < 0.3 else (a, b)


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


#: The hidden impossible geometries of a convolution, shared by a1's conv2d_naive and a2's
#: conv2d_im2col: (name, x shape, weight shape, arguments); case k is seeded base + 10 k.
ERROR_GEOMETRIES = (
    (N_("dilated kernel larger than the input"), (1, 2, 5, 6), (1, 2, 3, 2), {"dilation": 3}),
    (N_("kernel wider than the padded input"), (2, 1, 6, 2), (1, 1, 2, 5), {"padding": (0, 1)}),
    (N_("in channels not divisible by groups"), (1, 5, 6, 6), (4, 2, 3, 3), {"groups": 2}),
    (N_("stride (1, 0)"), (1, 1, 5, 5), (1, 1, 2, 2), {"stride": (1, 0)}),
    (N_("padding (0, -2)"), (1, 1, 6, 6), (1, 1, 2, 2), {"padding": (0, -2)}),
    (N_("groups 0"), (1, 2, 5, 5), (2, 2, 3, 3), {"groups": 0}),
)


def conv2d_cases(topic: str, seed: int, n: int = 6) -> list[Case]:
    rng = random.Random(f"{topic}-{seed}")
    if topic == "errors":
        base = seed * 1000 + 500
        return [_conv_case(name, x, w, base + 10 * k, topic="errors", **kwargs)
                for k, (name, x, w, kwargs) in enumerate(ERROR_GEOMETRIES)]
    cases = []
    for i in range(n):
        kwargs = {}
        groups = 1
        if topic == "groups":
            groups = rng.choice([2, 3])
            kwargs["groups"] = groups
        cin_g = 1 if (topic == "groups" and rng.random() < 0.5) else rng.randint(1, 3)
        cin, cout = cin_g * groups, groups * rng.randint(1, 2)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride, padding, dilation = 1, 0, 1
        # Each topic varies only its own arguments, so that one misunderstanding costs
        # one graded part (the mutant suite in tests/ checks this).
        if topic == "stride_padding":
            stride = _pair_or_int(rng, 1, 3)
            padding = _pair_or_int(rng, 0, 2)
        if topic == "dilation":
            dilation = _pair_or_int(rng, 1, 3)
        (ph, pw), (dh, dw) = _as_pair(padding), _as_pair(dilation)
        if topic == "dilation" and (dh, dw) == (1, 1):
            dilation, dh = (2, dw), 2
        if stride != 1:
            kwargs["stride"] = stride
        if padding != 0:
            kwargs["padding"] = padding
        if dilation != 1:
            kwargs["dilation"] = dilation
        min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
        min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
        h, w = min_h + rng.randint(0, 6), min_w + rng.randint(0, 6)
        batch = rng.choice([1, 2])
        cases.append(_conv_case(_("random {topic} #{number}").format(topic=topic, number=i + 1), (batch, cin, h, w), (cout, cin_g, kh, kw),
                                seed * 1000 + 100 + 10 * i, bias=rng.random() < 0.7, topic=topic,
                                **kwargs))
    if topic == "basic":
        cases += random_layout_cases(rng, seed * 1000 + 700) + on_gpu(cases[0])
    return cases


def on_gpu(case: Case) -> list[Case]:
    """``case`` once more on the GPU, where there is one (:func:`core.gpu_device`; else none):
    the output must stay there, in the input's dtype. A small case: the loops of a naive
    convolution launch a kernel per element there."""
    device = core.gpu_device()
    return ([variant(case, _("{case}, on {device}").format(case=_(case.name), device=device),
                     device=device)] if device else [])


def random_layout_cases(rng: random.Random, base: int) -> list[Case]:
    """:func:`cnncourse.checks.conv.layout_cases` on random shapes (channels, height, width
    and kernel sides of at least 2, so that the layouts differ from a contiguous one)."""
    shapes = []
    for _unused in range(2):
        c_in, c_out = rng.randint(2, 3), rng.randint(1, 3)
        kh, kw = rng.randint(2, 3), rng.randint(2, 3)
        shapes += [(rng.choice([1, 2]), c_in, kh + rng.randint(0, 3), kw + rng.randint(0, 3)),
                   (c_out, c_in, kh, kw)]
    return layout_cases(*shapes, base, label=_("random "))


def conv_output_size_grid(seed: int) -> list[tuple[int, int, int, int, int]]:
    """(n, k, stride, padding, dilation) of the hidden output-size cases."""
    rng = random.Random(f"size-{seed}")
    grid = []
    while len(grid) < 40:
        n, k = rng.randint(1, 64), rng.randint(1, 9)
        s, p, d = rng.randint(1, 4), rng.randint(0, 4), rng.randint(1, 4)
        grid.append((n, k, s, p, d))
    return grid


def apply_kernel_cases(seed: int) -> list[Case]:
    k = {name: torch.tensor(v, dtype=torch.float64) for name, v in lecture.KERNELS.items()}
    rng = random.Random(f"apply-{seed}")
    cases = []
    for i in range(8):
        photo = rng.choice(["astronaut", "coffee", "coins", "camera", "chelsea"])
        gray = photo in ("coins", "camera") or rng.random() < 0.3
        h, w = rng.randint(7, 13), rng.randint(7, 13)
        img = _photo_crop(photo, rng.randint(0, 30), rng.randint(0, 30), h, w, 5, gray)
        kh, kw = rng.choice([1, 3, 5]), rng.choice([1, 3, 5])
        if rng.random() < 0.4 and (kh, kw) == (3, 3):
            name = rng.choice(sorted(k))
            ker = k[name]
        else:
            name, ker = _("random {kh}x{kw}").format(kh=kh, kw=kw), random_tensor((kh, kw), seed * 100 + i)
        mode = PADDING_MODES[i % 4]
        cases.append(Case(f"{photo} {tuple(img.shape)}, {name}, {mode}", {"image": img, "kernel": ker},
                          {"padding_mode": mode}, _APPLY_HINT))
    # the image in float32 and in a transposed (non-contiguous) layout, the kernel float64
    h, w = rng.randint(5, 7), rng.randint(5, 7)  # small: the loops of conv2d_naive are slow
    img = non_contiguous(_photo_crop("coffee", rng.randint(0, 30), rng.randint(0, 30), h, w, 5, False).float())
    mode = PADDING_MODES[rng.randint(0, 3)]
    cases.append(Case(_("coffee {shape} as float32, non-contiguous, random 3x5, {mode}").format(
                          shape=tuple(img.shape), mode=mode),
                      {"image": img, "kernel": random_tensor((3, 5), seed * 100 + 50)},
                      {"padding_mode": mode}, _APPLY_HINT))
    return cases + on_gpu(cases[-1])
