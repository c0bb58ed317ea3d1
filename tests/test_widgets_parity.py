"""Parity of the widgets' JavaScript with PyTorch.

Each widget's module (cnncourse/widgets/<name>.js) exports its pure computations beside
``export default { render }``. These tests import that very file in Node
(tests/widgets_js_runner.mjs), call the functions on a grid of configurations and compare
what comes back with ``torch.nn.functional`` or the shared Python code.
"""

from __future__ import annotations

import itertools
import re
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
    assert ok > 150
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


# ---------------------------------------------------------------- kernel playground
from cnncourse.lecture import KERNELS  # noqa: E402
from cnncourse.widgets.kernel_playground import small_photo, torch_convolve  # noqa: E402


def _reference_convolve(image: np.ndarray, kernel, mode: str) -> np.ndarray:
    """F.pad (as nn.Conv2d(padding="same") pads: (k − 1)//2 before, the rest after) and a
    depthwise F.conv2d."""
    x = torch.as_tensor(np.array(image), dtype=torch.float64)
    gray = x.dim() == 2
    x = (x.unsqueeze(-1) if gray else x).permute(2, 0, 1).unsqueeze(0)
    k = torch.as_tensor(kernel, dtype=torch.float64)
    kh, kw = k.shape
    if mode != "valid":
        pads = ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)
        x = F.pad(x, pads, mode="constant" if mode == "zeros" else mode)
    c = x.shape[1]
    y = F.conv2d(x, k.expand(c, 1, kh, kw), groups=c)[0].permute(1, 2, 0)
    return (y[..., 0] if gray else y).numpy()


def kernel_grid() -> list:
    rng = np.random.default_rng(0)
    kernels = [v for v in KERNELS.values()]
    for kh, kw in [(1, 1), (1, 3), (2, 2), (2, 5), (4, 4), (5, 3), (6, 7), (7, 7), (3, 1)]:
        kernels.append(rng.integers(-3, 4, size=(kh, kw)).astype(float).tolist())
        kernels.append(np.round(rng.normal(size=(kh, kw)), 3).tolist())
    return kernels


KERNEL_GRID = kernel_grid()


@pytest.fixture(scope="module")
def photo():
    rgb, gray = small_photo("chelsea", 64)
    return rgb[20:38, 30:52], gray[20:38, 30:52]  # 18×22: small JSON, every border case


def test_kernel_playground_output_matches_pytorch(photo):
    rgb, gray = photo
    cases = [(k, mode, color) for k in KERNEL_GRID
             for mode in ("zeros", "reflect", "replicate", "circular", "valid")
             for color in ("gray", "rgb")]
    calls = []
    for k, mode, color in cases:
        img = gray if color == "gray" else rgb
        c = 1 if color == "gray" else 3
        calls.append(["convolve", img.reshape(-1).tolist(), img.shape[0], img.shape[1], c, k, mode])
    got = js("kernel_playground", calls)
    for (k, mode, color), g in zip(cases, got):
        img = gray if color == "gray" else rgb
        want = _reference_convolve(img, k, mode)
        assert (g["height"], g["width"]) == want.shape[:2], (k, mode)
        values = np.array(g["values"]).reshape(want.shape)
        np.testing.assert_allclose(values, want, rtol=1e-9, atol=1e-9, err_msg=f"{k} {mode} {color}")
        # The widget's Python side (nn.Conv2d(padding="same", padding_mode=mode)) agrees too.
        np.testing.assert_allclose(torch_convolve(img, k, mode), want, rtol=1e-9, atol=1e-9)


