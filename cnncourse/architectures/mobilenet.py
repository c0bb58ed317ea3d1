"""Depthwise and depthwise-separable convolutions (MobileNet; lecture item L29).

:class:`DepthwiseSeparableConv` is the lecture's ``depthwise_separable_conv``: a depthwise
3×3 convolution (``groups=nin``: every input channel is convolved with its own kernel)
followed by a pointwise 1×1 convolution that mixes the channels. Both have biases, as in
the listing.

:func:`conv_cost` and :func:`separable_cost` count parameters (weights only) and
multiplications for a square S×S output, the way the slide does:

- regular: ``F·F·inC·outC`` weights, ``F·F·inC·S·S·outC`` multiplications;
- separable: ``F·F·inC + inC·outC`` weights, ``F·F·inC·S·S + S·S·inC·outC`` multiplications.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class DepthwiseSeparableConv(nn.Module):
    """Depthwise (``Conv2d(nin, nin, kernel_size, padding, groups=nin)``) then pointwise
    (``Conv2d(nin, nout, 1)``). With the defaults (kernel 3, padding 1) it keeps H and W.

    Attributes ``depthwise`` and ``pointwise`` are the two convolutions.
    """

    def __init__(self, nin: int, nout: int, kernel_size: int = 3, padding: int = 1,
                 bias: bool = True):
        super().__init__()
        self.depthwise = nn.Conv2d(nin, nin, kernel_size=kernel_size, padding=padding,
                                   groups=nin, bias=bias)
        self.pointwise = nn.Conv2d(nin, nout, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def conv_cost(size: int, kernel: int, in_channels: int, out_channels: int) -> tuple[int, int]:
    """(weights, multiplications) of a regular F×F convolution with an S×S output."""
    weights = kernel * kernel * in_channels * out_channels
    return weights, weights * size * size


def separable_cost(size: int, kernel: int, in_channels: int, out_channels: int) -> tuple[int, int]:
    """(weights, multiplications) of depthwise F×F + pointwise 1×1 with an S×S output."""
    depthwise = kernel * kernel * in_channels
    pointwise = in_channels * out_channels
    return depthwise + pointwise, (depthwise + pointwise) * size * size
