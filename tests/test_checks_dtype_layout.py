"""Dtype, device and memory layout never vary in the checks (issue #13): float32 inputs,
channels-last and transposed (non-contiguous) inputs reach the student's function in that
layout, the result must keep the input's dtype, and the feedback names the case, its
layout and the error. Cheap: reference solutions and a few wrong functions on single checks."""

from __future__ import annotations

import pytest
import torch

from cnncourse.checks import CheckFailure
from cnncourse.checks import backprop, conv, core, matmul
from cnncourse.checks.conv import check_conv2d
from cnncourse.checks.core import Case, channels_last, layout_name, non_contiguous, variant
from cnncourse.checks.matmul import check_conv_transpose2d
from cnncourse.nbgrader_course import solution_namespace


def test_layouts_survive_the_clone_that_run_cases_makes():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    for layout, name in ((non_contiguous, "non-contiguous"), (channels_last, "channels_last")):
        y = layout(x)
        assert torch.equal(y, x) and layout_name(y) == name and layout_name(y.clone()) == name
    with pytest.raises(RuntimeError):
        non_contiguous(x).view(2, 3, 20)
    case = variant(Case("c", {"x": x, "w": x[0], "b": x[0, 0, 0]}), "v", torch.float32, channels_last, ("x",))
    assert [t.dtype for t in case.inputs.values()] == [torch.float32] * 3
    assert layout_name(case.inputs["x"]) == "channels_last" and layout_name(case.inputs["w"]) == ""


def test_conv2d_naive_receives_every_layout_and_must_keep_float32():
    conv2d_naive = solution_namespace("a1_conv_forward")["conv2d_naive"]
    seen = set()

    def spy(x, weight, bias=None, **kwargs):
        seen.add((x.dtype, layout_name(x), layout_name(weight)))
        return conv2d_naive(x, weight, bias, **kwargs)

    check_conv2d(spy, "basic")
    check_conv2d(spy, "basic", "hidden", 7)
    assert {(torch.float32, "channels_last", ""), (torch.float64, "non-contiguous", "non-contiguous"),
            (torch.float64, "", "")} <= seen

    def as_float64(x, weight, bias=None, **kwargs):
        return conv2d_naive(x.double(), weight.double(), None if bias is None else bias.double(), **kwargs)

    with pytest.raises(CheckFailure) as info:
        check_conv2d(as_float64, "basic")
    message = str(info.value)
    assert "1 of 8 visible cases failed" in message
    assert "case 'float32 inputs (channels-last x) keep float32'" in message
    assert "x=<(2, 3, 5, 4) float32 channels_last>" in message
    assert "dtype torch.float64, expected torch.float32 (keep the input's dtype)" in message


def test_view_on_a_transposed_input_is_named_with_its_layout():
    conv_transpose2d = solution_namespace("a2_conv_as_matmul")["conv_transpose2d"]

    def with_view(x, weight, bias=None, **kwargs):
        x.view(-1)  # fails on a non-contiguous x
        return conv_transpose2d(x, weight, bias, **kwargs)

    with pytest.raises(CheckFailure, match=r"case 'non-contiguous x and weight \(transposed layout\)'.*"
                                           r"x=<\(1, 2, 3, 4\) float64 non-contiguous>.*\n    raised RuntimeError: view size"):
        check_conv_transpose2d(with_view, "basic")


def test_a3_gpu_case_path_with_a_stand_in_device(monkeypatch):
    """Where CUDA is available the hidden family adds a float64 case per part on it; here
    the CPU stands in for it, so that the path (devices of grad_output, no gradcheck) runs."""
    monkeypatch.setattr(core, "gpu_device", lambda: "cpu")
    cls = solution_namespace("a3_backprop")["Conv2dFunction"]
    cases = backprop.conv2d_function_cases("grad_input", "hidden", 3)
    assert cases[-1].name.endswith("float64 on cpu") and not cases[-1].gradcheck
    assert backprop.check_conv2d_function(cls, "grad_input", "hidden", 3).passed == len(cases)


@pytest.mark.parametrize("assignment, name, check, kwargs, seed", [
    ("a1_conv_forward", "conv2d_naive", conv.check_conv2d, {"topic": "basic"}, 101),
    ("a1_conv_forward", "apply_kernel", conv.check_apply_kernel, {}, 106),
    ("a2_conv_as_matmul", "conv_matrix", matmul.check_conv_matrix, {}, 201),
    ("a2_conv_as_matmul", "conv2d_im2col", matmul.check_conv2d_im2col, {"topic": "basic"}, 202),
    ("a2_conv_as_matmul", "conv_transpose2d", matmul.check_conv_transpose2d, {"topic": "basic"}, 207),
])
def test_a1_a2_gpu_cases_with_a_stand_in_device(monkeypatch, assignment, name, check, kwargs, seed):
    """Where CUDA is available the hidden families of a1 and a2 add a case on it (the output
    must stay on the input's device); here the CPU stands in for it, so that the path runs and
    the reference solution passes it. Without a stand-in there is no such case."""
    fn = solution_namespace(assignment)[name]
    without = check(fn, family="hidden", seed=seed, **kwargs).passed
    monkeypatch.setattr(core, "gpu_device", lambda: "cpu")
    report = check(fn, family="hidden", seed=seed, **kwargs)
    assert report.passed == without + 1, (report.passed, without)


def test_a_passing_check_prints_the_same_line_with_or_without_a_gpu():
    """A case on another device than the CPU runs (and fails the check like any other) but
    is not counted in the passing line, which the solutions' cells print and nbval compares:
    `make execute` on CUDA, then `make test` on a CPU, sees the same count."""
    case = Case("c", {"x": torch.ones(2, 2), "weight": torch.ones(1, 1, 1, 1), "bias": None})
    on_meta = variant(case, "c, on meta", device="meta")
    assert on_meta.inputs["x"].device.type == "meta"
    assert core.counted([case, on_meta, case]) == 2
    fn_cases = backprop.conv2d_function_cases("grad_input", "hidden", 3)
    meta = [backprop.fn_variant(fn_cases[0], "on meta", device="meta")]
    assert core.counted(fn_cases + meta) == len(fn_cases)


def test_a3_float32_gradient_buffer_error_is_reported():
    ns = solution_namespace("a3_backprop", [(
        'grad_cols = grad_out.new_zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"])',
        'grad_cols = torch.zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"], dtype=torch.float64)')])
    with pytest.raises(CheckFailure, match=r"1 of 6 visible cases failed.\ncase 'kernel 3, stride 2, padding 1, "
                                           r"float32, transposed \(non-contiguous\) inputs'.*x=<\(2, 2, 6, 5\) "
                                           r"float32 non-contiguous>.*grad_output non-contiguous\n    raised"):
        backprop.check_max_pool(ns["MaxPool2dFunction"], "backward")