def test_kernel_playground_pixel_arithmetic_is_the_output(photo):
    """The arithmetic shown for one pixel (its window's values, the products, their sum) is
    PyTorch's output at that pixel, in every padding mode, at the corners and inside."""
    rgb, gray = photo
    h, w = gray.shape
    kernels = [KERNELS["sharpen"], [[1 / 9] * 3] * 3, [[1, -2, 0.5, 3], [0, 1, -1, 2]]]
    cases = [(k, mode, color, i, j) for k in kernels
             for mode in ("zeros", "reflect", "replicate", "circular", "valid")
             for color in ("gray", "rgb") for i, j in [(0, 0), (h - 1, w - 1), (0, w - 1), (7, 5)]]
    calls = []
    for k, mode, color, i, j in cases:
        img, c = (gray, 1) if color == "gray" else (rgb, 3)
        if mode == "valid":
            i, j = min(i, h - len(k)), min(j, w - len(k[0]))
        calls.append(["pixelArithmetic", img.reshape(-1).tolist(), h, w, c, k, mode, i, j, c - 1])
    got = js("kernel_playground", calls)
    for (k, mode, color, _, _), call, g in zip(cases, calls, got):
        img = gray if color == "gray" else rgb
        i, j, ch = call[7], call[8], call[9]
        want = _reference_convolve(img, k, mode)
        want = want[i, j] if color == "gray" else want[i, j, ch]
        assert g["sum"] == pytest.approx(want, rel=1e-12, abs=1e-9), (k, mode, color, i, j)
        values = np.array([[0 if v is None else v for v in row] for row in g["values"]], dtype=float)
        np.testing.assert_allclose(np.array(g["products"]), values * np.array(k), rtol=1e-12)
        assert sum(map(sum, g["products"])) == pytest.approx(want, rel=1e-12, abs=1e-9)


NUMBER_ENTRIES = ["1/9", "-1/8", " 3 / 4 ", ".5", "2.", "1e-3", "-0.25", "7", "+2", "\u22121/4",
                  "1.5/0.5", "-3e2"]
BAD_ENTRIES = ["", "abc", "1/0", "1//2", "0x10", "Infinity", "NaN", "1,5", "2 3", "1/", "/2", "1e400", "--1"]


def test_number_entries_fractions_and_refusals():
    """A kernel entry is a decimal or a fraction (1/9 was silently 0); anything else is refused
    with a message, never turned into a number."""
    from fractions import Fraction

    got = js("_controls", [["parseNumber", t] for t in NUMBER_ENTRIES + BAD_ENTRIES])
    for text, g in zip(NUMBER_ENTRIES, got):
        a, _, b = text.replace("\u2212", "-").replace(" ", "").partition("/")
        want = float(Fraction(a) / Fraction(b)) if b else float(a)
        assert g == {"ok": True, "value": pytest.approx(want, rel=1e-15)}, text
    for text, g in zip(BAD_ENTRIES, got[len(NUMBER_ENTRIES):]):
        assert g["ok"] is False and g["error"], text
    whole = js("_controls", [["parseInteger", t, 1, 9] for t in ["1", " 9", "0", "10", "2.5", "", "x"]])
    assert [g["ok"] for g in whole] == [True, True, False, False, False, False, False]
    assert "from 1 to 9" in whole[2]["error"]


def test_conv_arithmetic_viewport_keeps_the_window_in_view():
    """A large layer is drawn in part (16 cells of the frame around the window): the window
    is always wholly inside the part drawn, and the part lies inside the frame."""
    cases = [(size, first, extent) for size in (1, 5, 16, 17, 58, 104) for extent in (1, 3, 9, 33)
             if extent <= size for first in range(0, size - extent + 1, 3)]
    got = js("conv_arithmetic", [["viewport", size, first, extent, 16] for size, first, extent in cases])
    for (size, first, extent), (start, length) in zip(cases, got):
        assert 0 <= start and start + length <= size, (size, first, extent)
        assert start <= first and first + extent <= start + length, (size, first, extent)
        assert length == min(size, max(16, extent)), (size, first, extent)


def test_kernel_playground_decodes_the_embedded_photo():
    from cnncourse.widgets import KernelPlayground

    w = KernelPlayground(photo="coffee", height=24, color="rgb", padding_mode="reflect",
                         preset="outline")
    got = js("kernel_playground", [["decodePixels", w.rgb], ["decodePixels", w.gray]])
    rgb, gray = small_photo("coffee", 24)
    assert got[0] == rgb.reshape(-1).tolist()
    assert got[1] == gray.reshape(-1).tolist()
    assert w.output().shape == (24, rgb.shape[1], 3)


