"""The squeeze-and-excitation block of SENet (Hu, Shen, Sun, 2017; lecture item L27).

:class:`SELayer` is the lecture's listing: it keeps the tensor's shape and rescales each
channel by a learned weight in (0, 1):

- **squeeze**: global average pooling turns the (N, C, H, W) tensor into C numbers per image;
- **excitation**: ``Linear(C, C // r) → ReLU → Linear(C // r, C) → Sigmoid`` (no biases,
  reduction ``r = 16`` by default) turns them into C channel weights;
- **scale**: every channel is multiplied by its weight.

:func:`se_parameter_count` is the block's number of parameters, ``2·C·(C // r)``;
:func:`add_se_to_resnet` puts one after every residual block of a torchvision ResNet.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class SELayer(nn.Module):
    """Squeeze-and-excitation of ``channel`` channels with the given ``reduction``.

    ``forward(x)`` takes (N, channel, H, W) and returns a tensor of the same shape:
    ``x * s`` with ``s = sigmoid(W2 · relu(W1 · mean_hw(x)))`` of shape (N, channel, 1, 1).
    :meth:`channel_weights` returns ``s`` as (N, channel), for inspection.
    """

    def __init__(self, channel: int, reduction: int = 16):
        super().__init__()
        if channel // reduction < 1:
            raise ValueError(f"channel // reduction must be at least 1, got {channel} // {reduction}")
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False),
                                nn.ReLU(inplace=True),
                                nn.Linear(channel // reduction, channel, bias=False),
                                nn.Sigmoid())

    def channel_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The excitation: one weight in (0, 1) per image and channel, shape (N, C)."""
        b, c, _, _ = x.size()
        return self.fc(self.avg_pool(x).view(b, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.size()
        y = self.channel_weights(x).view(b, c, 1, 1)
        return x * y.expand_as(x)


def se_parameter_count(channel: int, reduction: int = 16) -> int:
    """Parameters of ``SELayer(channel, reduction)``: two bias-free linear layers."""
    return 2 * channel * (channel // reduction)


def add_se_to_resnet(model: nn.Module, reduction: int = 16) -> nn.Module:
    """Turn a torchvision ResNet into an SE-ResNet, in place, and return it.

    As in the SENet paper, every residual block gets an :class:`SELayer` on its residual
    branch, after the last batch norm and before the addition of the shortcut: ``bn3`` of a
    ``Bottleneck`` (ResNet-50/101/152) or ``bn2`` of a ``BasicBlock`` (ResNet-18/34) becomes
    ``Sequential(bn, SELayer(channels, reduction))``.
    """
    from torchvision.models.resnet import BasicBlock, Bottleneck

    for block in model.modules():
        if isinstance(block, Bottleneck):
            block.bn3 = nn.Sequential(block.bn3, SELayer(block.bn3.num_features, reduction))
        elif isinstance(block, BasicBlock):
            block.bn2 = nn.Sequential(block.bn2, SELayer(block.bn2.num_features, reduction))
    return model
