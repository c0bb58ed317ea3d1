"""Plausible wrong answers to a1 lose points exactly in the graded part that targets them.

Each mutant is the reference solution (from the nbgrader source notebook) with one
plausible mistake, made by a string replacement that the test asserts took effect. Every
graded part's check runs on it with the visible and the hidden cases, exactly as the
notebook's test cells call them.
"""

from __future__ import annotations

import pytest
import torch

from cnncourse.checks import CheckFailure
from cnncourse.checks.conv import check_apply_kernel, check_conv2d, check_conv_output_size
from cnncourse.nbgrader_course import solution_code

# (part, check, function name, hidden seed) -- as in the notebook's test cells.
PARTS = {
    "test_conv_output_size": (check_conv_output_size, "conv_output_size", {}, 11),
    "test_conv2d_basic": (check_conv2d, "conv2d_naive", {"topic": "basic"}, 101),
    "test_conv2d_stride_padding": (check_conv2d, "conv2d_naive", {"topic": "stride_padding"}, 102),
    "test_conv2d_dilation": (check_conv2d, "conv2d_naive", {"topic": "dilation"}, 103),
    "test_conv2d_groups": (check_conv2d, "conv2d_naive", {"topic": "groups"}, 104),
    "test_conv2d_errors": (check_conv2d, "conv2d_naive", {"topic": "errors"}, 105),
    "test_apply_kernel": (check_apply_kernel, "apply_kernel", {}, 106),
}

# name -> (grade_id, old, new, parts that must fail)
MUTANTS = {
    "output size rounds up": (
        "conv_output_size", "// stride + 1", "// stride + (1 if (n + 2 * padding - dilation * (k - 1) - 1) % stride == 0 else 2)",
        {"test_conv_output_size"}),
    "no error when the kernel does not fit": (
        "conv_output_size", "    if out < 1:\n", "    if out < -10**9:\n",
        {"test_conv_output_size"}),
    "padding counted once, not on both sides": (
        "conv2d_naive", "padded[:, :, ph:ph + h, pw:pw + w] = x\n",
        "padded[:, :, ph:ph + h, pw:pw + w] = x\n    oh, ow = (h + ph - span_h) // sh + 1, (w + pw - span_w) // sw + 1\n",
        {"test_conv2d_stride_padding"}),
    "stride ignored when moving the window": (
        "conv2d_naive", "window = channels[:, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]",
        "window = channels[:, i:i + span_h:dh, j:j + span_w:dw]",
        {"test_conv2d_stride_padding"}),
    "dilation ignored inside the window": (
        "conv2d_naive", "window = channels[:, i * sh:i * sh + span_h:dh, j * sw:j * sw + span_w:dw]",
        "window = channels[:, i * sh:i * sh + kh, j * sw:j * sw + kw]",
        {"test_conv2d_dilation"}),
    "wrong group-to-channel mapping": (
        "conv2d_naive", "g = o // per_group", "g = o % groups",
        {"test_conv2d_groups"}),
    "impossible arguments not refused": (
        "conv2d_naive", "raise RuntimeError(f\"expected input with", "print(f\"expected input with",
        {"test_conv2d_errors"}),
    "reflect repeats the edge pixel": (
        "apply_kernel", "i = i.abs()", "i = torch.where(i < 0, -i - 1, i)",
        {"test_apply_kernel"}),
    "true convolution (kernel flipped)": (
        "apply_kernel", "kernel[None, None].to(image.dtype)", "kernel.flip(0, 1)[None, None].to(image.dtype)",
        {"test_apply_kernel"}),
}


def build(replace: dict[str, tuple[str, str]] | None = None) -> dict:
    namespace = {"torch": torch}
    code = solution_code("a1_conv_forward")
    for grade_id in ("conv_output_size", "conv2d_naive", "apply_kernel"):
        source = code[grade_id]
        if replace and grade_id in replace:
            old, new = replace[grade_id]
            assert old in source, f"mutation target not found in {grade_id}: {old!r}"
            source = source.replace(old, new)
        exec(source, namespace)
    return namespace


def failing_parts(namespace: dict) -> set[str]:
    failed = set()
    for part, (check, fn_name, kwargs, seed) in PARTS.items():
        fn = namespace[fn_name]
        try:
            check(fn, **kwargs)
            check(fn, **kwargs, family="hidden", seed=seed)
        except CheckFailure:
            failed.add(part)
    return failed


def test_reference_solution_passes_every_part():
    assert failing_parts(build()) == set()


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    grade_id, old, new, expected = MUTANTS[name]
    assert failing_parts(build({grade_id: (old, new)})) == expected
