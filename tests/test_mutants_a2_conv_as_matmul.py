"""Mutants of a2_conv_as_matmul: plausible wrong implementations of the three functions.

Each mutant is the solution notebook's code with one or two strings replaced (the test
asserts each replacement happened exactly once). Every graded test cell of the solution
notebook (its visible *and* hidden checks, with exactly the notebook's seeds) runs on each
mutant, and the test asserts precisely which graded parts fail: the part that targets the
mistake, and no other.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

import cnncourse.nbgrader_course as harness
from cnncourse.checks.core import CheckFailure
from cnncourse.checks.matmul import (check_conv2d_im2col, check_conv_matrix,
                                     check_conv_transpose2d)

A = "a2_conv_as_matmul"
PARTS = {"test_conv_matrix", "test_im2col_basic", "test_im2col_stride_padding_dilation",
         "test_im2col_groups", "test_im2col_errors", "test_im2col_speed",
         "test_transpose_basic", "test_transpose_stride_padding", "test_transpose_groups",
         "test_transpose_errors"}


def solution_namespace(replace=()):
    return harness.solution_namespace(A, replace)


def failing_parts(ns) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


def test_solution_passes_every_part():
    assert failing_parts(solution_namespace()) == set()


SLOW_LOOP = """out = x.new_zeros(n, c_out, oh * ow)
    for b_ in range(n):
        for p_ in range(oh * ow):
            out[b_, :, p_] = (weight.reshape(groups, c_out // groups, -1)
                              @ cols[b_, :, :, p_:p_ + 1]).reshape(c_out)"""

MUTANTS = {
    "conv_matrix rows in column-major order of the output": (
        [("return m.reshape(oh * ow, h * w)", "return m.transpose(0, 1).reshape(oh * ow, h * w)")],
        {"test_conv_matrix"}),
    "F.pad's order mixed up: height padding applied to the width": (
        [("F.pad(x, (pw, pw, ph, ph))", "F.pad(x, (ph, ph, pw, pw))")],
        {"test_im2col_stride_padding_dilation"}),
    "dilation ignored in the patch view": (
        [("(s_n, c_group * s_c, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w)",
          "(s_n, c_group * s_c, s_c, s_h, s_w, sh * s_h, sw * s_w)")],
        {"test_im2col_stride_padding_dilation"}),
    "wrong group-to-channel mapping: group g starts at input channel g": (
        [("(s_n, c_group * s_c, s_c, dh * s_h", "(s_n, s_c, s_c, dh * s_h")],
        {"test_im2col_groups"}),
    "channel count not validated": (
        [("if c_in != c_group * groups:", "if False:")],
        {"test_im2col_errors"}),
    "a Python loop over output pixels (correct but slow)": (
        [("out = weight.reshape(groups, c_out // groups, c_group * kh * kw) @ cols", SLOW_LOOP)],
        {"test_im2col_speed"}),
    "conv_transpose2d ignores output_padding": (
        [("full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph", "full_h = (h - 1) * sh + dh * (kh - 1) + 1"),
         ("full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw", "full_w = (w - 1) * sw + dw * (kw - 1) + 1")],
        {"test_transpose_stride_padding"}),
    "conv_transpose2d maps input channel c to group c % groups": (
        [("cols = wt @ x.reshape(n, groups, c_group, h * w)",
          "cols = wt @ x.reshape(n, c_group, groups, h * w).transpose(1, 2)")],
        {"test_transpose_groups"}),
    "conv_transpose2d accepts any output_padding": (
        [("if not (oph < sh or oph < dh) or not (opw < sw or opw < dw):", "if False:")],
        {"test_transpose_errors"}),
    # dtype and layout (issue #13): only the float32, channels-last and transposed cases
    # of the basic parts catch these
    "im2col: .view on a non-contiguous weight": (
        [("out = weight.reshape(groups, c_out // groups, c_group * kh * kw) @ cols",
          "out = weight.view(groups, c_out // groups, c_group * kh * kw) @ cols")],
        {"test_im2col_basic"}),
    "im2col: strides computed from the shape, as if the input were contiguous": (
        [("xp = F.pad(x, (pw, pw, ph, ph)).contiguous()\n    s_n, s_c, s_h, s_w = xp.stride()",
          "xp = F.pad(x, (pw, pw, ph, ph))\n"
          "    s_n, s_c, s_h, s_w = c_in * xp.shape[2] * xp.shape[3], xp.shape[2] * xp.shape[3], xp.shape[3], 1")],
        {"test_im2col_basic"}),
    "conv_transpose2d: .view on a non-contiguous input": (
        [("cols = wt @ x.reshape(n, groups, c_group, h * w)",
          "cols = wt @ x.view(n, groups, c_group, h * w)")],
        {"test_transpose_basic"}),
    "conv_transpose2d: output hard-coded to float64": (
        [("full = x.new_zeros(n, groups * c_out_group, full_h, full_w)",
          "full = torch.zeros(n, groups * c_out_group, full_h, full_w, dtype=torch.float64)")],
        {"test_transpose_basic"}),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    replace, expected = MUTANTS[name]
    assert failing_parts(solution_namespace(replace)) == expected


def test_forbidden_shortcuts_fail_loudly():
    """Calling PyTorch's convolution, unfold or the course's reference costs the points."""
    from cnncourse import conv_matrix as reference

    def via_conv2d(x, weight, bias=None, **kwargs):
        return F.conv2d(x, weight, bias, **kwargs)

    def via_tensor_unfold(x, weight, bias=None, **kwargs):
        cols = x.unfold(2, weight.shape[2], 1).unfold(3, weight.shape[3], 1)
        out = torch.einsum("nchwuv,ocuv->nohw", cols, weight)
        return out if bias is None else out + bias.reshape(1, -1, 1, 1)

    def via_transpose(x, weight, bias=None, **kwargs):
        return torch.conv_transpose2d(x, weight, bias, **kwargs)

    def via_reference_matrix(input_hw, weight):
        return reference.conv_matrix(input_hw, weight)

    for check, fn in [(check_conv2d_im2col, via_conv2d), (check_conv2d_im2col, via_tensor_unfold),
                      (check_conv_transpose2d, via_transpose),
                      (check_conv_matrix, via_reference_matrix)]:
        with pytest.raises(CheckFailure, match="which this exercise forbids"):
            check(fn)
    # and nothing stays blocked afterwards
    x = torch.randn(1, 1, 4, 4)
    assert x.unfold(2, 2, 1).shape == (1, 1, 3, 4, 2)
    assert F.unfold(x, 2).shape == (1, 4, 9)
    assert F.conv2d(x, torch.ones(1, 1, 2, 2)).shape == (1, 1, 3, 3)


def test_hidden_cases_are_not_the_visible_ones():
    """Hidden families differ from the visible ones and from seed to seed."""
    from cnncourse.checks.matmul import (CONV2D_TOPICS, TRANSPOSE_TOPICS, conv2d_im2col_cases,
                                         conv_matrix_cases, conv_transpose2d_cases)

    def shapes(cases):
        return [tuple(tuple(v.shape) if isinstance(v, torch.Tensor) else v
                      for v in c.inputs.values()) + tuple(sorted(c.kwargs.items())) for c in cases]

    families = [lambda f, s: conv_matrix_cases(f, s)]
    families += [lambda f, s, t=t: conv2d_im2col_cases(t, f, s) for t in CONV2D_TOPICS if t != "errors"]
    families += [lambda f, s, t=t: conv_transpose2d_cases(t, f, s)
                 for t in TRANSPOSE_TOPICS if t != "errors"]
    for make in families:
        visible, hidden, other = make("visible", 0), make("hidden", 201), make("hidden", 202)
        assert shapes(hidden) != shapes(visible)
        assert any(a.inputs["weight"].shape != b.inputs["weight"].shape
                   or not torch.equal(a.inputs["weight"], b.inputs["weight"])
                   for a, b in zip(hidden, other))
