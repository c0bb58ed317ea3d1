"""Mutants of a6_norm_dropout: plausible wrong BatchNorm2d / Dropout2d implementations.

Each mutant is the solution notebook's code with one string replaced (the test asserts the
replacement happened). Every graded test cell of the solution notebook (its visible *and*
hidden checks, with exactly the notebook's seeds) runs on each mutant, and the test asserts
precisely which graded parts fail: the part that targets the mistake, and no other.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn as nn

import cnncourse.nbgrader_course as harness
from cnncourse.checks.norm_dropout import GOLDEN_X, golden_batchnorm

A = "a6_norm_dropout"
PARTS = {"test_batchnorm_train", "test_batchnorm_running_stats", "test_batchnorm_eval",
         "test_batchnorm_gradients", "test_dropout2d_masks", "test_dropout2d_statistics"}


def solution_namespace(replace=()):
    return harness.solution_namespace(A, replace)


def failing_parts(ns) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


def test_solution_passes_every_part():
    assert failing_parts(solution_namespace()) == set()


def test_golden_example_is_what_pytorch_computes():
    out, mean, var = golden_batchnorm()
    ref = nn.BatchNorm2d(1).double()
    torch.testing.assert_close(ref(GOLDEN_X), out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref.running_mean, mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ref.running_var, var, rtol=1e-12, atol=1e-12)
    assert abs(var.item() - (0.9 + 0.1 * 5 / 3)) < 1e-12


MUTANTS = {
    "biased running variance": (
        [("self.momentum * unbiased", "self.momentum * var")],
        {"test_batchnorm_running_stats"}),
    "momentum applied the wrong way round": (
        [("self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)",
          "self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)"),
         ("self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)",
          "self.running_var.mul_(self.momentum).add_((1 - self.momentum) * unbiased)")],
        {"test_batchnorm_running_stats"}),
    "normalising with the unbiased variance": (
        [("var = x.var(dim=dims, correction=0)", "var = x.var(dim=dims, correction=1)")],
        {"test_batchnorm_train"}),
    "batch statistics in eval mode": (
        [("        if self.training:\n            n = x.numel()",
          "        if True:\n            n = x.numel()")],
        {"test_batchnorm_eval"}),
    "statistics detached from the graph": (
        [("mean = x.mean(dim=dims)\n", "mean = x.mean(dim=dims).detach()\n"),
         ("var = x.var(dim=dims, correction=0)", "var = x.var(dim=dims, correction=0).detach()")],
        {"test_batchnorm_gradients"}),
    "dropout without scaling": (
        [("return x * keep / (1 - self.p)", "return x * keep")],
        {"test_dropout2d_statistics"}),
    "element-wise instead of channel masks": (
        [("torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device)",
          "torch.rand(x.shape, device=x.device)")],
        {"test_dropout2d_masks"}),
    "dropout output detached from the graph": (
        [("return x * keep / (1 - self.p)", "return x.detach() * keep / (1 - self.p)")],
        {"test_dropout2d_masks"}),
    "dropout active in eval mode": (
        [("if not self.training or self.p == 0:", "if self.p == 0:")],
        {"test_dropout2d_masks"}),
    # stateful modules called more than once (issue #13)
    "Dropout2d mask cached and reused on every call": (
        [("        keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= self.p",
          '        keep = getattr(self, "_keep", None)\n'
          "        if keep is None or keep.shape[:2] != x.shape[:2]:\n"
          "            keep = self._keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= self.p")],
        {"test_dropout2d_masks"}),
    "Dropout2d re-seeds the generator in forward": (
        [("        keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= self.p",
          "        torch.manual_seed(0)\n"
          "        keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= self.p")],
        {"test_dropout2d_masks"}),
    "running statistics updated with autograd on (no torch.no_grad())": (
        [("            with torch.no_grad():\n                unbiased", "            if True:\n                unbiased")],
        {"test_batchnorm_running_stats"}),
    "running statistics assigned from undetached batch statistics": (
        [("            with torch.no_grad():\n                unbiased", "            if True:\n                unbiased"),
         ("self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)",
          "self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean"),
         ("self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)",
          "self.running_var = (1 - self.momentum) * self.running_var + self.momentum * unbiased")],
        {"test_batchnorm_running_stats"}),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    replace, expected = MUTANTS[name]
    assert failing_parts(solution_namespace(replace)) == expected


CHEATS = """
class BatchNorm2d(nn.BatchNorm2d):
    pass


class Dropout2d(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return nn.functional.dropout2d(x, self.p, self.training)
"""


def test_wrapping_the_pytorch_layers_is_forbidden():
    ns = solution_namespace()
    exec(CHEATS, ns)  # noqa: S102
    # the subclass's forward calls F.batch_norm; the dropout calls F.dropout2d
    assert failing_parts(ns) == PARTS
