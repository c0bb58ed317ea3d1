"""Hidden cases of :mod:`cnncourse.checks.architectures` (the grader's; not in the students' wheel)."""

from __future__ import annotations

import random

from cnncourse.checks.architectures import PARTS, ArchCase, _course, _tv_block, _vgg
from cnncourse.i18n import _


def architecture_cases(part: str, seed: int, n: int = 3) -> list[ArchCase]:
    rng = random.Random(f"arch-{part}-{seed}")
    base = seed * 1000 + 100
    cases = []
    for i in range(n):
        s = base + 10 * i
        batch = rng.choice([1, 2])
        h, w = rng.randint(4, 9), rng.randint(4, 9)
        if part == "lenet":
            k = rng.randint(2, 20)
            cases.append(ArchCase(_("random LeNet-5 #{number}").format(number=i + 1), (k,), {}, _course("lenet", "LeNet5", k),
                                  (batch, 1, 32, 32), s))
        elif part == "vgg":
            cfg, c = [], 0
            for _unused in range(rng.randint(2, 5)):
                if c and rng.random() < 0.35 and cfg[-1] != "M":
                    cfg.append("M")
                else:
                    c = rng.randint(2, 8)
                    cfg.append(c)
            bn = rng.random() < 0.5
            cases.append(ArchCase(_("random cfg #{number}").format(number=i + 1), (cfg,), {"batch_norm": bn}, _vgg(cfg, bn),
                                  (batch, 3, h + 4, w + 4), s))
        elif part == "inception":
            cin = rng.randint(2, 6)
            cfg = [[rng.randint(1, 4)], [rng.randint(1, 3), rng.randint(1, 4)],
                   [rng.randint(1, 3), rng.randint(1, 4)], [rng.choice([3, 5]), rng.randint(1, 3)]]
            cases.append(ArchCase(_("random block #{number}").format(number=i + 1), (cin, cfg), {},
                                  _course("inception", "InceptionBlock", cin, cfg), (batch, cin, h, w), s))
        elif part in ("basic_block", "bottleneck"):
            kind = "basic" if part == "basic_block" else "bottleneck"
            exp = 1 if kind == "basic" else 4
            planes = rng.randint(2, 5)
            inplanes = planes * exp if rng.random() < 0.4 else rng.randint(2, 9)
            stride = rng.choice([1, 2])
            name = (_("random basic block #{number}") if kind == "basic"
                    else _("random bottleneck block #{number}")).format(number=i + 1)
            cases.append(ArchCase(name, (inplanes, planes), {"stride": stride},
                                  _tv_block(kind, inplanes, planes, stride), (batch, inplanes, h, w), s))
        elif part == "se":
            r = rng.choice([2, 4, 16])
            c = r * rng.randint(1, 4) + rng.randint(0, r - 1)
            cases.append(ArchCase(_("random SELayer #{number}").format(number=i + 1), (c,), {"reduction": r},
                                  _course("senet", "SELayer", c, r), (batch, c, h, w), s))
        elif part == "depthwise":
            nin, nout, k = rng.randint(1, 6), rng.randint(1, 6), rng.choice([1, 3, 5])
            p = rng.randint(0, k // 2)
            cases.append(ArchCase(_("random separable conv #{number}").format(number=i + 1), (nin, nout),
                                  {"kernel_size": k, "padding": p},
                                  _course("mobilenet", "DepthwiseSeparableConv", nin, nout, k, p),
                                  (batch, nin, h, w), s))
        else:
            raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")
    return cases
