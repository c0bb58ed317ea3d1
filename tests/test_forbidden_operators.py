"""Forbidden means any route to the operator, not a list of Python names.

Each student function here computes the right values through a route that no name rule
lists (a 3-D or 1-D convolution, ``torch.ops.aten.*``: the convolution, reflection padding,
im2col and batch-normalisation operators); the check must refuse it and name the operator. The
reference solutions keep full marks (the mutant suites and strict nbval of solutions/)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnncourse.checks import conv, matmul, norm_dropout
from cnncourse.checks.core import ATEN_CONVOLUTION, CheckFailure, forbid_calls
from cnncourse.nbgrader_course import solution_namespace


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_by_conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    out = F.conv3d(x[:, :, None], weight[:, :, None], bias, (1, *s), (0, *p), (1, *d), groups)
    return out[:, :, 0]


def conv2d_by_aten(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return torch.ops.aten.convolution(x, weight, bias, list(_pair(stride)), list(_pair(padding)),
                                      list(_pair(dilation)), False, [0, 0], groups)


def conv2d_by_conv1d_rows(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A 2-D convolution as a sum of 1-D convolutions of rows (stride/padding/dilation 1/0/1)."""
    kh = weight.shape[2]
    n, c, h, w = x.shape
    rows = []
    for i in range(h - kh + 1):
        acc = 0
        for u in range(kh):
            acc = acc + F.conv1d(x[:, :, i + u], weight[:, :, u], None, groups=groups)
        rows.append(acc)
    out = torch.stack(rows, 2)
    return out if bias is None else out + bias[None, :, None, None]


@pytest.mark.parametrize("fn, operator", [(conv2d_by_conv3d, "conv3d"),
                                          (conv2d_by_aten, "convolution"),
                                          (conv2d_by_conv1d_rows, "conv1d")],
                         ids=["conv3d", "aten", "conv1d"])
def test_conv2d_naive_refuses_every_route_to_a_convolution(fn, operator):
    with pytest.raises(CheckFailure) as info:
        conv.check_conv2d(fn, "basic")
    assert f"called the operator {operator}," in str(info.value), str(info.value)
    assert "forbids" in str(info.value)


def test_the_routes_compute_the_right_values():
    """Without the rule, the routes above are right: only the rule fails them."""
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    w, b = torch.randn(4, 3, 3, 2, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    for fn in (conv2d_by_conv3d, conv2d_by_aten, conv2d_by_conv1d_rows):
        torch.testing.assert_close(fn(x, w, b), F.conv2d(x, w, b))


def test_apply_kernel_refuses_the_reflection_padding_kernel():
    """nn.ReflectionPad2d goes through F.pad (the name rule); the ATen kernel directly."""
    ns = solution_namespace("a1_conv_forward", [(
        "padded = x[:, rows[:, None], cols[None, :]]",
        "padded = (torch.ops.aten.reflection_pad2d(x, [pw, pw, ph, ph]) if padding_mode == 'reflect' "
        "else x[:, rows[:, None], cols[None, :]])")], grade_id="apply_kernel")
    with pytest.raises(CheckFailure) as info:
        conv.check_apply_kernel(ns["apply_kernel"])
    assert "operator reflection_pad2d," in str(info.value), str(info.value)
    conv.check_apply_kernel(solution_namespace("a1_conv_forward")["apply_kernel"])


def conv2d_im2col_by_aten(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    cols = torch.ops.aten.im2col(x, [kh, kw], list(d), list(p), list(s))
    ho = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = (weight.reshape(o, -1) @ cols).reshape(n, o, ho, wo)
    return out if bias is None else out + bias[None, :, None, None]


def test_conv2d_im2col_refuses_the_aten_im2col():
    x, w = torch.randn(2, 3, 7, 6, dtype=torch.float64), torch.randn(4, 3, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(conv2d_im2col_by_aten(x, w, padding=1, stride=2),
                               F.conv2d(x, w, padding=1, stride=2))
    with pytest.raises(CheckFailure) as info:
        matmul.check_conv2d_im2col(conv2d_im2col_by_aten, "basic")
    assert "operator im2col," in str(info.value), str(info.value)


def test_batchnorm_refuses_the_aten_kernel():
    line = "y = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)"
    ns = solution_namespace("a6_norm_dropout", [(line, (
        "y = (torch.ops.aten.native_batch_norm(x, None, None, None, None, True, 0.0, self.eps)[0]"
        f" if self.training else {line[4:]})"))], grade_id="batchnorm")
    with pytest.raises(CheckFailure) as info:
        norm_dropout.check_batchnorm(ns["BatchNorm2d"], "train")
    assert "operator native_batch_norm," in str(info.value), str(info.value)
    norm_dropout.check_batchnorm(solution_namespace("a6_norm_dropout")["BatchNorm2d"], "train")


def test_the_rule_ends_with_the_check():
    x, w = torch.randn(1, 1, 5, 5), torch.randn(1, 1, 3, 3)
    with pytest.raises(CheckFailure):
        with forbid_calls([ATEN_CONVOLUTION], "no convolutions here."):
            F.conv2d(x, w)
    F.conv2d(x, w)  # allowed again
