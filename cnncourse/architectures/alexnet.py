"""AlexNet (Krizhevsky, Sutskever, Hinton, 2012) as in the lecture's parameter table (L20).

:class:`AlexNet` is the table's network: a 227×227×3 input, 96 filters in conv1 and, by
default, no filter groups (total 62,378,344 parameters). Its module layout and state_dict
keys are those of ``torchvision.models.AlexNet`` (``features.0.weight`` …
``classifier.6.bias``); torchvision's is the later one-GPU variant with 64 filters in conv1.
``groups=2`` splits conv2, conv4 and conv5 into two groups, as on the paper's two GPUs.

:class:`FourLayerCNN` is a small network for the paper's "ReLU trains faster than tanh"
experiment (Figure 1), scaled down to MNIST.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, groups: int = 1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),                 # 227 -> 55
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                      # 55 -> 27
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                      # 27 -> 13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                      # 13 -> 6
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))  # the identity on a 227×227 input
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class FourLayerCNN(nn.Module):
    """Two conv layers and two dense layers with one activation throughout, for 28×28
    single-channel inputs: the "four-layer CNN" of AlexNet's Figure 1, made small."""

    def __init__(self, activation: type[nn.Module] = nn.ReLU, num_classes: int = 10,
                 width: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, kernel_size=5, padding=2), activation(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, kernel_size=5, padding=2), activation(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(2 * width * 7 * 7, 64), activation(), nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))