def rank_grid() -> list:
    rng = np.random.default_rng(1)
    mats = list(KERNELS.values()) + [[[0.0] * 3] * 3, [[2.0]], [[0, 0], [0, 0]]]
    for _ in range(150):
        m, n = rng.integers(1, 8, size=2)
        r = int(rng.integers(1, min(m, n) + 1))
        u = rng.integers(-4, 5, size=(m, r)).astype(float)
        v = rng.integers(-4, 5, size=(r, n)).astype(float)
        mats.append((u @ v).tolist())
        mats.append((u @ v / 16).tolist())
    return mats


def test_kernel_playground_rank_matches_torch():
    mats = rank_grid()
    got = js("kernel_playground", [["rank", m] for m in mats])
    want = [int(torch.linalg.matrix_rank(torch.tensor(m, dtype=torch.float64))) for m in mats]
    assert got == want
    assert {1, 2, 3}.issubset(set(want))  # the grid has every kind of kernel


def test_kernel_playground_separable_factors(photo):
    _, gray = photo
    mats = rank_grid()
    got = js("kernel_playground", [["separable", m] for m in mats])
    x = torch.as_tensor(gray, dtype=torch.float64)[None, None]
    n_rank1 = 0
    for m, g in zip(mats, got):
        k = torch.tensor(m, dtype=torch.float64)
        if int(torch.linalg.matrix_rank(k)) != 1:
            assert g is None, m
            continue
        n_rank1 += 1
        u = torch.tensor(g["column"], dtype=torch.float64)
        v = torch.tensor(g["row"], dtype=torch.float64)
        torch.testing.assert_close(torch.outer(u, v), k)
        # A k×1 convolution then a 1×k one is the k×k convolution (L25).
        two = F.conv2d(F.conv2d(x, u.reshape(1, 1, -1, 1)), v.reshape(1, 1, 1, -1))
        torch.testing.assert_close(two, F.conv2d(x, k[None, None]))
    assert n_rank1 > 20
    sobel = js("kernel_playground", [["separable", KERNELS["left sobel"]]])[0]
    assert sobel == {"column": [1, 2, 1], "row": [1, 0, -1]}


# ---------------------------------------------------------------- pooling explorer
from cnncourse.lecture import EXAMPLE2_INPUT  # noqa: E402
from cnncourse.widgets.pooling_explorer import torch_pool  # noqa: E402


