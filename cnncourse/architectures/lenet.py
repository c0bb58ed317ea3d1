"""LeNet-5 (LeCun et al., 1998) as the lecture's listing gives it (L19), and a modernised copy.

The slide's network: two 5×5 convolutions with tanh and 2×2 average pooling, a third 5×5
convolution that turns the 16@5×5 map into 120 numbers (so it is "conv or dense"), then
two dense layers. It expects 32×32 inputs (MNIST's 28×28 digits padded by 2). ``forward``
returns ``(logits, probs)`` as in the slide.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    """The slide's LeNet-5. ``activation`` and ``pool`` are module classes; the defaults
    (``nn.Tanh``, ``nn.AvgPool2d``) give the listing exactly."""

    def __init__(self, n_classes: int = 10, activation: type[nn.Module] = nn.Tanh,
                 pool: type[nn.Module] = nn.AvgPool2d):
        super().__init__()
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5, stride=1),
            activation(),
            pool(kernel_size=2),
            nn.Conv2d(in_channels=6, out_channels=16, kernel_size=5, stride=1),
            activation(),
            pool(kernel_size=2),
            nn.Conv2d(in_channels=16, out_channels=120, kernel_size=5, stride=1),
            activation(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(in_features=120, out_features=84),
            activation(),
            nn.Linear(in_features=84, out_features=n_classes),
        )

    def forward(self, x: torch.Tensor):
        x = self.feature_extractor(x)
        x = torch.flatten(x, 1)
        logits = self.classifier(x)
        probs = F.softmax(logits, dim=1)
        return logits, probs


def lenet5_modern(n_classes: int = 10) -> LeNet5:
    """The same layers with ReLU and max pooling (what AlexNet later made standard)."""
    return LeNet5(n_classes, activation=nn.ReLU, pool=nn.MaxPool2d)
