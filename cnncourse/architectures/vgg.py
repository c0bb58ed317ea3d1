"""VGG (Simonyan and Zisserman, 2014) following the lecture's listings (L22).

``cfg``, :func:`make_layers`, :class:`VGG` and its ``_initialize_weights`` are the slide's
code; the module layout and state_dict keys are torchvision's (``features.N``,
``classifier.N``), so weights copy across both ways. Configurations 'A', 'B', 'D', 'E' are
VGG-11, -13, -16 and -19.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

cfg: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}

#: Number of weight layers -> configuration letter.
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


def make_layers(cfg: list, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """3×3 convolutions (padding 1) with ReLU, and 2×2 max pooling for each 'M'."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """The slide's VGG. ``avgpool`` (absent from the slide) is torchvision's adaptive
    pooling to 7×7: the identity on a 224×224 input, and it lets smaller inputs through."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            self._initialize_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)

    def _initialize_weights(self) -> None:
        """Conv: N(0, sqrt(2/n)), n = k·k·C_out; BN: 1 and 0; linear: N(0, 0.01)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.weight.data.normal_(0, 0.01)
                m.bias.data.zero_()


def vgg(depth: int = 11, batch_norm: bool = False, **kwargs) -> VGG:
    """VGG-``depth`` (11, 13, 16 or 19), optionally with batch norm."""
    return VGG(make_layers(cfg[DEPTHS[depth]], batch_norm), **kwargs)


def vgg11(**kwargs) -> VGG:
    """VGG 11-layer model (configuration "A"), random weights."""
    return VGG(make_layers(cfg["A"]), **kwargs)
