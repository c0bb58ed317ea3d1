"""Mutants of a5_architectures: plausible wrong networks and blocks.

Each mutant is the solution notebook's code with one string replaced in one solution cell
(the test asserts the replacement happened). Every graded test cell of the solution
notebook (visible *and* hidden checks, with exactly the notebook's seeds) runs on each
mutant, and the test asserts precisely which graded parts fail: the one that targets the
mistake, and no other (a mutant's last field is that part, or the set of parts its mistake
really breaks). SELayer and DepthwiseSeparableConv are graded part by part (the squeeze, the
excitation, the scaling; the depthwise and the pointwise convolution), each with mutants
only it catches.
"""

from __future__ import annotations


import pytest

import cnncourse.nbgrader_course as harness

A = "a5_architectures"
PARTS = {"test_lenet", "test_vgg", "test_inception", "test_basic_block", "test_bottleneck",
         "test_se_squeeze", "test_se_excitation", "test_se_scale", "test_depthwise", "test_pointwise"}


def solution_namespace(grade_id: str | None = None, old: str = "", new: str = "") -> dict:
    return harness.solution_namespace(A, [(old, new)] if grade_id else [], grade_id)


def failing_parts(ns: dict) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


def failing_parts_naming(ns: dict, grade_id: str) -> set[str]:
    """The failing graded parts among those whose test cell names a class or function that
    the solution cell ``grade_id`` defines. The other graded cells run none of that cell's
    code (a5's modules are independent of each other), so on a mutant of ``grade_id`` they
    run exactly what test_solution_passes_every_part shows passing; skipping them keeps each
    mutant to the few seconds of its own cells (VGG-11's alone takes seconds)."""
    import contextlib
    import io
    import re

    from cnncourse.checks.core import CheckFailure

    source = next(c.source for c in harness.source_notebook(A).cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    names = re.findall(r"^(?:class|def) (\w+)", source, re.M)
    assert names, f"{grade_id} defines nothing"
    cells = harness.graded_cells(A)
    assert set(cells) == PARTS, "the graded parts changed"
    failed = set()
    for part, test in cells.items():
        if any(re.search(rf"\b{n}\b", test) for n in names):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(test, dict(ns))  # noqa: S102
            except CheckFailure:
                failed.add(part)
    return failed


def test_solution_passes_every_part():
    assert failing_parts(solution_namespace()) == set()


MUTANTS = {
    "LeNet-5 with ReLU instead of tanh": (
        "lenet", "nn.Conv2d(1, 6, kernel_size=5), nn.Tanh()", "nn.Conv2d(1, 6, kernel_size=5), nn.ReLU()",
        "test_lenet"),
    "VGG convolutions without padding": (
        "vgg", "kernel_size=3, padding=1)", "kernel_size=3)", "test_vgg"),
    "Inception without ReLU after the 1x1 reductions": (
        "inception", "F.relu(self.conv3_3(F.relu(self.conv3_1(x))))", "F.relu(self.conv3_3(self.conv3_1(x)))",
        "test_inception"),
    "BasicBlock projects only when the stride changes": (
        "basic_block", "if stride != 1 or inplanes != planes:", "if stride != 1:", "test_basic_block"),
    "Bottleneck with the stride on the first 1x1 convolution (ResNet v1)": (
        "bottleneck", "self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)",
        "self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)\n"
        "        stride = 1", "test_bottleneck"),
    # SE, part by part
    "SE squeeze by max instead of mean": (
        "se", "x.mean(dim=(2, 3))", "x.amax(dim=(2, 3))", "test_se_squeeze"),
    "SE squeeze by sum instead of mean": (
        "se", "x.mean(dim=(2, 3))", "x.sum(dim=(2, 3))", "test_se_squeeze"),
    "SE squeeze on the detached input": (
        "se", "x.mean(dim=(2, 3))", "x.detach().mean(dim=(2, 3))", "test_se_squeeze"),
    "SE excitation without the sigmoid": (
        "se", "nn.Linear(hidden, channel, bias=False), nn.Sigmoid())",
        "nn.Linear(hidden, channel, bias=False))", "test_se_excitation"),
    "SE excitation with a softmax over the channels instead of the sigmoid": (
        "se", "nn.Sigmoid())", "nn.Softmax(dim=1))", "test_se_excitation"),
    "SE excitation with tanh instead of ReLU": (
        "se", "nn.ReLU(inplace=True)", "nn.Tanh()", "test_se_excitation"),
    # under no_grad the squeeze loses its gradient too: both parts say so
    "SE weights computed under torch.no_grad()": (
        "se", "        weights = self.fc(x.mean(dim=(2, 3)))",
        "        with torch.no_grad():\n            weights = self.fc(x.mean(dim=(2, 3)))",
        {"test_se_squeeze", "test_se_excitation"}),
    "SE weights detached before the scaling": (
        "se", "return x * weights[:, :, None, None]", "return x * weights.detach()[:, :, None, None]",
        "test_se_scale"),
    "SE scales its input in place (x.mul_)": (
        "se", "return x * weights[:, :, None, None]", "return x.mul_(weights[:, :, None, None])",
        "test_se_scale"),
    "SE scaling mixes images and channels (weights.t() reshaped)": (
        "se", "return x * weights[:, :, None, None]",
        "return x * weights.t().reshape(x.shape[0], x.shape[1], 1, 1)", "test_se_scale"),
    "SE scaling by 1 + the weights (a residual gate)": (
        "se", "return x * weights[:, :, None, None]", "return x * (1 + weights[:, :, None, None])",
        "test_se_scale"),
    # depthwise-separable, part by part
    "depthwise convolution without groups": (
        "depthwise", "padding=padding, groups=nin)", "padding=padding)", "test_depthwise"),
    "depthwise convolution with padding 1 whatever the argument": (
        "depthwise", "padding=padding, groups=nin)", "padding=1, groups=nin)", "test_depthwise"),
    "depthwise convolution with a 3x3 kernel whatever the argument": (
        "depthwise", "nn.Conv2d(nin, nin, kernel_size, padding=padding, groups=nin)",
        "nn.Conv2d(nin, nin, 3, padding=padding, groups=nin)", "test_depthwise"),
    "pointwise convolution with a 3x3 kernel": (
        "depthwise", "self.pointwise = nn.Conv2d(nin, nout, kernel_size=1)",
        "self.pointwise = nn.Conv2d(nin, nout, kernel_size=3, padding=1)", "test_pointwise"),
    "pointwise convolution after a ReLU of the depthwise output": (
        "depthwise", "return self.pointwise(self.depthwise(x))",
        "return self.pointwise(F.relu(self.depthwise(x)))", "test_pointwise"),
    "pointwise convolution on the depthwise output, detached": (
        "depthwise", "return self.pointwise(self.depthwise(x))",
        "return self.pointwise(self.depthwise(x).detach())", "test_pointwise"),
    "BasicBlock adds the residual into its input (x += ...)": (
        "basic_block", "        return F.relu(out + shortcut)",
        "        shortcut += out  # shortcut is x itself without downsample\n"
        "        return F.relu(shortcut)", "test_basic_block"),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    grade_id, old, new, part = MUTANTS[name]
    assert failing_parts_naming(solution_namespace(grade_id, old, new), grade_id) == \
        ({part} if isinstance(part, str) else part)


def test_every_part_has_a_mutant_only_it_catches():
    only = {part for *_, part in MUTANTS.values() if isinstance(part, str)}
    assert only == PARTS


def test_reference_blocks_are_refused():
    ns = solution_namespace()
    exec("import torchvision\n"  # noqa: S102
         "class BasicBlock(torchvision.models.resnet.BasicBlock):\n"
         "    pass\n"
         "def make_vgg_layers(cfg, batch_norm=False):\n"
         "    return torchvision.models.vgg.make_layers(cfg, batch_norm)\n", ns)
    assert failing_parts(ns) == {"test_basic_block", "test_vgg"}
