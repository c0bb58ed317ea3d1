"""Plausible wrong answers to a1 lose points exactly in the graded part that targets them.

Each mutant is the reference solution (from the nbgrader source notebook) with one
plausible mistake, made by a string replacement that must apply exactly once. Every
graded test cell of the notebook (visible and hidden checks, the notebook's own seeds)
runs on it.
"""

from __future__ import annotations

import pytest

from cnncourse.nbgrader_course import failing_parts, graded_cells, solution_namespace

A = "a1_conv_forward"

# name -> ([(old, new)], graded parts that must fail)
MUTANTS = {
    "output size rounds up": (
        [("    out = (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1",
          "    out = -(-(n + 2 * padding - dilation * (k - 1) - 1) // stride) + 1")],
        {"test_conv_output_size"}),
    "no error when the kernel does not fit": (
        [("    if out < 1:\n", "    if out < -10**9:\n")],
        {"test_conv_output_size"}),
    "padding counted once, not on both sides": (
        [("padded[:, :, ph:ph + h, pw:pw + w] = x\n",
          "padded[:, :, ph:ph + h, pw:pw + w] = x\n"
          "    oh, ow = (h + ph - span_h) // sh + 1, (w + pw - span_w) // sw + 1\n")],
        {"test_conv2d_stride_padding"}),
    "stride ignored when moving the window": (
        [("window = channels[:, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]",
          "window = channels[:, i:i + span_h:dh, j:j + span_w:dw]")],
        {"test_conv2d_stride_padding"}),
    "dilation ignored inside the window": (
        [("window = channels[:, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]",
          "window = channels[:, i * sh:i * sh + kh, j * sw:j * sw + kw]")],
        {"test_conv2d_dilation"}),
    "wrong group-to-channel mapping": (
        [("g = o // per_group", "g = o % groups")],
        {"test_conv2d_groups"}),
    "impossible arguments not refused": (
        [('raise RuntimeError(f"expected input with', 'print(f"expected input with')],
        {"test_conv2d_errors"}),
    "reflect repeats the edge pixel": (
        [("i = i.abs()", "i = torch.where(i < 0, -i - 1, i)")],
        {"test_apply_kernel"}),
    "true convolution (kernel flipped)": (
        [("kernel[None, None].to(image.dtype)", "kernel.flip(0, 1)[None, None].to(image.dtype)")],
        {"test_apply_kernel"}),
    # dtype and layout (issue #13): only the float32 and non-contiguous cases catch these
    "output hard-coded to float64": (
        [("out = x.new_zeros(n_batch, c_out, oh, ow)",
          "out = torch.zeros(n_batch, c_out, oh, ow, dtype=torch.float64)")],
        {"test_conv2d_basic", "test_apply_kernel"}),  # apply_kernel calls conv2d_naive
    ".view on a non-contiguous weight": (
        [("out[n, o, i, j] = (window * weight[o]).sum()",
          "out[n, o, i, j] = window.reshape(-1) @ weight[o].view(-1)")],
        {"test_conv2d_basic"}),
    "apply_kernel filters in float64 whatever the image's dtype": (
        [("conv2d_naive(padded[:, None], kernel[None, None].to(image.dtype))",
          "conv2d_naive(padded[:, None].double(), kernel[None, None].double())")],
        {"test_apply_kernel"}),
}


def test_reference_solution_passes_every_part():
    assert len(graded_cells(A)) == 7
    assert failing_parts(A, solution_namespace(A)) == set()


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    replace, expected = MUTANTS[name]
    assert failing_parts(A, solution_namespace(A, replace)) == expected
