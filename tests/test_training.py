"""The shared training loop (cnncourse.training): the channels-last option changes the memory
layout only -- the same losses and predictions as the default layout, up to round-off -- and
the default layout keeps working for models that flatten with ``.view``."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cnncourse.training import evaluate_accuracy, loader, to_device, train_classifier


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 5 * 5, 3))


class ViewFlatten(nn.Module):
    """The lecture's style: flatten with .view, which needs a contiguous (N, C, H, W) tensor."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 11)  # 12×12 -> 2×2
        self.fc = nn.Linear(3 * 2 * 2, 3)

    def forward(self, x):
        return self.fc(self.conv(x).view(-1, 3 * 2 * 2))


def data(n=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 12, 12, generator=gen, dtype=torch.float64)
    return torch.utils.data.TensorDataset(x, torch.randint(0, 3, (n,), generator=gen))


def test_to_device_puts_image_batches_in_channels_last_and_leaves_the_rest():
    x = torch.randn(2, 3, 4, 5)
    y = to_device(x, "cpu", channels_last=True)
    assert y.shape == x.shape and torch.equal(y, x)
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
    assert to_device(x, "cpu").is_contiguous()
    flat = torch.randn(2, 3)
    assert to_device(flat, "cpu", channels_last=True).is_contiguous()


def test_both_layouts_train_the_same_network_to_the_same_weights():
    """In float64, with SGD (Adam would magnify the round-off in the conv bias, whose
    gradient BatchNorm makes zero but for round-off)."""
    results = {}
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = small_cnn().double()
        history = train_classifier(model, loader(data(), 32, shuffle=True), loader(data(seed=1), 48),
                                   epochs=2, lr=0.1, optimizer="sgd", device="cpu",
                                   channels_last=channels_last)
        weight = model[0].weight  # (4, 1, 3, 3): only the strides tell the layouts apart
        layout = torch.channels_last if channels_last else torch.contiguous_format
        assert weight.stride() == weight.detach().contiguous(memory_format=layout).stride()
        results[channels_last] = (history, [p.detach().clone() for p in model.parameters()])
    (h0, p0), (h1, p1) = results[False], results[True]
    assert h0.train_loss == pytest.approx(h1.train_loss, rel=1e-9)
    assert h0.test_accuracy == h1.test_accuracy
    for a, b in zip(p0, p1):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_view_models_train_in_the_default_layout_and_fail_in_channels_last():
    torch.manual_seed(0)
    model = ViewFlatten().double()
    train_classifier(model, loader(data(), 32), epochs=1, device="cpu")
    assert 0 <= evaluate_accuracy(model, loader(data(seed=1), 48), "cpu") <= 1
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        train_classifier(ViewFlatten().double(), loader(data(), 32), epochs=1, device="cpu",
                         channels_last=True)
