"""ResNet building blocks (He et al., 2015) following the lecture's listing (L26).

:class:`BasicBlock` (two 3×3 convolutions) and :class:`Bottleneck` (1×1, 3×3, 1×1 with
``expansion = 4``) have torchvision's constructor arguments and state_dict keys
(``conv1``, ``bn1``, …, ``downsample.0``, ``downsample.1``), so weights copy across.
:func:`downsample_shortcut` is the lecture's shortcut for a change of size: a 1×1
convolution with the stride, then batch norm. :func:`make_stage` stacks blocks like
torchvision's ``ResNet._make_layer``.

``residual=False`` removes the skip connection (прокидывание связей), which turns a block
into two or three plain layers: the "plain" networks of the paper's comparison.
:class:`SmallResNet` stacks such blocks into a tiny network for experiments on small
images (MNIST, scikit-learn's digits).
"""

from __future__ import annotations

import torch
import torch.nn as nn


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution with padding 1 and no bias (batch norm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def downsample_shortcut(inplanes: int, outplanes: int, stride: int = 1) -> nn.Sequential:
    """The projection shortcut: 1×1 conv with ``stride``, then batch norm."""
    return nn.Sequential(conv1x1(inplanes, outplanes, stride), nn.BatchNorm2d(outplanes))


class BasicBlock(nn.Module):
    """Two 3×3 conv + BN layers; ``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, residual: bool = True):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 (reduce to ``planes``), 3×3 (with the stride), 1×1 (expand to 4·``planes``)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, residual: bool = True):
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            if self.downsample is not None:
                identity = self.downsample(x)
            out = out + identity
        return self.relu(out)


def make_stage(block: type[nn.Module], inplanes: int, planes: int, blocks: int,
               stride: int = 1, residual: bool = True) -> nn.Sequential:
    """``blocks`` blocks; the first changes the size (and gets a projection shortcut when
    the stride or the width changes), as in torchvision's ``_make_layer``."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = downsample_shortcut(inplanes, planes * block.expansion, stride)
    layers = [block(inplanes, planes, stride, downsample, residual=residual)]
    for _ in range(1, blocks):
        layers.append(block(planes * block.expansion, planes, residual=residual))
    return nn.Sequential(*layers)


class SmallResNet(nn.Module):
    """A tiny network for small grayscale images: a 3×3 stem conv, ``blocks`` BasicBlocks
    of ``width`` channels at full resolution, global average pooling and a linear layer.
    Its depth is 2·blocks + 2 weight layers. ``residual=False`` gives the plain network.
    ``batch_norm=False`` replaces batch norm by the identity."""

    def __init__(self, blocks: int, residual: bool = True, width: int = 16,
                 num_classes: int = 10, in_channels: int = 1, batch_norm: bool = True):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width) if batch_norm else nn.Identity(),
                                  nn.ReLU(inplace=True))
        self.blocks = make_stage(BasicBlock, width, width, blocks, residual=residual)
        if not batch_norm:
            for m in self.blocks:
                m.bn1, m.bn2 = nn.Identity(), nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))