def pool_grid() -> list:
    """(input, config, upstream gradient) triples; inputs with ties (the lecture's integer
    input, small integers) test PyTorch's choice among equal maxima."""
    rng = random.Random(2)
    nprng = np.random.default_rng(2)
    cases = []
    for _ in range(400):
        h, w = rng.randint(1, 9), rng.randint(1, 9)
        x = EXAMPLE2_INPUT if rng.random() < 0.2 else nprng.integers(0, 4, size=(h, w)).tolist()
        if rng.random() < 0.15:
            x = np.round(nprng.normal(size=(h, w)), 2).tolist()
        kh, kw = rng.randint(1, 5), rng.randint(1, 5)
        ph, pw = rng.randint(0, kh // 2), rng.randint(0, kw // 2)
        if rng.random() < 0.1:
            ph, pw = rng.randint(0, 2), rng.randint(0, 2)
        c = dict(kind=rng.choice(["max", "avg"]), kernel_h=kh, kernel_w=kw,
                 stride_h=rng.randint(1, 4), stride_w=rng.randint(1, 4), padding_h=ph,
                 padding_w=pw, ceil_mode=rng.random() < 0.5, count_include_pad=rng.random() < 0.6)
        cases.append((x, c))
    base = dict(kind="max", kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, padding_h=0,
                padding_w=0, ceil_mode=False, count_include_pad=True)
    for bad in (dict(stride_h=0), dict(kernel_w=0), dict(padding_w=-1), dict(padding_h=2)):
        for kind in ("max", "avg"):
            cases.append((EXAMPLE2_INPUT, dict(base, kind=kind, **bad)))
    cases.append(([[1, 2]], base))
    out = []
    for x, c in cases:
        r = torch_pool(x, c)
        up = nprng.integers(1, 5, size=r["out"]).tolist() if r["ok"] else None
        out.append((x, c, up))
    return out


POOL_GRID = pool_grid()


def test_pool_grid_is_not_vacuous():
    results = [torch_pool(x, c) for x, c, _ in POOL_GRID]
    assert sum(r["ok"] for r in results) > 200
    errors = {r["error"][:20] for r in results if not r["ok"]}
    assert len(errors) >= 5, errors  # pad, stride, kernel, negative pad, output too small
    assert any(c["ceil_mode"] and r["ok"] and r["out"] != torch_pool(x, dict(c, ceil_mode=False)).get("out")
               for (x, c, _), r in zip(POOL_GRID, results))


def test_pooling_matches_pytorch():
    calls = []
    for x, c, up in POOL_GRID:
        calls.append(["pool", x, c])
        calls.append(["backward", x, c, up] if up is not None else ["poolCheck", len(x), len(x[0]), c])
    got = js("pooling_explorer", calls)
    for k, (x, c, up) in enumerate(POOL_GRID):
        want = torch_pool(x, c, up)
        fwd, bwd = got[2 * k], got[2 * k + 1]
        if not want["ok"]:
            assert fwd == want and bwd == want, (x, c, fwd, want)
            continue
        assert fwd["ok"] and fwd["out"] == want["out"], (x, c)
        np.testing.assert_allclose(fwd["values"], want["values"], rtol=1e-12, atol=1e-12,
                                   err_msg=str(c))
        # Where the gradient goes: exactly PyTorch's (for max: its choice among ties).
        np.testing.assert_allclose(bwd, want["grad"], rtol=1e-12, atol=1e-12, err_msg=str((x, c)))


def test_pooling_lecture_example():
    """L12: average pooling 3×3, stride 1, on the L04 input."""
    c = dict(kind="avg", kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, padding_h=0,
             padding_w=0, ceil_mode=False, count_include_pad=True)
    (got,) = js("pooling_explorer", [["pool", EXAMPLE2_INPUT, c]])
    want = F.avg_pool2d(torch.tensor(EXAMPLE2_INPUT, dtype=torch.float64)[None, None], 3, 1)
    np.testing.assert_allclose(got["values"], want[0, 0].numpy(), rtol=1e-12)


# ---------------------------------------------------------------- convolution as a matrix
from cnncourse.conv_matrix import conv_matrix  # noqa: E402


def matrix_grid() -> list:
    rng = np.random.default_rng(3)
    cases = [(3, 3, [[0, 1], [1, -1]], 1, 0), (4, 4, [[1, 1], [1, 1]], 1, 0)]  # L09, L30
    for h, w, kh, kw, s, p in itertools.product([1, 2, 3, 5], [2, 4, 5], [1, 2, 3], [1, 3],
                                                [1, 2, 3], [0, 1, 2]):
        if rng.random() < 0.35:
            cases.append((h, w, rng.integers(-3, 4, size=(kh, kw)).tolist(), s, p))
    return cases


MATRIX_GRID = matrix_grid()


def _torch_matrix(h, w, kernel, s, p):
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    k = torch.tensor(kernel, dtype=torch.float64)[None, None]
    return F.conv2d(basis, k, stride=s, padding=p).reshape(h * w, -1).T


def test_conv_matrix_matches_pytorch():
    got = js("conv_matrix", [["convMatrix", h, w, k, s, p] for h, w, k, s, p in MATRIX_GRID])
    n_ok = n_plain = 0
    for (h, w, k, s, p), g in zip(MATRIX_GRID, got):
        try:
            want = _torch_matrix(h, w, k, s, p)
        except RuntimeError:
            assert not g["ok"], (h, w, k, s, p)
            continue
        n_ok += 1
        assert g["ok"] and [g["outHeight"], g["outWidth"]] == list(
            F.conv2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, len(k), len(k[0])), stride=s,
                     padding=p).shape[2:])
        m = torch.tensor(g["matrix"], dtype=torch.float64)
        torch.testing.assert_close(m, want, rtol=0, atol=0)
        # Entries outside the windows are structural zeros; inside, they copy the kernel.
        which = torch.tensor(g["which"])
        flat_k = torch.tensor(k, dtype=torch.float64).flatten()
        assert torch.equal(m[which >= 0], flat_k[which[which >= 0]])
        assert torch.all(m[which < 0] == 0)
        if s == 1 and p == 0:  # the shared Python code (lecture L09)
            n_plain += 1
            torch.testing.assert_close(m, conv_matrix((h, w), torch.tensor(k, dtype=torch.float64)))
    assert n_ok > 60 and n_plain > 5


