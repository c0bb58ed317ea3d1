"""GoogLeNet / Inception v1 (Szegedy et al., 2014) following the lecture's listings (L23).

:class:`InceptionBlock` is the slide's ``Inception_base``: four parallel branches (1×1;
1×1 then 3×3; 1×1 then 5×5; 3×3 max pooling then 1×1), each followed by ReLU, and their
outputs concatenated along the channels. A block's ``config`` is written as on the slide:
``[[c1], [r3, c3], [r5, c5], [pool_kernel, cp]]``. :class:`NaiveInceptionBlock` is the
paper's Figure 2(a): the same branches with no 1×1 reductions.

:class:`InceptionV1` is the slide's ``Inception_v1`` (biases, local response
normalisation, no batch norm). ``config="slides"`` takes the block widths from the slide
(``INCEPTION_V1_SLIDES``), ``config="paper"`` from the paper's Table 1
(``INCEPTION_V1_PAPER``); they differ in 4a's 3×3 branch (204 vs 208 filters) and in 5a's
5×5 reduction (48 vs 32). Each block's input width is the previous block's output, so the
slide's 4a gives 508 channels to 4b. ``aux_logits=True`` adds the two auxiliary
classifiers (after 4a and 4d); :func:`googlenet_loss` weighs them by 0.3.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The slide's block widths, ``[[1×1], [3×3 reduce, 3×3], [5×5 reduce, 5×5], [pool, proj]]``.
INCEPTION_V1_SLIDES: dict[str, list] = {
    "3a": [[64], [96, 128], [16, 32], [3, 32]],
    "3b": [[128], [128, 192], [32, 96], [3, 64]],
    "4a": [[192], [96, 204], [16, 48], [3, 64]],
    "4b": [[160], [112, 224], [24, 64], [3, 64]],
    "4c": [[128], [128, 256], [24, 64], [3, 64]],
    "4d": [[112], [144, 288], [32, 64], [3, 64]],
    "4e": [[256], [160, 320], [32, 128], [3, 128]],
    "5a": [[256], [160, 320], [48, 128], [3, 128]],
    "5b": [[384], [192, 384], [48, 128], [3, 128]],
}

#: The paper's Table 1 (Szegedy et al., "Going deeper with convolutions", arXiv:1409.4842).
INCEPTION_V1_PAPER: dict[str, list] = {
    **INCEPTION_V1_SLIDES,
    "4a": [[192], [96, 208], [16, 48], [3, 64]],
    "5a": [[256], [160, 320], [32, 128], [3, 128]],
}

CONFIGS = {"slides": INCEPTION_V1_SLIDES, "paper": INCEPTION_V1_PAPER}


def block_out_channels(config: list) -> int:
    """Channels an Inception block with this ``config`` outputs."""
    return config[0][0] + config[1][1] + config[2][1] + config[3][1]


class InceptionBlock(nn.Module):
    """The slide's ``Inception_base`` with the arguments ``(in_channels, config)``."""

    def __init__(self, in_channels: int, config: list, depth_dim: int = 1):
        super().__init__()
        self.depth_dim = depth_dim
        self.conv1 = nn.Conv2d(in_channels, config[0][0], kernel_size=1)
        self.conv3_1 = nn.Conv2d(in_channels, config[1][0], kernel_size=1)
        self.conv3_3 = nn.Conv2d(config[1][0], config[1][1], kernel_size=3, padding=1)
        self.conv5_1 = nn.Conv2d(in_channels, config[2][0], kernel_size=1)
        self.conv5_5 = nn.Conv2d(config[2][0], config[2][1], kernel_size=5, padding=2)
        k = config[3][0]
        self.max_pool_1 = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)
        self.conv_max_1 = nn.Conv2d(in_channels, config[3][1], kernel_size=1)
        self.out_channels = block_out_channels(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = F.relu(self.conv1(x))
        out2 = F.relu(self.conv3_3(F.relu(self.conv3_1(x))))
        out3 = F.relu(self.conv5_5(F.relu(self.conv5_1(x))))
        out4 = F.relu(self.conv_max_1(self.max_pool_1(x)))
        return torch.cat([out1, out2, out3, out4], dim=self.depth_dim)


class Inception_base(InceptionBlock):  # noqa: N801 -- the slide's name and argument order
    def __init__(self, depth_dim: int, input_size: int, config: list):
        super().__init__(input_size, config, depth_dim)


class NaiveInceptionBlock(nn.Module):
    """Figure 2(a): 1×1, 3×3 and 5×5 convolutions and 3×3 max pooling, side by side on the
    input; the pooled branch keeps all ``in_channels``."""

    def __init__(self, in_channels: int, c1: int, c3: int, c5: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.conv3 = nn.Conv2d(in_channels, c3, kernel_size=3, padding=1)
        self.conv5 = nn.Conv2d(in_channels, c5, kernel_size=5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.out_channels = c1 + c3 + c5 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.conv1(x)), F.relu(self.conv3(x)),
                          F.relu(self.conv5(x)), self.pool(x)], dim=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier: 5×5/3 average pooling (to 4×4), a 1×1 conv to 128 channels,
    dense 2048→1024, dropout 0.7, dense to the classes."""

    def __init__(self, in_channels: int, num_classes: int = 1000):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = nn.Conv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.dropout = nn.Dropout(p=0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(self.pool(x)))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(self.dropout(x))


class InceptionV1(nn.Module):
    """The slide's ``Inception_v1``. In training mode with ``aux_logits=True``, ``forward``
    returns ``(logits, aux1, aux2)``; otherwise the logits."""

    def __init__(self, num_classes: int = 1000, config: str | dict = "slides",
                 aux_logits: bool = False, dropout: float = 0.4):
        super().__init__()
        widths = CONFIGS[config] if isinstance(config, str) else config
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.max_pool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.lrn1 = nn.LocalResponseNorm(11, alpha=0.0011, beta=0.5, k=2)
        self.conv2 = nn.Conv2d(64, 64, kernel_size=1)
        self.conv3 = nn.Conv2d(64, 192, kernel_size=3, padding=1)
        self.lrn3 = nn.LocalResponseNorm(11, alpha=0.0011, beta=0.5, k=2)
        self.max_pool3 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = 192
        for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
            block = InceptionBlock(channels, widths[name])
            setattr(self, f"inception_{name}", block)
            channels = block.out_channels
        self.max_pool_inc3 = nn.MaxPool2d(kernel_size=3, stride=2, padding=0)
        self.max_pool_inc4 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.avg_pool5 = nn.AdaptiveAvgPool2d((1, 1))  # global average pooling
        self.dropout_layer = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        self.aux_logits = aux_logits
        if aux_logits:
            self.aux1 = InceptionAux(self.inception_4a.out_channels, num_classes)
            self.aux2 = InceptionAux(self.inception_4d.out_channels, num_classes)

    def forward(self, x: torch.Tensor):
        x = self.lrn1(self.max_pool1(F.relu(self.conv1(x))))
        x = F.relu(self.conv3(F.relu(self.conv2(x))))
        x = self.max_pool3(self.lrn3(x))
        x = self.max_pool_inc3(self.inception_3b(self.inception_3a(x)))
        x = self.inception_4a(x)
        aux1 = self.aux1(x) if self.aux_logits and self.training else None
        x = self.inception_4d(self.inception_4c(self.inception_4b(x)))
        aux2 = self.aux2(x) if self.aux_logits and self.training else None
        x = self.max_pool_inc4(self.inception_4e(x))
        x = self.inception_5b(self.inception_5a(x))
        x = torch.flatten(self.avg_pool5(x), 1)
        logits = self.fc(self.dropout_layer(x))
        if aux1 is not None:
            return logits, aux1, aux2
        return logits


def googlenet_loss(outputs, target: torch.Tensor, aux_weight: float = 0.3) -> torch.Tensor:
    """Cross-entropy of the main output plus ``aux_weight`` times that of each auxiliary
    output (``outputs`` is ``(logits, aux1, aux2)`` or just the logits)."""
    if isinstance(outputs, torch.Tensor):
        return F.cross_entropy(outputs, target)
    logits, *aux = outputs
    return F.cross_entropy(logits, target) + aux_weight * sum(F.cross_entropy(a, target) for a in aux)
