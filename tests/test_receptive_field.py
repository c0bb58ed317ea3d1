"""cnncourse.receptive_field: the recurrence agrees with PyTorch's shapes and with autograd.

The empirical check: with positive weights, zero biases and an input of ones, nothing
cancels and no ReLU switches off, so the gradient of one output unit with respect to the
input is non-zero exactly on the pixels that can influence it -- the receptive field.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cnncourse.receptive_field import (RFRow, empirical_receptive_field, field_mask,
                                       fill_positive_, input_gradient, mask_bounds,
                                       print_receptive_field, receptive_field)


def _stacks():
    """(name, model, input_hw): stacks covering stride, padding, dilation, even and
    rectangular kernels, max/avg/adaptive pooling, ceil_mode, 'same' padding, BN, nesting."""
    yield "two 3x3", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3)), (12, 12)
    yield "three 3x3", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3),
                                     nn.ReLU(), nn.Conv2d(2, 1, 3)), (12, 12)
    yield "L14 walk", nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3),
                                    nn.MaxPool2d(2)), (28, 28)
    yield "stride+pad", nn.Sequential(nn.Conv2d(2, 3, 5, stride=2, padding=2), nn.BatchNorm2d(3),
                                      nn.ReLU(), nn.Conv2d(3, 3, 3, stride=2, padding=1)), (23, 19)
    yield "dilated", nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.Tanh(),
                                   nn.Conv2d(2, 2, 3, dilation=3, padding=1)), (25, 25)
    yield "rectangular", nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(2, 1), padding=(4, 2),
                                                 dilation=(3, 1)),
                                       nn.MaxPool2d((3, 2), stride=(2, 1))), (30, 20)
    yield "even kernels", nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.AvgPool2d(2),
                                        nn.Conv2d(2, 2, 4, stride=2)), (22, 22)
    yield "ceil_mode", nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, stride=2, ceil_mode=True,
                                                                      padding=1),
                                     nn.Conv2d(2, 2, 3), nn.MaxPool2d(2, ceil_mode=True)), (20, 17)
    yield "same", nn.Sequential(nn.Conv2d(1, 2, 4, padding="same"), nn.ReLU(),
                                nn.Conv2d(2, 2, 3, padding="same", dilation=2)), (15, 16)
    yield "dilated pool", nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, stride=2, dilation=2),
                                        nn.Conv2d(2, 2, 3)), (27, 27)
    yield "nested+adaptive", nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU()),
                                           nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()),
                                           nn.AdaptiveAvgPool2d(2)), (16, 16)


STACKS = list(_stacks())
IDS = [name for name, _, _ in STACKS]


def _units(rows):
    """Corners, the middle and an off-centre unit of the last layer's output."""
    h, w = rows[-1].output_size
    return sorted({(0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0), (h // 2, w // 2),
                   (min(1, h - 1), w // 3)})


@pytest.mark.parametrize("name, model, hw", STACKS, ids=IDS)
def test_output_sizes_match_pytorch(name, model, hw):
    rows = receptive_field(model, hw)
    in_channels = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels
    x = torch.randn(1, in_channels, *hw)
    layers = [m for m in model.modules() if not isinstance(m, nn.Sequential)]
    assert len(rows) == len(layers)
    model.eval()
    with torch.no_grad():
        for row, layer in zip(rows, layers):
            x = layer(x)
            assert row.output_size == tuple(x.shape[-2:]), row


def _dilated(model):
    return any(isinstance(m, (nn.Conv2d, nn.MaxPool2d)) and m.dilation not in (1, (1, 1))
               for m in model.modules())


def _check(model, row, hw, unit):
    """Without dilation the non-zero gradient fills the field exactly. A dilated layer
    leaves holes (and its taps may fall into the padding at the border), but the gradient
    stays inside the field and, for a field inside the input, spans it (bounding box).
    Returns whether the bounding box was compared."""
    measured = empirical_receptive_field(model, hw, unit)
    computed = field_mask(row, hw, unit)
    if _dilated(model):
        assert not (measured & ~computed).any(), (unit, row)
        if row.field(unit) == row.field(unit, hw):
            assert mask_bounds(measured) == row.field(unit), (unit, row)
            return True
        return False
    else:
        assert torch.equal(measured, computed), (unit, row.field(unit, hw))
        return True


@pytest.mark.parametrize("name, model, hw", STACKS, ids=IDS)
def test_gradient_is_nonzero_exactly_inside_the_field(name, model, hw):
    fill_positive_(model, 0.05)
    rows = receptive_field(model, hw)
    compared = [_check(model, rows[-1], hw, unit) for unit in _units(rows)]
    assert any(compared)


def test_dilation_leaves_holes_in_the_measured_field():
    model = fill_positive_(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=3)))
    row = receptive_field(model, 10)[-1]
    measured = empirical_receptive_field(model, 10, (0, 0))
    assert row.size == (7, 7) and measured.sum().item() == 9
    assert torch.equal(torch.nonzero(measured[0]).flatten(), torch.tensor([0, 3, 6]))


@pytest.mark.parametrize("name, model, hw", STACKS[:7], ids=IDS[:7])
def test_every_intermediate_layer(name, model, hw):
    """The rows of the inner layers are right too: cut the model after each of them."""
    fill_positive_(model, 0.05)
    rows = receptive_field(model, hw)
    for k, row in enumerate(rows, start=1):
        if row.kind in ("ReLU", "Tanh", "BatchNorm2d"):
            continue
        unit = (row.output_size[0] - 1, row.output_size[1] // 2)
        _check(model[:k], row, hw, unit)


def test_lecture_cascades_and_recurrence_by_hand():
    """L17: two 3×3 convolutions see 5×5, three see 7×7; conv3-pool2-conv3 sees 8×8 with
    jump 2 (r = 1 + 2·1 + 1·1 + 2·2 = 8, start = 0 + 1 + 0.5 + 2 = 3.5)."""
    two = receptive_field(STACKS[0][1], 12)
    three = receptive_field(STACKS[1][1], 12)
    assert two[-1].size == (5, 5) and three[-1].size == (7, 7)
    assert two[-1].jump == (1, 1) and three[-1].start == (3.0, 3.0)
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    last = receptive_field(net, 28)[-1]
    assert (last.size, last.jump, last.start) == ((8, 8), (2, 2), (3.5, 3.5))
    assert last.field((1, 2)) == ((2, 9), (4, 11))


def test_pass_through_rows_repeat_the_previous_row():
    rows = receptive_field(STACKS[3][1], (23, 19))
    conv, bn, relu = rows[0], rows[1], rows[2]
    for r in (bn, relu):
        assert (r.size, r.jump, r.start, r.output_size) == \
            (conv.size, conv.jump, conv.start, conv.output_size)
    assert rows[-1].jump == (4, 4)


def test_padding_makes_fields_start_outside_the_input():
    rows = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 5, padding=2)), 8)
    assert rows[0].start == (0.0, 0.0)
    assert rows[0].field((0, 0)) == ((-2, 2), (-2, 2))
    assert rows[0].field((0, 0), (8, 8)) == ((0, 2), (0, 2))


