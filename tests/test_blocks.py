"""cnncourse.architectures.senet and .mobilenet: the lecture's SELayer (L27) and
depthwise-separable convolution (L29), checked against hand computations."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cnncourse.architectures.mobilenet import DepthwiseSeparableConv, conv_cost, separable_cost
from cnncourse.architectures.senet import SELayer, add_se_to_resnet, se_parameter_count
from cnncourse.model_stats import count_flops, count_params


def _rand(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- SELayer -------------------------------------------------------------------------------

def test_se_layer_equals_squeeze_excite_scale_by_hand():
    torch.manual_seed(1)
    se = SELayer(32, reduction=8).double()
    x = _rand(3, 32, 5, 7, seed=2)
    w1, w2 = se.fc[0].weight, se.fc[2].weight  # (4, 32), (32, 4)
    z = x.mean(dim=(2, 3))                      # squeeze: (3, 32)
    s = torch.sigmoid(torch.relu(z @ w1.T) @ w2.T)  # excitation: (3, 32)
    expected = x * s[:, :, None, None]          # scale
    out = se(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(se.channel_weights(x), s)


def test_se_layer_with_zero_weights_halves_the_input():
    se = SELayer(16, reduction=4)
    nn.init.zeros_(se.fc[2].weight)  # sigmoid(0) = 1/2 for every channel
    x = _rand(2, 16, 3, 3, seed=3).float()
    torch.testing.assert_close(se(x), x / 2)


def test_se_layer_rescales_channels_only():
    """The weights depend on the channel means alone: a spatial permutation of the input
    permutes the output the same way."""
    torch.manual_seed(4)
    se = SELayer(16, reduction=4).double()
    x = _rand(1, 16, 4, 4, seed=5)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(6))
    shuffled = x.flatten(2)[:, :, perm].reshape_as(x)
    torch.testing.assert_close(se(shuffled), se(x).flatten(2)[:, :, perm].reshape_as(x))


@pytest.mark.parametrize("channel, reduction, expected", [(64, 16, 512), (256, 16, 8192),
                                                           (2048, 16, 524288), (10, 3, 60)])
def test_se_parameter_count(channel, reduction, expected):
    assert se_parameter_count(channel, reduction) == expected
    assert count_params(SELayer(channel, reduction)) == expected


def test_se_layer_rejects_too_large_reduction():
    with pytest.raises(ValueError):
        SELayer(8, reduction=16)


# --- depthwise-separable convolution ---------------------------------------------------------

def test_separable_conv_equals_per_channel_conv_then_channel_mix():
    torch.manual_seed(7)
    block = DepthwiseSeparableConv(3, 16).double()
    x = _rand(2, 3, 9, 11, seed=8)
    dw = block.depthwise
    per_channel = torch.cat([F.conv2d(x[:, c:c + 1], dw.weight[c:c + 1], dw.bias[c:c + 1], padding=1)
                             for c in range(3)], dim=1)
    pw = block.pointwise.weight[:, :, 0, 0]  # (16, 3)
    expected = torch.einsum("oc,nchw->nohw", pw, per_channel) + block.pointwise.bias[None, :, None, None]
    out = block(x)
    assert out.shape == (2, 16, 9, 11)
    torch.testing.assert_close(out, expected)


def test_depthwise_channels_do_not_mix():
    torch.manual_seed(9)
    block = DepthwiseSeparableConv(4, 6)
    x = _rand(1, 4, 6, 6, seed=10).float()
    y = x.clone()
    y[:, 2] += 5.0
    diff = (block.depthwise(y) - block.depthwise(x)).abs().amax(dim=(0, 2, 3))
    assert diff[2] > 0 and torch.all(diff[[0, 1, 3]] == 0)


def test_lecture_costs():
    """L29: S=128, F=3, inC=3, outC=16."""
    assert conv_cost(128, 3, 3, 16) == (432, 7_077_888)
    assert separable_cost(128, 3, 3, 16) == (75, 1_228_800)


def test_costs_match_the_modules_and_the_flop_counter():
    regular = nn.Conv2d(3, 16, 3, padding=1, bias=False)
    separable = DepthwiseSeparableConv(3, 16, bias=False)
    weights, mults = conv_cost(128, 3, 3, 16)
    sweights, smults = separable_cost(128, 3, 3, 16)
    assert count_params(regular) == weights
    assert count_params(separable) == sweights
    x = torch.zeros(1, 3, 128, 128)
    assert count_flops(regular, x) == 2 * mults        # a multiply-add = 2 FLOPs
    assert count_flops(separable, x) == 2 * smults
    assert count_params(DepthwiseSeparableConv(3, 16)) == sweights + 3 + 16  # with biases


# --- SE-ResNet -------------------------------------------------------------------------------

def _resnet_se_expected(stages, expansion, reduction=16):
    """Sum of 2·C·(C // r) over the blocks: stages = [(planes, blocks), ...]."""
    return sum(n * se_parameter_count(planes * expansion, reduction) for planes, n in stages)


@pytest.mark.parametrize("name, stages, expansion", [
    ("resnet18", [(64, 2), (128, 2), (256, 2), (512, 2)], 1),
    ("resnet50", [(64, 3), (128, 4), (256, 6), (512, 3)], 4),
])
def test_add_se_to_resnet_parameter_overhead(name, stages, expansion):
    import torchvision

    plain = torchvision.models.get_model(name, weights=None)
    before = count_params(plain)
    se = add_se_to_resnet(plain)
    n_se = sum(isinstance(m, SELayer) for m in se.modules())
    assert n_se == sum(n for _, n in stages)
    assert count_params(se) - before == _resnet_se_expected(stages, expansion)
    if name == "resnet50":
        assert count_params(se) - before == 2_514_944


def test_se_resnet_with_zero_excitation_halves_the_residual_branch():
    """With the SE layers' last weights at zero every channel weight is 1/2, which is the
    same as halving the last batch norm's gamma and beta in the plain network."""
    import torchvision

    torch.manual_seed(11)
    plain = torchvision.models.resnet18(weights=None, num_classes=5).eval()
    se = torchvision.models.resnet18(weights=None, num_classes=5)
    se.load_state_dict(plain.state_dict())
    se = add_se_to_resnet(se, reduction=16).eval()
    with torch.no_grad():
        for m in se.modules():
            if isinstance(m, SELayer):
                m.fc[2].weight.zero_()
        for block in [b for layer in (plain.layer1, plain.layer2, plain.layer3, plain.layer4) for b in layer]:
            block.bn2.weight.mul_(0.5)
            block.bn2.bias.mul_(0.5)
        x = _rand(2, 3, 32, 32, seed=12).float()
        torch.testing.assert_close(se(x), plain(x), rtol=1e-4, atol=1e-5)
