"""Mutants of a3_backprop: plausible wrong hand-written forward and backward passes.

Each mutant is the solution notebook's code with one or more strings replaced (the test
asserts each replacement happened exactly once). Every graded test cell of the solution
notebook (its visible *and* hidden checks, with exactly the notebook's seeds) runs on each
mutant, and the test asserts precisely which graded parts fail: the part that targets the
mistake, and no other. The tie rule that the checks grade is verified against PyTorch.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

import cnncourse.nbgrader_course as harness
from cnncourse.checks.backprop import check_conv2d_function, check_max_pool
from cnncourse.checks.core import CheckFailure

A = "a3_backprop"
PARTS = {"test_max_forward", "test_max_backward", "test_max_ties", "test_avg_forward",
         "test_avg_backward", "test_conv_forward", "test_conv_grad_input",
         "test_conv_grad_weight", "test_conv_grad_bias"}


def solution_namespace(replace=()):
    return harness.solution_namespace(A, replace)


def failing_parts(ns) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


def test_solution_passes_every_part():
    assert failing_parts(solution_namespace()) == set()


MUTANTS = {
    "gradient copied to every tied maximum": (
        [("ctx.save_for_backward(index)\n",
          "ctx.save_for_backward(index, (cols == cols.gather(1, index)).to(cols.dtype))\n"),
         ("index, = ctx.saved_tensors", "index, mask = ctx.saved_tensors"),
         ('grad_cols.scatter_(1, index, grad_out.reshape(g["n"] * g["c"], 1, -1))',
          'grad_cols = mask * grad_out.reshape(g["n"] * g["c"], 1, -1)')],
        {"test_max_ties"}),
    "gradient to the last tied maximum": (
        [("index = cols.argmax(dim=1, keepdim=True)",
          "index = cols.shape[1] - 1 - cols.flip(1).argmax(dim=1, keepdim=True)")],
        {"test_max_ties"}),
    "max pooling: stride=None taken as 1": (
        [("kernel_size if stride is None else stride, padding, ceil_mode)",
          "1 if stride is None else stride, padding, ceil_mode)")],
        {"test_max_forward"}),
    "max pooling backward forgets the padding offset": (
        [("return windows_to_input(grad_cols, g), None, None, None, None\n",
          "return windows_to_input(grad_cols, dict(g, ph=0, pw=0)), None, None, None, None\n")],
        {"test_max_backward"}),
    "average pooling: stride=None taken as 1": (
        [("if stride is None:\n            stride = kernel_size",
          "if stride is None:\n            stride = 1")],
        {"test_avg_forward"}),
    "average pooling backward divides by the kernel area": (
        [('share = grad_out.reshape(g["n"] * g["c"], 1, -1) / ctx.divisor',
          'share = grad_out.reshape(g["n"] * g["c"], 1, -1) / (g["kh"] * g["kw"])')],
        {"test_avg_backward"}),
    "convolution raises ValueError, not RuntimeError, for mismatched channels": (
        [('raise RuntimeError(f"weight {tuple(weight.shape)} and groups',
          'raise ValueError(f"weight {tuple(weight.shape)} and groups')],
        {"test_conv_forward"}),
    "grad_input ignores dilation": (
        [("grad_x = F.fold(grad_cols.reshape(n, -1, grad_g.shape[-1]), (h, w), **geometry)",
          "grad_x = F.fold(grad_cols.reshape(n, -1, grad_g.shape[-1]), (h, w), "
          "**dict(geometry, dilation=1))")],
        {"test_conv_grad_input"}),
    "grad_weight with the wrong group-to-channel mapping": (
        [("patches = F.unfold(x, **geometry).reshape(n, groups, -1, grad_g.shape[-1])",
          "patches = F.unfold(x, **geometry).reshape(n, -1, groups, grad_g.shape[-1]).transpose(1, 2)")],
        {"test_conv_grad_weight"}),
    "grad_bias averaged over the batch": (
        [("grad_b = grad_out.sum(dim=(0, 2, 3))", "grad_b = grad_out.sum(dim=(2, 3)).mean(dim=0)")],
        {"test_conv_grad_bias"}),
    # dtype and layout (issue #13): only the float32, channels-last and transposed cases
    # catch these
    "max pooling backward: gradient buffer hard-coded to float64": (
        [('grad_cols = grad_out.new_zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"])',
          'grad_cols = torch.zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"], '
          'dtype=torch.float64)')],
        {"test_max_backward"}),
    "max pooling forward returns float64": (
        [('return cols.gather(1, index).reshape(g["n"], g["c"], g["oh"], g["ow"])',
          'return cols.gather(1, index).reshape(g["n"], g["c"], g["oh"], g["ow"]).double()')],
        {"test_max_forward"}),
    "average pooling: divisor in float64, so the output too": (
        [("return (end - start).to(x.dtype)", "return (end - start).to(torch.float64)")],
        {"test_avg_forward"}),
    "grad_input: .view on a non-contiguous grad_output": (
        [("grad_cols = w_g.transpose(1, 2) @ grad_g  #",
          "grad_cols = w_g.transpose(1, 2) @ grad_out.view(n, groups, c_out // groups, -1)  #")],
        {"test_conv_grad_input"}),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    replace, expected = MUTANTS[name]
    assert failing_parts(solution_namespace(replace)) == expected


def test_tie_rule_is_pytorchs():
    """PyTorch's max pooling picks the first maximum in row-major order of each window."""
    gen = torch.Generator().manual_seed(0)
    for kernel, stride in [(2, 1), (3, 1), ((2, 3), (1, 2)), (2, 2)]:
        x = torch.randint(0, 3, (2, 3, 7, 8), generator=gen).double()
        _, indices = F.max_pool2d(x, kernel, stride, return_indices=True)
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)  # (N, C, oh, ow, kh*kw)
        first = windows.argmax(-1)
        oh, ow = first.shape[-2:]
        rows = torch.arange(oh).reshape(-1, 1) * sh + first // kw
        cols = torch.arange(ow).reshape(1, -1) * sw + first % kw
        assert torch.equal(indices, rows * x.shape[-1] + cols)
        assert bool((windows == windows.max(-1, keepdim=True).values).sum(-1).gt(1).any())