def test_random_weights_can_shrink_the_measured_field_but_never_grow_it():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU(),
                          nn.Conv2d(4, 1, 3))
    rows = receptive_field(model, 16)
    x = torch.randn(1, 1, 16, 16)
    for unit in _units(rows):
        measured = empirical_receptive_field(model, 16, unit, x=x)
        assert not (measured & ~field_mask(rows[-1], 16, unit)).any()


def test_max_pool_gradient_reaches_argmax_only_without_window_sums():
    model = fill_positive_(nn.Sequential(nn.Conv2d(1, 1, 1), nn.MaxPool2d(4)))
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    grad = input_gradient(model, 8, (0, 0), x=x, pools_as_windows=False)
    assert (grad != 0).sum().item() == 1 and grad[3, 3] > 0  # the window's max is at (3, 3)
    assert (input_gradient(model, 8, (0, 0), x=x) != 0).sum().item() == 16


def test_unsupported_layers_and_too_small_inputs_raise():
    with pytest.raises(TypeError, match="Linear"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 2)), 4)
    with pytest.raises(TypeError):
        receptive_field(nn.Conv2d(1, 1, 3), 8)
    with pytest.raises(ValueError, match="does not fit"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 5)), 4)


def test_rows_print_and_accept_a_list_of_layers(capsys):
    rows = receptive_field([nn.Conv2d(1, 1, (3, 5)), nn.MaxPool2d(2)], (10, 12))
    assert all(isinstance(r, RFRow) for r in rows)
    assert rows[1].size == (4, 6) and rows[1].output_size == (4, 4)
    print_receptive_field(rows)
    out = capsys.readouterr().out
    assert "MaxPool2d" in out and "4×6" in out
