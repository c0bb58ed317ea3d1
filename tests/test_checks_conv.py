"""The a1 grading checks: they pass a correct implementation, and fail wrong ones with a
message that names the case, its arguments and shapes, and the largest error."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from cnncourse import lecture
from cnncourse.checks import CheckFailure
from cnncourse.checks.conv import (TOPICS, check_apply_kernel, check_conv2d,
                                   check_conv_output_size, conv2d_cases)
from cnncourse.nbgrader_course import solution_code

# The reference solution, taken from the nbgrader source notebook (written once, there).
_namespace: dict = {"torch": torch}
_code = solution_code("a1_conv_forward")
for _name in ("conv_output_size", "conv2d_naive", "apply_kernel"):
    exec(_code[_name], _namespace)
conv_output_size = _namespace["conv_output_size"]
conv2d_naive = _namespace["conv2d_naive"]
apply_kernel = _namespace["apply_kernel"]


def test_lecture_golden_examples_match_the_slides():
    out1 = F.conv2d(lecture.as_nchw(lecture.EXAMPLE1_INPUT), lecture.as_nchw(lecture.EXAMPLE1_KERNEL))
    out2 = F.conv2d(lecture.as_nchw(lecture.EXAMPLE2_INPUT), lecture.as_nchw(lecture.EXAMPLE2_KERNEL))
    # The slides' published results (L04): a golden check of the typed-in inputs.
    assert out1[0, 0].tolist() == [[1, 2], [5, 3]]
    assert out2[0, 0].tolist() == [[12, 12, 17], [10, 17, 19], [9, 6, 14]]


@pytest.mark.parametrize("family,seed", [("visible", 0), ("hidden", 1), ("hidden", 2)])
def test_reference_solution_passes_every_topic(family, seed):
    for topic in TOPICS:
        report = check_conv2d(conv2d_naive, topic, family, seed)
        assert report.passed == len(conv2d_cases(topic, family, seed))
    check_conv_output_size(conv_output_size, family, seed)
    check_apply_kernel(apply_kernel, family, seed)


@pytest.mark.parametrize("wrong_mode", ["reflect", "replicate", "circular"])
def test_apply_kernel_detects_a_wrong_padding_mode(wrong_mode):
    def always(image, kernel, padding_mode="zeros"):
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(padding_mode)
        return apply_kernel(image, kernel, wrong_mode)

    with pytest.raises(CheckFailure, match="values differ"):
        check_apply_kernel(always)


def test_apply_kernel_may_not_use_f_pad_reflect_replicate_circular():
    def with_pad(mode):
        def fn(image, kernel, padding_mode="zeros"):
            F.pad(image[None], (1, 1, 1, 1), mode=mode)
            return apply_kernel(image, kernel, padding_mode)
        return fn

    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(CheckFailure, match=f"torch.nn.functional.pad with mode='{mode}'"):
            check_apply_kernel(with_pad(mode))
    check_apply_kernel(with_pad("constant"))  # adding zeros is allowed
    assert F.pad.__name__ == "pad"  # restored afterwards


def test_hidden_cases_differ_from_visible_and_between_seeds():
    for topic in TOPICS:
        visible = {c.name for c in conv2d_cases(topic, "visible")}
        hidden = conv2d_cases(topic, "hidden", 1)
        assert not visible & {c.name for c in hidden}
    a = [tuple(c.inputs["x"].shape) + tuple(c.kwargs.items()) for c in conv2d_cases("dilation", "hidden", 1)]
    b = [tuple(c.inputs["x"].shape) + tuple(c.kwargs.items()) for c in conv2d_cases("dilation", "hidden", 2)]
    assert a != b


def test_failure_names_case_arguments_shapes_and_largest_error():
    def off_by_one_bias(x, w, b=None, **kw):
        out = conv2d_naive(x, w, b, **kw)
        out[0, 0, 0, 0] += 0.5
        return out

    with pytest.raises(CheckFailure) as info:
        check_conv2d(off_by_one_bias, "basic")
    msg = str(info.value)
    assert "case 'lecture worked example 1 (golden)'" in msg
    assert "x=<(1, 1, 3, 3) float64>" in msg and "weight=<(1, 1, 2, 2) float64>" in msg
    assert "largest error 0.5 at index (0, 0, 0, 0)" in msg
    assert "hint:" in msg


def test_calling_conv2d_is_refused_even_when_imported_by_name():
    from torch.nn.functional import conv2d as sneaky

    def cheat(x, w, b=None, **kw):
        return sneaky(x, w, b, **kw)

    def cheat_module(x, w, b=None, **kw):
        layer = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], bias=False).double()
        layer.weight.data = w
        return layer(x)

    for fn in (cheat, cheat_module):
        with pytest.raises(CheckFailure, match="forbids"):
            check_conv2d(fn, "basic")
    assert F.conv2d is torch.conv2d  # restored afterwards


def test_stub_and_wrong_types_fail():
    def stub(*a, **k):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_conv2d(stub, "errors")

    class Anything(torch.Tensor):
        def __eq__(self, other):
            return True

    def subclass(x, w, b=None, **kw):
        return conv2d_naive(x, w, b, **kw).as_subclass(Anything)

    with pytest.raises(CheckFailure, match="returned Anything, expected a torch.Tensor"):
        check_conv2d(subclass, "basic")

    with pytest.raises(CheckFailure, match="dtype torch.float32"):
        check_conv2d(lambda x, w, b=None, **kw: conv2d_naive(x, w, b, **kw).float(), "basic")

    check_conv_output_size(lambda *a, **k: float(conv_output_size(*a, **k)))  # 3.0 is 3
    with pytest.raises(CheckFailure, match="returned 4.0, expected 3"):
        check_conv_output_size(lambda *a, **k: float(conv_output_size(*a, **k) + 1))
    with pytest.raises(CheckFailure, match=r"returned '3' \(str\), not a Python number; return an int"):
        check_conv_output_size(lambda *a, **k: str(conv_output_size(*a, **k)))


def test_ignoring_dilation_fails_only_where_dilation_matters():
    def no_dilation(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        return conv2d_naive(x, w, b, stride, padding, 1, groups)

    for topic in ("basic", "stride_padding"):
        check_conv2d(no_dilation, topic)
        check_conv2d(no_dilation, topic, "hidden", 102)
    with pytest.raises(CheckFailure, match="dilation"):
        check_conv2d(no_dilation, "dilation")


def test_warnings_do_not_reach_stderr(capfd):
    def noisy(x, w, b=None, **kw):
        warnings.warn("a deprecation warning from somewhere", UserWarning)
        return conv2d_naive(x, w, b, **kw)

    check_conv2d(noisy, "basic")
    assert capfd.readouterr().err == ""
