"""The chapters' architecture drawings are made from the modules themselves
(cnncourse.architecture_drawing): every layer of the model is in the drawing, once, and
branches and merges are where the forward pass puts them."""

from __future__ import annotations

import matplotlib
import pytest
import torch
import torch.nn as nn

from cnncourse.architecture_drawing import architecture_graph, draw_architecture
from cnncourse.architectures.alexnet import AlexNet
from cnncourse.architectures.inception import INCEPTION_V1_PAPER, InceptionBlock
from cnncourse.architectures.lenet import LeNet5
from cnncourse.architectures.resnet import BasicBlock, Bottleneck, downsample_shortcut
from cnncourse.architectures.senet import SELayer
from cnncourse.architectures.vgg import vgg

matplotlib.use("agg")

MODELS = {
    "LeNet-5": (lambda: LeNet5(10), (1, 1, 32, 32)),
    "AlexNet": (AlexNet, (1, 3, 227, 227)),
    "VGG-11": (lambda: vgg(11, init_weights=False), (1, 3, 64, 64)),
    "Inception 3a": (lambda: InceptionBlock(192, INCEPTION_V1_PAPER["3a"]), (1, 192, 28, 28)),
    "BasicBlock": (lambda: BasicBlock(64, 64), (1, 64, 8, 8)),
    "BasicBlock, downsampling": (lambda: BasicBlock(64, 128, stride=2,
                                                    downsample=downsample_shortcut(64, 128, 2)),
                                 (1, 64, 8, 8)),
    "Bottleneck": (lambda: Bottleneck(256, 64), (1, 256, 8, 8)),
    "SE": (lambda: SELayer(64), (1, 64, 8, 8)),
}


def graph(name):
    make, shape = MODELS[name]
    return architecture_graph(make(), torch.zeros(shape))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_weight_layer_is_drawn_once(name):
    make, shape = MODELS[name]
    model = make()
    nodes = architecture_graph(model, torch.zeros(shape))
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    drawn = [n for n in nodes if n.kind in ("conv", "linear")]
    assert len(drawn) == len(layers)
    convs = sorted(f"conv {m.kernel_size[0]}×{m.kernel_size[1]}, {m.out_channels}"
                   for m in layers if isinstance(m, nn.Conv2d))
    assert sorted(" ".join(n.label.split(" · ")[0].split()[:3]) for n in drawn
                  if n.kind == "conv") == convs


def test_lenet_is_the_slides_chain_with_shapes():
    nodes = graph("LeNet-5")
    assert [n.label for n in nodes] == [
        "input", "conv 5×5, 6 · Tanh", "avg pool 2×2 /2", "conv 5×5, 16 · Tanh",
        "avg pool 2×2 /2", "conv 5×5, 120 · Tanh", "dense 120→84 · Tanh", "dense 84→10 · softmax"]
    assert [n.shape for n in nodes[:6]] == [(1, 32, 32), (6, 28, 28), (6, 14, 14), (16, 10, 10),
                                           (16, 5, 5), (120,)]
    assert all(n.inputs == [nodes[i].name] for i, n in enumerate(nodes[1:]))


def test_merges_take_what_the_forward_pass_merges():
    inception = graph("Inception 3a")
    concat = inception[-1]
    assert concat.label == "concat" and len(concat.inputs) == 4 and concat.shape == (256, 28, 28)
    basic = graph("BasicBlock")
    add = next(n for n in basic if n.label == "+")
    assert add.inputs == [basic[2].name, basic[0].name]  # the second conv and the identity
    down = graph("BasicBlock, downsampling")
    add = next(n for n in down if n.label == "+")
    assert [n.label for n in down if n.name in add.inputs] == ["conv 3×3, 128 · BN",
                                                                "conv 1×1, 128 /2 · BN"]
    se = graph("SE")
    assert [n.label for n in se] == ["input", "global avg pool", "dense 64→4 · ReLU",
                                     "dense 4→64 · Sigmoid", "×"]
    assert se[-1].inputs == [se[0].name, se[3].name]  # the input, scaled by the excitation


def test_the_drawing_has_a_box_per_node():
    make, shape = MODELS["Inception 3a"]
    fig = draw_architecture(make(), torch.zeros(shape), title="3a")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "conv 5×5, 32\nReLU" in texts and "32@28×28" in texts and "concat, 256@28×28" in texts