def test_forbidden_shortcuts_fail_loudly():
    class ViaAutograd(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, kernel_size, stride, padding, ceil_mode):
            return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)

        @staticmethod
        def backward(ctx, grad):
            raise NotImplementedError

    class ViaGradModule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
            ctx.save_for_backward(x, weight)
            ctx.args = stride, padding, dilation, groups
            return torch.conv2d(x, weight, bias, stride, padding, dilation, groups)

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            gx = torch.nn.grad.conv2d_input(x.shape, weight, grad, *ctx.args)
            return gx, None, None, None, None, None, None

    with pytest.raises(CheckFailure, match="which this exercise forbids"):
        check_max_pool(ViaAutograd, "forward")
    with pytest.raises(CheckFailure, match="which this exercise forbids"):
        check_conv2d_function(ViaGradModule, "grad_input")
    assert F.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0  # restored afterwards


def test_hidden_cases_depend_on_the_seed():
    from cnncourse.checks.backprop import (CONV_PARTS, avg_pool_cases, conv2d_function_cases,
                                           max_pool_cases)

    makers = [lambda f, s, p=p: max_pool_cases(p, f, s) for p in ("forward", "backward", "ties")]
    makers += [lambda f, s, p=p: avg_pool_cases(p, f, s) for p in ("forward", "backward")]
    makers += [lambda f, s, p=p: conv2d_function_cases(p, f, s) for p in CONV_PARTS]
    for make in makers:
        visible, a, b = make("visible", 0), make("hidden", 301), make("hidden", 302)
        assert [c.name for c in a] != [c.name for c in visible]
        assert any(not torch.equal(x.tensors["x"], y.tensors["x"])
                   if x.tensors["x"].shape == y.tensors["x"].shape else True for x, y in zip(a, b))
