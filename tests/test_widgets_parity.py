"""Parity of the widgets' JavaScript with PyTorch.

Each widget's module (cnncourse/widgets/<name>.js) exports its pure computations beside
``export default { render }``. These tests import that very file in Node
(tests/widgets_js_runner.mjs), call the functions on a grid of configurations and compare
what comes back with ``torch.nn.functional`` or the shared Python code.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ROOT / "cnncourse" / "widgets"
RUNNER = Path(__file__).with_name("widgets_js_runner.mjs")
NODE = shutil.which("node")

if NODE is None:  # the project's setup installs Node (package.json): its absence is an error
    raise RuntimeError("node is not on PATH; the widget parity tests run the widgets' JS in Node")


def js(widget: str, calls: list) -> list:
    """Call ``widget``'s exported functions: calls = [[name, *args], ...] -> their values."""
    payload = json.dumps({"module": str(WIDGETS / f"{widget}.js"), "calls": calls})
    proc = subprocess.run([NODE, str(RUNNER)], input=payload, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    errors = [r["error"] for r in results if not r["ok"]]
    assert not errors, errors[0]
    return [r["value"] for r in results]


# ---------------------------------------------------------------- convolution arithmetic
from functools import lru_cache  # noqa: E402

from cnncourse.widgets.conv_arithmetic import torch_conv_check as _torch_conv_check  # noqa: E402


@lru_cache(maxsize=None)
def _cached_check(items: tuple, onednn: bool) -> dict:
    return _torch_conv_check(dict(items), onednn)


def torch_conv_check(config: dict, onednn: bool = False) -> dict:
    return dict(_cached_check(tuple(sorted(config.items())), onednn))


def conv_grid() -> list[dict]:
    """Valid and refused configurations: every refusal PyTorch has for these settings."""
    rng = random.Random(0)
    base = dict(height=5, width=5, in_channels=1, out_channels=1, kernel_h=3, kernel_w=3,
                stride_h=1, stride_w=1, padding_h=0, padding_w=0, dilation_h=1, dilation_w=1,
                groups=1, transposed=False, output_padding_h=0, output_padding_w=0)
    grid = []
    # The lecture's examples: L04, L08 (16→33, (3, 5), stride (2, 1), padding (4, 2),
    # dilation (3, 1) on 50×100), L30 (transposed 2×2 on 4×4).
    grid.append(dict(base))
    grid.append(dict(base, height=50, width=100, in_channels=16, out_channels=33, kernel_h=3,
                     kernel_w=5, stride_h=2, padding_h=4, padding_w=2, dilation_h=3))
    grid.append(dict(base, height=4, width=4, kernel_h=2, kernel_w=2, transposed=True))
    grid.append(dict(base, height=19, width=29, in_channels=20, out_channels=10, kernel_h=2,
                     kernel_w=2, transposed=True))
    for _ in range(500):
        c = dict(base)
        c.update(height=rng.randint(1, 34), width=rng.randint(1, 34),
                 kernel_h=rng.randint(1, 9), kernel_w=rng.randint(1, 9),
                 stride_h=rng.randint(1, 4), stride_w=rng.randint(1, 4),
                 padding_h=rng.randint(0, 5), padding_w=rng.randint(0, 5),
                 dilation_h=rng.randint(1, 4), dilation_w=rng.randint(1, 4),
                 in_channels=rng.choice([1, 2, 3, 4, 6, 8, 12]),
                 out_channels=rng.choice([1, 2, 3, 4, 6, 8, 12]),
                 groups=rng.choice([1, 1, 1, 2, 3, 4, 5]),
                 transposed=rng.random() < 0.4,
                 output_padding_h=rng.choice([0, 0, 0, 1, 2, 3]),
                 output_padding_w=rng.choice([0, 0, 0, 1, 2]))
        grid.append(c)
    # Settings outside the widget's controls, which the function handles all the same.
    for bad in (dict(stride_h=0), dict(stride_w=-1), dict(padding_h=-1), dict(dilation_w=0),
                dict(dilation_h=-2), dict(groups=0), dict(groups=-1),
                dict(stride_h=0, padding_w=-1), dict(dilation_h=0, kernel_h=9)):
        for transposed in (False, True):
            grid.append(dict(base, transposed=transposed, **bad))
    grid.append(dict(base, transposed=True, output_padding_w=-1))
    grid.append(dict(base, transposed=True, dilation_h=0, output_padding_h=3))
    return grid


CONV_GRID = conv_grid()


def test_conv_grid_covers_every_refusal():
    """The grid is not vacuous: it has valid configurations and each kind of refusal."""
    reasons = {r["error"].split(",")[0].split(":")[0] if r["error"][0].isalpha() else r["error"]
               for r in map(torch_conv_check, CONV_GRID) if not r["ok"]}
    ok = sum(torch_conv_check(c)["ok"] for c in CONV_GRID)
    assert ok > 200
    for start in ("groups must be", "in_channels must", "out_channels must", "negative padding",
                  "non-positive stride", "dilation should", "Calculated padded input size per channel",
                  "output padding must", "Given input size per channel", "negative output_padding"):
        assert any(r.startswith(start) for r in reasons), start


def test_conv_arithmetic_matches_pytorch():
    got = js("conv_arithmetic", [["convCheck", c] for c in CONV_GRID])
    for c, g in zip(CONV_GRID, got):
        want = torch_conv_check(c)
        assert g == want, f"{c}: JS {g}, PyTorch {want}"
        # With oneDNN (PyTorch's default CPU path) the decision and sizes are the same.
        fast = torch_conv_check(c, onednn=True)
        assert fast["ok"] == want["ok"] and fast.get("out") == want.get("out"), c


def test_conv_arithmetic_lecture_example():
    """L08: nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)) on
    (20, 16, 50, 100) gives (20, 33, 26, 100)."""
    layer = torch.nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    want = list(layer(torch.zeros(20, 16, 50, 100)).shape[1:])
    (got,) = js("conv_arithmetic", [["convCheck", CONV_GRID[1]]])
    assert got == {"ok": True, "out": want}


def _support(config: dict) -> dict:
    """For each output cell, the input cells it depends on, by pushing the H·W one-hot
    images through F.conv2d / F.conv_transpose2d with a kernel of ones."""
    c = config
    h, w = c["height"], c["width"]
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    weight = torch.ones(1, 1, c["kernel_h"], c["kernel_w"], dtype=torch.float64)
    kw = dict(stride=(c["stride_h"], c["stride_w"]), padding=(c["padding_h"], c["padding_w"]),
              dilation=(c["dilation_h"], c["dilation_w"]))
    if c["transposed"]:
        out = F.conv_transpose2d(basis, weight, output_padding=(c["output_padding_h"],
                                                                c["output_padding_w"]), **kw)
    else:
        out = F.conv2d(basis, weight, **kw)
    out = out[:, 0]  # (H·W, H_out, W_out)
    return {(i, j): sorted([divmod(int(p), w) for p in torch.nonzero(out[:, i, j]).flatten()])
            for i in range(out.shape[1]) for j in range(out.shape[2])}


def test_conv_arithmetic_sliding_window_matches_pytorch():
    """The cells the animated window covers are the inputs each output depends on."""
    configs = [dict(c, in_channels=1, out_channels=1, groups=1) for c in CONV_GRID]
    configs = [c for c in configs if torch_conv_check(c)["ok"]
               and c["height"] * c["width"] <= 150][:40]
    assert len(configs) >= 30 and any(c["transposed"] for c in configs)
    calls, keys = [], []
    supports = [_support(c) for c in configs]
    for c, s in zip(configs, supports):
        for (i, j) in s:
            calls.append(["windowCells", c, i, j])
            keys.append(s[(i, j)])
    got = js("conv_arithmetic", calls)
    for g, want in zip(got, keys):
        assert sorted(map(tuple, g)) == [tuple(x) for x in want]


def test_conv_arithmetic_groups_and_parameters():
    configs = [c for c in CONV_GRID if torch_conv_check(c)["ok"] and not c["transposed"]][:80]
    calls = [["parameterCount", c] for c in configs]
    calls += [["channelRange", c, o] for c in configs for o in range(c["out_channels"])]
    got = js("conv_arithmetic", calls)
    counts, ranges = got[:len(configs)], iter(got[len(configs):])
    for c, n in zip(configs, counts):
        layer = torch.nn.Conv2d(c["in_channels"], c["out_channels"], (c["kernel_h"], c["kernel_w"]),
                                groups=c["groups"], bias=False)
        assert n == layer.weight.numel()
        # Output channel o depends on exactly the input channels of its group.
        torch.nn.init.ones_(layer.weight)
        x = torch.eye(c["in_channels"]).reshape(c["in_channels"], c["in_channels"], 1, 1)
        x = x.expand(-1, -1, c["kernel_h"], c["kernel_w"])
        y = layer(x)[:, :, 0, 0]  # (one-hot input channel, output channel)
        for o in range(c["out_channels"]):
            first, last = next(ranges)
            seen = torch.nonzero(y[:, o]).flatten().tolist()
            assert seen == list(range(first, last + 1))