def test_conv_matrix_transpose_is_conv_transpose2d():
    rng = np.random.default_rng(4)
    calls, cases = [], []
    for h, w, k, s, p in MATRIX_GRID:
        try:
            _torch_matrix(h, w, k, s, p)
        except RuntimeError:
            continue
        ho, wo = F.conv2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, len(k), len(k[0])),
                          stride=s, padding=p).shape[2:]
        y = rng.integers(-3, 4, size=(ho, wo))
        cases.append((h, w, k, s, p, y))
        calls += [["convMatrix", h, w, k, s, p], ["outputPadding", h, len(k), s, p],
                  ["outputPadding", w, len(k[0]), s, p]]
    got = js("conv_matrix", calls)
    # Transpose, then multiply, both in JS.
    transposed = js("conv_matrix", [["transpose", got[3 * n]["matrix"]] for n in range(len(cases))])
    products = js("conv_matrix", [["matVec", t, y.flatten().tolist()]
                                  for t, (*_, y) in zip(transposed, cases)])
    for n, (h, w, k, s, p, y) in enumerate(cases):
        op = (got[3 * n + 1], got[3 * n + 2])
        want = F.conv_transpose2d(torch.tensor(y, dtype=torch.float64)[None, None],
                                  torch.tensor(k, dtype=torch.float64)[None, None], stride=s,
                                  padding=p, output_padding=op)
        assert want.shape[2:] == (h, w)  # the transposed convolution undoes the shapes
        np.testing.assert_allclose(products[n], want.flatten().numpy(), rtol=0, atol=1e-12)
        assert np.array(transposed[n]).shape == (h * w, y.size)


# ---------------------------------------------------------------- receptive fields
from cnncourse.receptive_field import receptive_field  # noqa: E402
from cnncourse.widgets.receptive_field import build_stack, measure, signature  # noqa: E402


