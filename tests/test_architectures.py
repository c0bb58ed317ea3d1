"""The reference architectures of Part II, checked against torchvision and the lecture."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm

from cnncourse.architectures import alexnet, inception, lenet, resnet, vgg
from cnncourse.model_stats import count_params


def _copy(dst: nn.Module, src: nn.Module) -> None:
    dst.load_state_dict(src.state_dict(), strict=True)


# --- LeNet-5 -------------------------------------------------------------------------------

def test_lenet5_layers_and_outputs():
    torch.manual_seed(0)
    model = lenet.LeNet5(10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 6, (5, 5)), (6, 16, (5, 5)), (16, 120, (5, 5))]
    # params by layer: (in*k*k + 1) * out
    assert count_params(model) == (25 + 1) * 6 + (150 + 1) * 16 + (400 + 1) * 120 + 121 * 84 + 85 * 10
    logits, probs = model(torch.randn(3, 1, 32, 32))
    assert logits.shape == (3, 10)
    torch.testing.assert_close(probs, torch.softmax(logits, 1))
    assert any(isinstance(m, nn.Tanh) for m in model.modules())
    assert any(isinstance(m, nn.AvgPool2d) for m in model.modules())
    modern = lenet.lenet5_modern(10)
    assert any(isinstance(m, nn.ReLU) for m in modern.modules())
    assert any(isinstance(m, nn.MaxPool2d) for m in modern.modules())
    assert not any(isinstance(m, (nn.Tanh, nn.AvgPool2d)) for m in modern.modules())


# --- AlexNet -------------------------------------------------------------------------------

def test_alexnet_matches_the_slide_table():
    model = alexnet.AlexNet()
    weights = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert [count_params(m) for m in weights] == [34_944, 614_656, 885_120, 1_327_488, 884_992,
                                                  37_752_832, 16_781_312, 4_097_000]
    assert count_params(model) == 62_378_344
    sizes = []
    x = torch.zeros(1, 3, 227, 227)
    for m in model.features:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]


def test_alexnet_keys_like_torchvision_and_groups():
    with torch.device("meta"):
        ours, theirs, grouped = alexnet.AlexNet(), tvm.alexnet(), alexnet.AlexNet(groups=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert count_params(theirs) == 61_100_840
    # groups=2 halves the weights (not the biases) of conv2, conv4 and conv5
    halved = (614_400 + 1_327_104 + 884_736) // 2
    assert count_params(grouped) == 62_378_344 - halved


def test_four_layer_cnn_runs_with_both_activations():
    for act in (nn.ReLU, nn.Tanh):
        out = alexnet.FourLayerCNN(act)(torch.randn(2, 1, 28, 28))
        assert out.shape == (2, 10)


# --- VGG -----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth,bn", [(11, False), (13, False), (16, False), (19, False),
                                      (11, True), (16, True)])
def test_vgg_param_counts_equal_torchvision(depth, bn):
    name = f"vgg{depth}" + ("_bn" if bn else "")
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        ours = vgg.vgg(depth, batch_norm=bn, init_weights=False)
        theirs = tvm.get_model(name)
    assert count_params(ours) == count_params(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_vgg16_has_138_million_parameters():
    with torch.device("meta"):
        assert count_params(vgg.vgg(16, init_weights=False)) == 138_357_544


def test_vgg11_features_equal_torchvision_with_copied_weights():
    torch.manual_seed(0)
    ours, theirs = vgg.vgg11(), tvm.vgg11()
    _copy(ours, theirs)
    ours.eval(), theirs.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.features(x), theirs.features(x))
        torch.testing.assert_close(ours(x), theirs(x))


def test_vgg_initialisation_follows_the_slide():
    torch.manual_seed(0)
    model = vgg.vgg11()
    conv = model.features[0]
    expected = (2.0 / (3 * 3 * 64)) ** 0.5
    assert abs(conv.weight.std().item() - expected) / expected < 0.1
    assert torch.count_nonzero(conv.bias) == 0
    fc = model.classifier[0]
    assert abs(fc.weight.std().item() - 0.01) < 1e-3


# --- Inception -----------------------------------------------------------------------------

def test_inception_block_shapes_and_params():
    cfg = inception.INCEPTION_V1_PAPER["3a"]
    block = inception.InceptionBlock(192, cfg)
    y = block(torch.randn(1, 192, 28, 28))
    assert y.shape == (1, 256, 28, 28)
    expected = (192 * 64 + 64) + (192 * 96 + 96) + (96 * 9 * 128 + 128) + (192 * 16 + 16) \
        + (16 * 25 * 32 + 32) + (192 * 32 + 32)
    assert count_params(block) == expected
    slide_style = inception.Inception_base(1, 192, cfg)
    slide_style.load_state_dict(block.state_dict())
    x = torch.randn(1, 192, 8, 8)
    torch.testing.assert_close(slide_style(x), block(x))


def test_inception_block_equals_torchvision_branches_with_copied_weights():
    """Our block computes torchvision's Inception with BN made the identity and conv biases:
    check it branch by branch on 3b (torchvision uses 3×3 in its '5×5' branch, so only the
    1×1, 3×3 and pool branches are compared)."""
    torch.manual_seed(0)
    tv = tvm.googlenet(weights=None, init_weights=False, aux_logits=False).inception3b.eval()
    ours = inception.InceptionBlock(256, inception.INCEPTION_V1_PAPER["3b"]).eval()
    pairs = [(ours.conv1, tv.branch1.conv), (ours.conv3_1, tv.branch2[0].conv),
             (ours.conv3_3, tv.branch2[1].conv), (ours.conv_max_1, tv.branch4[1].conv)]
    for mine, theirs in pairs:
        assert mine.weight.shape == theirs.weight.shape
        mine.weight.data.copy_(theirs.weight.data)
        mine.bias.data.zero_()
    for m in tv.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 0.0  # identity in eval mode (running mean 0, var 1)
    x = torch.randn(1, 256, 7, 7)
    with torch.no_grad():
        y, t = ours(x), tv(x)
    c1, c3 = 128, 192
    torch.testing.assert_close(y[:, :c1 + c3], t[:, :c1 + c3])
    torch.testing.assert_close(y[:, -64:], t[:, -64:])


def test_inception_v1_configs():
    assert inception.INCEPTION_V1_SLIDES["4a"][1][1] == 204
    assert inception.INCEPTION_V1_PAPER["4a"][1][1] == 208
    slides = inception.InceptionV1(config="slides")
    paper = inception.InceptionV1(config="paper")
    assert slides.inception_4a.out_channels == 508
    assert paper.inception_4a.out_channels == 512
    assert paper.inception_5b.out_channels == 1024
    assert count_params(paper) != count_params(slides)
    with torch.no_grad():
        assert paper.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_auxiliary_loss_weighs_0_3():
    torch.manual_seed(0)
    model = inception.InceptionV1(num_classes=5, config="paper", aux_logits=True).train()
    target = torch.tensor([1, 3])
    logits, aux1, aux2 = model(torch.randn(2, 3, 224, 224))
    ce = nn.functional.cross_entropy
    expected = ce(logits, target) + 0.3 * (ce(aux1, target) + ce(aux2, target))
    torch.testing.assert_close(inception.googlenet_loss((logits, aux1, aux2), target), expected)
    assert model.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 5)


# --- ResNet --------------------------------------------------------------------------------

def _check_block_equal(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> None:
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy(ours, theirs)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        with torch.no_grad():
            torch.testing.assert_close(ours(x), theirs(x))


def test_basic_blocks_equal_resnet18():
    torch.manual_seed(0)
    tv = tvm.resnet18()
    for mod in tv.modules():  # non-trivial BN statistics and affine parameters
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)
    plain = resnet.BasicBlock(64, 64)
    _check_block_equal(plain, tv.layer1[0], torch.randn(2, 64, 8, 8))
    down = resnet.BasicBlock(64, 128, stride=2, downsample=resnet.downsample_shortcut(64, 128, 2))
    _check_block_equal(down, tv.layer2[0], torch.randn(2, 64, 8, 8))
    stage = resnet.make_stage(resnet.BasicBlock, 128, 256, 2, stride=2)
    _check_block_equal(stage, tv.layer3, torch.randn(2, 128, 8, 8))


def test_bottlenecks_equal_resnet50():
    torch.manual_seed(0)
    tv = tvm.resnet50()
    first = resnet.Bottleneck(64, 64, downsample=resnet.downsample_shortcut(64, 256))
    _check_block_equal(first, tv.layer1[0], torch.randn(2, 64, 8, 8))
    down = resnet.make_stage(resnet.Bottleneck, 256, 128, 4, stride=2)
    _check_block_equal(down, tv.layer2, torch.randn(2, 256, 8, 8))
    assert count_params(resnet.make_stage(resnet.Bottleneck, 1024, 512, 3, stride=2)) \
        == count_params(tvm.resnet50().layer4)


def test_residual_flag_removes_only_the_skip():
    torch.manual_seed(0)
    block = resnet.BasicBlock(8, 8).eval()
    plain = resnet.BasicBlock(8, 8, residual=False).eval()
    plain.load_state_dict(block.state_dict())
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        f = plain.bn2(plain.conv2(plain.relu(plain.bn1(plain.conv1(x)))))
        torch.testing.assert_close(block(x), torch.relu(f + x))
        torch.testing.assert_close(plain(x), torch.relu(f))


def test_small_resnet_depth_and_shapes():
    net = resnet.SmallResNet(blocks=3, width=8)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 * 3
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    no_bn = resnet.SmallResNet(blocks=2, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
