"""Hidden cases of :mod:`cnncourse.checks.norm_dropout` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

import torch

from cnncourse.checks.norm_dropout import BNCase, DropCase
from cnncourse.i18n import N_, _


def batchnorm_cases(part: str, seed: int, n: int = 5) -> list[BNCase]:
    rng = random.Random(f"bn-{part}-{seed}")
    cases = []
    for i in range(n):
        c = rng.randint(1, 5)
        batch = rng.choice([1, 2, 3])
        h, w = rng.randint(1, 5), rng.randint(1, 5)
        if batch * h * w < 2:
            w = 2
        if part == "gradients":
            h, w = min(h, 3), min(w, 3)
        kwargs = dict(eps=rng.choice([1e-5, 1e-3, 0.05]), affine=rng.random() < 0.7,
                      momentum=rng.choice([0.1, 0.3, 0.9]))
        if part == "running_stats" or (part == "eval" and i == 0):
            kwargs["steps"] = rng.randint(2, 4)
        if part in ("train", "eval") and rng.random() < 0.3:
            kwargs["dtype"] = torch.float32
        cases.append(BNCase(_("random {topic} #{number}").format(topic=part, number=i + 1), (batch, c, h, w), c, seed * 1000 + 100 + 10 * i,
                            **kwargs))
    if part == "train":
        c = rng.randint(2, 4)
        cases += [
            BNCase(N_("error: one value per channel"), (1, c, 1, 1), c, seed * 1000 + 900),
            BNCase(N_("error: 2-D input"), (3, c), c, seed * 1000 + 910),
            BNCase(_("error: {channels} channels, num_features={c}").format(channels=c + 1, c=c), (2, c + 1, 2, 2), c, seed * 1000 + 920),
        ]
    return cases


def dropout2d_cases(part: str, seed: int, n: int = 4) -> list[DropCase]:
    rng = random.Random(f"drop-{part}-{seed}")
    cases = []
    for i in range(n):
        p = rng.choice([0.1, 0.25, 0.4, 0.6, 0.75])
        if part == "masks":
            shape = (rng.randint(8, 12), rng.randint(8, 12), rng.randint(1, 4), rng.randint(1, 4))
        else:
            shape = (rng.randint(24, 40), rng.randint(48, 80), rng.randint(1, 2), rng.randint(1, 3))
        dtype = torch.float32 if rng.random() < 0.3 else torch.float64
        cases.append(DropCase(_("random {topic} #{number}").format(topic=part, number=i + 1), shape, p, seed * 1000 + 100 + 10 * i, dtype))
    if part == "masks":
        base = seed * 1000 + 900
        cases += [
            DropCase(N_("eval mode is the identity"), (1, 5, 3, 2), rng.choice([0.2, 0.7]), base, mode="eval"),
            DropCase(N_("p=0 keeps everything"), (2, 3, 1, 4), 0.0, base + 1),
            DropCase(N_("gradients: float64 gradcheck under a fixed seed"), (1, 4, 3, 2), 0.3, base + 5,
                     mode="gradcheck"),
            DropCase(N_("p=1 drops everything"), (1, 6, 2, 3), 1.0, base + 2, dtype=torch.float32),
            DropCase(N_("error: p=-0.5"), (1, 1, 1, 1), -0.5, base + 3, mode="construct"),
            DropCase(N_("error: p=1.01"), (1, 1, 1, 1), 1.01, base + 4, mode="construct"),
        ]
    return cases
