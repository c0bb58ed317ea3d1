"""Mutants of a5_architectures: plausible wrong networks and blocks.

Each mutant is the solution notebook's code with one string replaced in one solution cell
(the test asserts the replacement happened). Every graded test cell of the solution
notebook (visible *and* hidden checks, with exactly the notebook's seeds) runs on each
mutant, and the test asserts precisely which graded parts fail: the one that targets the
mistake, and no other.
"""

from __future__ import annotations


import pytest

import cnncourse.nbgrader_course as harness

A = "a5_architectures"
PARTS = {"test_lenet", "test_vgg", "test_inception", "test_basic_block", "test_bottleneck",
         "test_se", "test_depthwise"}


def solution_namespace(grade_id: str | None = None, old: str = "", new: str = "") -> dict:
    return harness.solution_namespace(A, [(old, new)] if grade_id else [], grade_id)


def failing_parts(ns: dict) -> set[str]:
    return harness.failing_parts(A, ns, PARTS)


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
    "SE squeeze by max instead of mean": (
        "se", "x.mean(dim=(2, 3))", "x.amax(dim=(2, 3))", "test_se"),
    "depthwise convolution without groups": (
        "depthwise", "padding=padding, groups=nin)", "padding=padding)", "test_depthwise"),
    # backward and in-place (issue #13): the outputs are right, only the gradients or the
    # input after forward give these away
    "SE weights computed under torch.no_grad()": (
        "se", "        weights = self.fc(x.mean(dim=(2, 3)))",
        "        with torch.no_grad():\n            weights = self.fc(x.mean(dim=(2, 3)))", "test_se"),
    "SE scales its input in place (x.mul_)": (
        "se", "return x * weights[:, :, None, None]", "return x.mul_(weights[:, :, None, None])", "test_se"),
    "BasicBlock adds the residual into its input (x += ...)": (
        "basic_block", "        return F.relu(out + shortcut)",
        "        shortcut += out  # shortcut is x itself without downsample\n"
        "        return F.relu(shortcut)", "test_basic_block"),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_loses_exactly_its_part(name):
    grade_id, old, new, part = MUTANTS[name]
    assert failing_parts(solution_namespace(grade_id, old, new)) == {part}


def test_reference_blocks_are_refused():
    ns = solution_namespace()
    exec("import torchvision\n"  # noqa: S102
         "class BasicBlock(torchvision.models.resnet.BasicBlock):\n"
         "    pass\n"
         "def make_vgg_layers(cfg, batch_norm=False):\n"
         "    return torchvision.models.vgg.make_layers(cfg, batch_norm)\n", ns)
    assert failing_parts(ns) == {"test_basic_block", "test_vgg"}