def stack_grid() -> list:
    rng = random.Random(5)
    stacks = [(24, 24, [dict(kind="conv", kernel=3, stride=1, padding=0, dilation=1)] * n)
              for n in (1, 2, 3)]  # L17: 3×3, 5×5, 7×7
    while len(stacks) < 60:
        layers = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(["conv", "conv", "maxpool", "avgpool"])
            k, d = rng.randint(1, 5), rng.randint(1, 2) if kind != "avgpool" else 1
            p = rng.randint(0, 2) if kind == "conv" else rng.randint(0, ((k - 1) * d + 1) // 2 + 1)
            layers.append(dict(kind=kind, kernel=k, stride=rng.randint(1, 3), padding=p, dilation=d))
        stacks.append((rng.randint(8, 33), rng.randint(8, 33), layers))
    return stacks


def test_stack_grid_has_refusals():
    refused = 0
    for h, w, layers in STACK_GRID:
        try:
            with torch.no_grad():
                build_stack(layers)(torch.zeros(1, 1, h, w))
        except RuntimeError:
            refused += 1
    assert 3 <= refused <= len(STACK_GRID) // 2


STACK_GRID = stack_grid()


def test_receptive_field_matches_shared_python():
    got = js("receptive_field", [["stackGeometry", h, w, layers] for h, w, layers in STACK_GRID])
    field_calls, expected = [], []
    n_ok = 0
    for (h, w, layers), g in zip(STACK_GRID, got):
        try:
            rows = receptive_field(build_stack(layers), (h, w))
            with torch.no_grad():  # PyTorch accepts the stack too
                build_stack(layers)(torch.zeros(1, 1, h, w))
        except (ValueError, RuntimeError):
            assert not g["ok"], (h, w, layers)
            continue
        n_ok += 1
        assert g["ok"], (h, w, layers, g)
        for js_row, row in zip(g["rows"], rows):
            assert tuple(js_row["out"]) == row.output_size
            assert tuple(js_row["size"]) == row.size
            assert tuple(js_row["jump"]) == row.jump
            assert tuple(js_row["start"]) == row.start
        last = rows[-1]
        for i in range(last.output_size[0]):
            for j in range(last.output_size[1]):
                field_calls.append(["field", g["rows"][-1], h, w, i, j])
                expected.append(last.field((i, j), (h, w)))
    assert n_ok >= 30
    got_fields = js("receptive_field", field_calls)
    assert [tuple(map(tuple, f)) for f in got_fields] == expected


def test_receptive_field_signature_and_measurement():
    h, w, layers = 16, 14, [dict(kind="conv", kernel=3, stride=1, padding=1, dilation=1),
                            dict(kind="maxpool", kernel=2, stride=2, padding=0, dilation=1),
                            dict(kind="conv", kernel=3, stride=2, padding=0, dilation=2)]
    (sig, geometry) = js("receptive_field", [["signature", h, w, layers],
                                             ["stackGeometry", h, w, layers]])
    assert sig == signature(h, w, layers)
    e = measure(h, w, layers)
    assert e["out"] == geometry["rows"][-1]["out"]
    fields = js("receptive_field", [["field", geometry["rows"][-1], h, w, i, j]
                                    for i in range(e["out"][0]) for j in range(e["out"][1])])
    for (t, l, hh, ww, _), ((top, bottom), (left, right)) in zip(e["units"], fields):
        # The gradient reaches the input only inside the computed field, and does reach it.
        assert hh > 0 and top <= t and t + hh - 1 <= bottom and left <= l and l + ww - 1 <= right


# ---------------------------------------------------------------- the modules the browser gets
def test_browser_modules_are_self_contained(tmp_path):
    """What the page embeds (``_esm``: _common.js + the widget without its import) is a
    module on its own, with ``render`` and the same functions as the file tested above."""
    from cnncourse.widgets import (ConvArithmetic, ConvMatrix, KernelPlayground,
                                   PoolingExplorer, ReceptiveFieldExplorer)

    cases = {
        ConvArithmetic: ["convCheck", CONV_GRID[1]],
        KernelPlayground: ["rank", KERNELS["left sobel"]],
        PoolingExplorer: ["pool", EXAMPLE2_INPUT, dict(kind="max", kernel_h=2, kernel_w=2,
                                                       stride_h=2, stride_w=2, padding_h=0,
                                                       padding_w=0, ceil_mode=True,
                                                       count_include_pad=True)],
        ConvMatrix: ["convMatrix", 3, 3, [[0, 1], [1, -1]], 1, 0],
        ReceptiveFieldExplorer: ["stackGeometry", 24, 24, [dict(kind="conv", kernel=3, stride=1,
                                                                padding=0, dilation=1)]],
    }
    for cls, call in cases.items():
        assert not re.search(r'^import .* from "\./', cls._esm, re.M), cls.__name__
        bundle = tmp_path / f"{cls._name}.mjs"
        bundle.write_text(cls._esm + "\nexport const __hasRender = () => typeof render === 'function';\n")
        payload = json.dumps({"module": str(bundle), "calls": [call, ["__hasRender"]]})
        proc = subprocess.run([NODE, str(RUNNER)], input=payload, capture_output=True, text=True,
                              timeout=120, check=True)
        bundled, has_render = json.loads(proc.stdout)
        assert has_render == {"ok": True, "value": True}, cls.__name__
        (direct,) = js(cls._name, [call])
        assert bundled == {"ok": True, "value": direct}, cls.__name__


def test_receptive_field_widget_remeasures_in_a_live_kernel():
    from cnncourse.widgets import ReceptiveFieldExplorer

    w = ReceptiveFieldExplorer(input_hw=(12, 12), layers=[("conv", 3, 1, 0, 1)])
    assert w.empirical["out"] == [10, 10]
    w.layers = [dict(kind="conv", kernel=5, stride=2, padding=1, dilation=1)]
    assert w.empirical["signature"] == signature(12, 12, w.layers)
    assert w.empirical["out"] == [5, 5]
    w.layers = [dict(kind="conv", kernel=9, stride=1, padding=0, dilation=2)]  # does not fit
    assert w.empirical == {}


def test_conv_matrix_lecture_transposed_example():
    """L30: ConvTranspose2d(1, 1, 2) with weights 1 on arange(1, 17) as 4×4 is Mᵀ of the
    2×2 convolution of a 5×5 input times (1, …, 16) — what the widget's transposed mode shows
    for ConvMatrix(values=5×5, kernel=ones(2, 2), transposed=True)."""
    (m,) = js("conv_matrix", [["convMatrix", 5, 5, [[1, 1], [1, 1]], 1, 0]])
    (y,) = js("conv_matrix", [["matVec", np.array(m["matrix"]).T.tolist(), list(range(1, 17))]])
    layer = torch.nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False)
    torch.nn.init.ones_(layer.weight)
    want = layer(torch.arange(1, 17, dtype=torch.float32).reshape(1, 1, 4, 4))
    assert want.shape == (1, 1, 5, 5)
    assert y == want.flatten().tolist()


