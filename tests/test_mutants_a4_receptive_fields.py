"""Mutants of a4_receptive_fields: plausible wrong receptive fields, counts and FLOPs.

Each mutant is the solution notebook's code with one string replaced in one solution cell
(the test asserts the replacement happened). Every graded test cell of the solution
notebook (visible *and* hidden checks, with exactly the notebook's seeds) runs on each
mutant, and the test asserts precisely which graded parts fail: the one that targets the
mistake, and no other.
"""

from __future__ import annotations


import pytest

import cnncourse.nbgrader_course as harness

A = "a4_receptive_fields"
PARTS = {"test_rf_conv", "test_rf_dilation", "test_rf_pooling", "test_count_params",
         "test_conv2d_flops"}


def solution_namespace(grade_id: str | None = None, old: str = "", new: str = "") -> dict:
    return harness.solution_namespace(A, [(old, new)] if grade_id else [], grade_id)


def failing_parts(ns: dict) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


def test_solution_passes_every_part():
    assert failing_parts(solution_namespace()) == set()


MUTANTS = {
    "receptive field ignoring dilation": (
        "receptive_field", 'd = as_pair(getattr(layer, "dilation", 1))', "d = (1, 1)", "test_rf_dilation"),
    "padding left out of the map size (a window that fits only thanks to padding refused)": (
        "receptive_field", "n[a] = (n[a] + 2 * p[a] - span) // s[a] + 1",
        "n[a] = (n[a] - span) // s[a] + 1", "test_rf_conv"),
    "pooling treated as an element-wise layer": (
        "receptive_field", "isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))",
        "isinstance(layer, nn.Conv2d)", "test_rf_pooling"),
    "parameters counted from the state_dict (buffers and shared layers twice)": (
        "count_params", "for p in model.parameters()", "for p in model.state_dict().values()",
        "test_count_params"),
    "frozen parameters left out": (
        "count_params", "for p in model.parameters())", "for p in model.parameters() if p.requires_grad)",
        "test_count_params"),
    "FLOPs as multiply-adds (MACs)": (
        "conv2d_flops", "return 2 * out_channels", "return out_channels", "test_conv2d_flops"),
    "FLOPs ignoring groups": (
        "conv2d_flops", "(in_channels // groups)", "in_channels", "test_conv2d_flops"),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    grade_id, old, new, part = MUTANTS[name]
    assert failing_parts(solution_namespace(grade_id, old, new)) == {part}


def test_calling_the_references_is_refused():
    ns = solution_namespace()
    exec("from cnncourse.receptive_field import receptive_field as _rf\n"  # noqa: S102
         "def receptive_field(model, input_hw):\n"
         "    return [{'size': r.size, 'jump': r.jump, 'start': r.start} for r in _rf(model, input_hw)]\n"
         "from torch.utils.flop_counter import FlopCounterMode\n"
         "def conv2d_flops(in_channels, out_channels, kernel_size, output_hw, groups=1):\n"
         "    conv = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups)\n"
         "    k = conv.kernel_size\n"
         "    h, w = (output_hw, output_hw) if isinstance(output_hw, int) else output_hw\n"
         "    with FlopCounterMode(display=False) as c:\n"
         "        conv(torch.zeros(1, in_channels, h + k[0] - 1, w + k[1] - 1))\n"
         "    return c.get_total_flops()\n", ns)
    assert failing_parts(ns) == {"test_rf_conv", "test_rf_dilation", "test_rf_pooling",
                                 "test_conv2d_flops"}
