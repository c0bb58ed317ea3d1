"""A small, deterministic training loop shared by every chapter that trains a network.

``channels_last=True`` keeps image batches (N, C, H, W) and the model's 4-D weights in the
channels-last layout (``torch.channels_last``, NHWC in memory; shapes and values are the
same). PyTorch's CPU pooling and oneDNN's convolutions are vectorised over channels in that
layout: in batches of 64, one training pass of the CNN chapter's network or of LeNet-5 took
about 1.5 times less time than in the default layout on one core of an AVX-512 machine,
and about the same (1.0-1.1 times less) under the portable kernels, whose pooling is not
vectorised (``tools/benchmark_training_layout.py`` measures it on yours). It is not the default because a model that flattens with ``x.view(...)``, as
the lecture's listings do, then fails ("view size is not compatible with input tensor's
size and stride"): ``.reshape``/``nn.Flatten`` work in either layout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from cnncourse.runtime import get_device


@dataclass
class History:
    """Per-epoch training loss and test accuracy, and the wall-clock time spent."""

    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1] if self.test_accuracy else float("nan")


def subset(dataset: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """The first ``n`` items of a seeded permutation of ``dataset`` (all when n is None)."""
    if n is None or n >= len(dataset):
        return dataset
    gen = torch.Generator().manual_seed(seed)
    return Subset(dataset, torch.randperm(len(dataset), generator=gen)[:n].tolist())


def loader(dataset: Dataset, batch_size: int = 128, shuffle: bool = False, seed: int = 0) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen)


def to_device(x: torch.Tensor, device, channels_last: bool = False) -> torch.Tensor:
    """``x`` on ``device``; a batch of images (4-D) in the channels-last layout."""
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, data: DataLoader, device=None, logits_of=None,
                      channels_last: bool = False) -> float:
    """Fraction of correctly classified items. ``logits_of(output)`` picks the logits when
    the model returns more than a tensor (e.g. LeNet-5's ``(logits, probs)``)."""
    device = device or get_device()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.eval()
    correct = total = 0
    for x, y in data:
        out = model(to_device(x, device, channels_last))
        logits = logits_of(out) if logits_of else out
        correct += (logits.argmax(1).cpu() == y).sum().item()
        total += y.numel()
    return correct / total


def train_classifier(model: nn.Module, train: DataLoader, test: DataLoader | None = None,
                     epochs: int = 1, lr: float = 1e-3, optimizer: str = "adam",
                     momentum: float = 0.9, weight_decay: float = 0.0, device=None,
                     logits_of=None, loss_fn=None, log_every: int = 0,
                     channels_last: bool = False) -> History:
    """Train with cross-entropy (Adam or SGD) and return a :class:`History`.

    Seed before calling (``seed_everything``) for reproducible runs. ``channels_last=True``
    trains in the channels-last layout (see the module's docstring).
    """
    device = device or get_device()
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', not {optimizer!r}")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history = History()
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for step, (x, y) in enumerate(train):
            x, y = to_device(x, device, channels_last), y.to(device)
            out = model(x)
            loss = loss_fn(logits_of(out) if logits_of else out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * y.numel()
            count += y.numel()
            if log_every and step % log_every == 0:
                print(f"epoch {epoch + 1} step {step:4d} loss {loss.item():.4f}")
        history.train_loss.append(total / count)
        if test is not None:
            history.test_accuracy.append(evaluate_accuracy(model, test, device, logits_of,
                                                           channels_last))
    history.seconds = time.perf_counter() - start
    return history