def test_notebooks_embed_the_current_widget_code():
    """The book's pages run the widget code stored in their notebooks (the widget state that
    tools/execute_chapters.py saves): it must be today's JavaScript, or the static book would
    run old widgets. Fix: re-run the notebook (`make execute` or tools/execute_chapters.py)."""
    import nbformat

    from cnncourse.widgets._base import HERE, esm_source

    current = {esm_source(p.stem) for p in HERE.glob("*.js") if not p.stem.startswith("_")}
    stale, seen = [], 0
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
        for model in state.get("state", {}).values():
            s = model.get("state", {})
            if "cnnw" not in s.get("_esm", ""):
                continue
            seen += 1
            if s["_esm"] not in current:  # (an older widgets.css only changes the look)
                stale.append(path.relative_to(ROOT).as_posix())
    assert seen >= 6  # the gallery at least
    assert not stale, f"re-run these notebooks, their widgets are out of date: {sorted(set(stale))}"


# ---------------------------------------------------------------- the widgets' words in two languages
def test_widget_texts_have_english_and_russian_alike():
    """Every module's TEXT tables (cnncourse/widgets/_i18n.js) have the same keys in English and
    Russian, a text is a function in both or in neither (taking the same arguments), a Russian
    text is Russian (Cyrillic) unless it is the English one (a name such as "max (MaxPool2d)"),
    and every key the module asks for with t("...") is in its table."""
    from widget_words import WIDGETS, tables, words

    problems = []
    for name, entry in tables().items():
        if entry["keys"]["en"] != entry["keys"]["ru"]:
            problems.append(f"{name}: keys differ: {set(entry['keys']['en']) ^ set(entry['keys']['ru'])}")
        problems += [f"{name}: {key} takes {a} in English, {b} in Russian"
                     for key, (a, b) in entry["arity"].items() if a != b]
        for en, ru in zip(entry["texts"]["en"], entry["texts"]["ru"]):
            if ru != en and words(en) and not re.search("[а-яё]", ru, re.I):
                problems.append(f"{name}: not Russian: {ru!r}")
        source = (WIDGETS / f"{name}.js").read_text()
        asked = set(re.findall(r'\bt\("([^"]+)"', source)) | set(re.findall(r'\bct\(\)\("([^"]+)"', source))
        problems += [f"{name}: t({k!r}) has no text" for k in sorted(asked - set(entry["keys"]["en"]))]
        assert len(asked) >= 5, name  # the module does use its table
    assert len(tables()) == 8
    assert not problems, "\n".join(problems)
