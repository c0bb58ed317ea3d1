"""Hidden cases of :mod:`cnncourse.checks.receptive` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

import torch.nn as nn

from cnncourse.i18n import N_, _


def receptive_field_cases(part: str, seed: int, n: int = 5):
    rng = random.Random(f"rf-{part}-{seed}")
    extra = 12 if part == "dilation" else 0  # dilated fields are wide
    cases = []
    for i in range(n):
        layers, ch = [], 1
        n_layers = rng.randint(2, 4)
        pool_at = rng.randrange(n_layers) if part == "pooling" else -1
        for li in range(n_layers):
            if li == pool_at or (part == "pooling" and li > 0 and rng.random() < 0.3):
                k = rng.randint(2, 3)
                if rng.random() < 0.5:
                    layers.append(nn.MaxPool2d(k, stride=rng.randint(1, k), padding=rng.randint(0, k // 2)))
                else:
                    layers.append(nn.AvgPool2d((k, rng.randint(1, 3)), stride=(rng.randint(1, 2), 1)))
            else:
                k = (rng.randint(1, 4), rng.randint(1, 4))
                s = (rng.randint(1, 2), rng.randint(1, 2))
                p = (rng.randint(0, 1), rng.randint(0, 2))
                d = (1, 1)
                if part == "dilation" and (li == 0 or rng.random() < 0.6):
                    d = (rng.randint(1, 3), rng.randint(2, 3))
                    k = (max(k[0], 2), max(k[1], 2))
                layers.append(nn.Conv2d(ch, 2, k, stride=s, padding=p, dilation=d))
                ch = 2
            if rng.random() < 0.4:
                layers.append(rng.choice([nn.ReLU(), nn.Tanh(), nn.Identity()]))
        cases.append((_("random {part} stack #{number}").format(part=part, number=i + 1), nn.Sequential(*layers),
                      (rng.randint(14, 24) + extra, rng.randint(14, 24) + extra)))
    return cases


def count_params_models(seed: int) -> list[tuple[str, nn.Module]]:
    """(name, model) of the hidden count_params cases."""
    rng = random.Random(f"params-{seed}")
    models = []
    for i in range(4):
        layers, ch = [], rng.randint(1, 4)
        for _unused in range(rng.randint(1, 4)):
            out = rng.randint(1, 6)
            g = rng.choice([g for g in (1, 2, 3) if ch % g == 0 and out * g % g == 0])
            layers.append(nn.Conv2d(ch, out * g, (rng.randint(1, 3), rng.randint(1, 3)),
                                    groups=g, bias=rng.random() < 0.5))
            if rng.random() < 0.5:
                layers.append(nn.BatchNorm2d(out * g, affine=rng.random() < 0.7))
            ch = out * g
        models.append((_("random stack #{number}").format(number=i + 1), nn.Sequential(*layers)))
    shared = nn.Linear(rng.randint(2, 9), rng.randint(2, 9))
    models.append((N_("a layer used twice"), nn.Sequential(shared, nn.ReLU(), shared)
                   if shared.in_features == shared.out_features else nn.ModuleList([shared, shared])))
    return models


def conv2d_flops_grid(seed: int) -> list[tuple]:
    """(name, in_channels, out_channels, kernel_size, output_hw, groups) of the hidden
    conv2d_flops cases."""
    grid = []
    rng = random.Random(f"flops-{seed}")
    for i in range(8):
        g = rng.choice([1, 1, 2, 3])
        cin, cout = g * rng.randint(1, 4), g * rng.randint(1, 4)
        k = rng.choice([rng.randint(1, 5), (rng.randint(1, 5), rng.randint(1, 5))])
        out = rng.choice([rng.randint(1, 20), (rng.randint(1, 20), rng.randint(1, 20))])
        grid.append((_("random conv #{number}").format(number=i + 1), cin, cout, k, out, g))
    grid.append((N_("error: groups do not divide"), 3 * rng.randint(1, 3) + 1, 6, 3, 4, 3))
    return grid
