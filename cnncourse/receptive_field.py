"""Receptive fields of convolution and pooling stacks, computed and measured.

The **receptive field** (рецептивное поле) of a unit is the region of the input that can
change it. For a stack of convolutions and poolings it follows a recurrence over the layers
(Dumoulin & Visin, arXiv:1603.07285; Araujo, Norris & Sim, Distill 2019). With, for one
axis, kernel size ``k``, stride ``s``, padding ``p`` and dilation ``d`` of layer ``l``:

* effective kernel   ``k' = d·(k − 1) + 1``;
* output length      ``n_l = ⌊(n_{l−1} + 2p − k') / s⌋ + 1`` (``⌈·⌉`` with ``ceil_mode``);
* **jump**           ``j_l = j_{l−1} · s`` -- the distance, in input pixels, between two
  neighbouring units of layer ``l``;
* **size**           ``r_l = r_{l−1} + (k' − 1) · j_{l−1}``;
* **start**          ``c_l = c_{l−1} + ((k' − 1)/2 − p) · j_{l−1}`` -- the input coordinate of
  the centre of the field of the first unit (index 0) of layer ``l``;

starting from the input itself: ``r_0 = 1``, ``j_0 = 1``, ``c_0 = 0`` (pixel ``i`` of the
input has centre ``i``). Unit ``u`` of layer ``l`` then sees the input pixels
``c_l + u·j_l − (r_l − 1)/2`` to ``c_l + u·j_l + (r_l − 1)/2``, both included (fewer at the
border, where part of the field lies in the padding).

Two functions compute and measure it, for ``nn.Sequential`` stacks (nested ones are
flattened) of ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` and evenly dividing
``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d``; element-wise layers (activations,
``BatchNorm2d``, dropout, ``Identity``) pass through:

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
>>> rows = receptive_field(net, (28, 28))
>>> rows[-1].size, rows[-1].jump, rows[-1].start, rows[-1].output_size
((8, 8), (2, 2), (3.5, 3.5), (11, 11))
>>> rows[-1].field((0, 0))                  # rows 0..7, columns 0..7 of the input
((0, 7), (0, 7))
>>> mask = empirical_receptive_field(net, (28, 28), (0, 0))   # from autograd
>>> bool((mask == field_mask(rows[-1], (28, 28), (0, 0))).all())
True
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "RFRow",
    "receptive_field",
    "print_receptive_field",
    "field_mask",
    "input_gradient",
    "empirical_receptive_field",
    "fill_positive_",
    "mask_bounds",
]

#: Layers that act on each position on its own: they leave the receptive field unchanged.
PASS_THROUGH = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus,
    nn.BatchNorm2d, nn.InstanceNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity,
)

Pair = tuple  # (height axis, width axis)


@dataclass(frozen=True)
class RFRow:
    """The receptive field of the units of one layer, for the height and width axes.

    ``size``: side of the field in input pixels; ``jump``: input pixels between
    neighbouring units; ``start``: input coordinate of the centre of the field of unit 0
    (a half-integer for even kernels, negative when the field starts in the padding);
    ``output_size``: the layer's output height and width.
    """

    index: int
    name: str
    kind: str
    output_size: Pair
    size: Pair
    jump: Pair
    start: Pair

    def field(self, unit, input_hw=None) -> tuple:
        """Input rows and columns seen by ``unit = (i, j)``: ``((top, bottom), (left, right))``,
        both ends included; clipped to the input when ``input_hw`` is given."""
        out = []
        for axis in range(2):
            lo = self.start[axis] + unit[axis] * self.jump[axis] - (self.size[axis] - 1) / 2
            lo = int(round(lo))
            hi = lo + self.size[axis] - 1
            if input_hw is not None:
                lo, hi = max(lo, 0), min(hi, _pair(input_hw)[axis] - 1)
            out.append((lo, hi))
        return tuple(out)


def _pair(v) -> Pair:
    return (v, v) if isinstance(v, int) else tuple(v)


def _layers(model):
    """(name, module) of the leaves of a (nested) nn.Sequential, in order."""
    if isinstance(model, (list, tuple)):
        model = nn.Sequential(*model)
    out = []

    def walk(module, prefix):
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(child, nn.Sequential):
                walk(child, full)
            else:
                out.append((full, child))

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"expected an nn.Sequential (or a list of layers), "
                        f"got {type(model).__name__}")
    walk(model, "")
    return out


def _geometry(module, in_hw):
    """Per axis (k, s, p, d, ceil_mode, p_right) of a spatial layer (``p`` pads the top and
    left, ``p_right`` the bottom and right); None for a pass-through layer."""
    if isinstance(module, PASS_THROUGH):
        return None
    if isinstance(module, nn.Conv2d):
        k, s, d = _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation)
        if module.padding == "valid":
            p = (0, 0)
        elif module.padding == "same":  # PyTorch puts the odd pixel at the bottom/right
            total = tuple(di * (ki - 1) for ki, di in zip(k, d))
            p = tuple(t // 2 for t in total)
            return k, s, p, d, False, tuple(t - t // 2 for t in total)
        else:
            p = _pair(module.padding)
        return k, s, p, d, False, p
    if isinstance(module, nn.MaxPool2d):
        k = _pair(module.kernel_size)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        p = _pair(module.padding)
        return k, s, p, _pair(module.dilation), module.ceil_mode, p
    if isinstance(module, nn.AvgPool2d):
        k = _pair(module.kernel_size)
        s = _pair(module.stride if module.stride is not None else module.kernel_size)
        p = _pair(module.padding)
        return k, s, p, (1, 1), module.ceil_mode, p
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        out = _pair(module.output_size)
        out = tuple(n if o is None else o for o, n in zip(out, in_hw))
        if any(n % o for n, o in zip(in_hw, out)):
            raise ValueError(f"{type(module).__name__}{out} on a {in_hw} input has unequal "
                             "windows; the recurrence needs one kernel and stride per axis")
        k = tuple(n // o for n, o in zip(in_hw, out))
        return k, k, (0, 0), (1, 1), False, (0, 0)
    raise TypeError(f"{type(module).__name__} is not supported: the receptive field is defined "
                    "for stacks of Conv2d and pooling layers with element-wise layers between "
                    "them (cut the model before Flatten/Linear, e.g. model[:k])")


def receptive_field(model, input_hw) -> list[RFRow]:
    """One :class:`RFRow` per layer of ``model`` (an ``nn.Sequential`` or a list of layers)
    applied to an input of height and width ``input_hw`` (an int or a pair).

    The input itself is not a row: it has size 1, jump 1 and start 0 on both axes.
    """
    n = _pair(input_hw)
    size, jump, start = (1, 1), (1, 1), (0.0, 0.0)
    rows = []
    for index, (name, module) in enumerate(_layers(model)):
        geometry = _geometry(module, n)
        if geometry is not None:
            k, s, p, d, ceil, p_right = geometry
            new_n, new_size, new_jump, new_start = [], [], [], []
            for a in range(2):
                keff = d[a] * (k[a] - 1) + 1
                span = n[a] + p[a] + p_right[a] - keff
                if span < 0:
                    raise ValueError(f"layer {name} ({type(module).__name__}): its "
                                     f"{keff}-pixel window does not fit an input of {n[a]}")
                out = (math.ceil(span / s[a]) if ceil else span // s[a]) + 1
                if ceil and (out - 1) * s[a] >= n[a] + p[a]:  # PyTorch's rule
                    out -= 1
                new_n.append(out)
                new_size.append(size[a] + (keff - 1) * jump[a])
                new_start.append(start[a] + ((keff - 1) / 2 - p[a]) * jump[a])
                new_jump.append(jump[a] * s[a])
            n, size, jump, start = tuple(new_n), tuple(new_size), tuple(new_jump), tuple(new_start)
        rows.append(RFRow(index, name, type(module).__name__, n, size, jump, start))
    return rows


def print_receptive_field(rows: list[RFRow]) -> None:
    """Print the rows as a table (one value when both axes agree, else ``h×w``)."""

    def fmt(pair, number=lambda v: f"{v:g}"):
        return number(pair[0]) if pair[0] == pair[1] else f"{number(pair[0])}×{number(pair[1])}"

    print(f"{'layer':<8}{'type':<20}{'output':>10}{'size':>8}{'jump':>8}{'start':>10}")
    for r in rows:
        out = f"{r.output_size[0]}×{r.output_size[1]}"
        print(f"{r.name:<8}{r.kind:<20}{out:>10}{fmt(r.size):>8}{fmt(r.jump):>8}{fmt(r.start):>10}")


def field_mask(row: RFRow, input_hw, unit) -> torch.Tensor:
    """The computed field of ``unit`` of the layer ``row`` as a boolean (H, W) mask."""
    h, w = _pair(input_hw)
    (top, bottom), (left, right) = row.field(unit, (h, w))
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[top:bottom + 1, left:right + 1] = True
    return mask


def mask_bounds(mask: torch.Tensor) -> tuple:
    """The bounding box of the True pixels of an (H, W) mask, in the form of
    :meth:`RFRow.field`: ``((top, bottom), (left, right))``, ends included."""
    rows = torch.nonzero(mask.any(1)).flatten()
    cols = torch.nonzero(mask.any(0)).flatten()
    if rows.numel() == 0:
        raise ValueError("the mask is empty")
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


class _WindowSum(nn.Module):
    """A pooling window in which every input has a positive gradient (unlike max pooling,
    whose gradient reaches the argmax only): a sum over the same window geometry."""

    def __init__(self, k, s, p, d, ceil, p_right):
        super().__init__()
        self.k, self.s, self.p, self.d, self.ceil = k, s, p, d, ceil  # pools pad symmetrically

    def forward(self, x):
        c = x.shape[1]
        extra = []
        for a in range(2):
            keff = self.d[a] * (self.k[a] - 1) + 1
            n = x.shape[2 + a]
            span = n + 2 * self.p[a] - keff
            out = (math.ceil(span / self.s[a]) if self.ceil else span // self.s[a]) + 1
            if self.ceil and (out - 1) * self.s[a] >= n + self.p[a]:
                out -= 1
            extra.append(max(0, (out - 1) * self.s[a] + keff - (n + 2 * self.p[a])))
        # F.pad takes (left, right, top, bottom)
        x = F.pad(x, (self.p[1], self.p[1] + extra[1], self.p[0], self.p[0] + extra[0]))
        weight = torch.ones(c, 1, *self.k, dtype=x.dtype, device=x.device)
        return F.conv2d(x, weight, stride=self.s, dilation=self.d, groups=c)


def _in_channels(layers):
    for _, m in layers:
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 1


def input_gradient(model, input_hw, unit, x=None, channel=None, pools_as_windows=True,
                   in_channels=None) -> torch.Tensor:
    """|∂ y[unit] / ∂ x|, summed over the input channels, as an (H, W) tensor.

    ``y`` is the output of ``model`` (an ``nn.Sequential``) on ``x`` (by default a
    (1, C, H, W) tensor of ones); ``unit = (i, j)`` a position of its last feature map;
    ``channel`` one output channel (by default the sum over all of them). The model is
    copied and run in eval mode; with ``pools_as_windows`` its pooling layers are replaced
    by window sums of the same geometry, so that max pooling's gradient reaches its whole
    window rather than the argmax alone.
    """
    layers = _layers(model)
    h, w = _pair(input_hw)
    param = next(iter(nn.Sequential(*[m for _, m in layers]).parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    if x is None:
        c = in_channels or _in_channels(layers)
        x = torch.ones(1, c, h, w, dtype=dtype, device=device)
    x = x.detach().clone().to(device).requires_grad_(True)
    modules = []
    for _, m in layers:
        m = copy.deepcopy(m)
        if pools_as_windows and isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            m = _WindowSum(*_geometry(m, None))
        elif pools_as_windows and isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            m = _AdaptiveWindowSum(m)  # its window depends on the input size
        modules.append(m)
    net = nn.Sequential(*modules).eval()
    y = net(x)
    i, j = unit
    target = y[0, :, i, j].sum() if channel is None else y[0, channel, i, j]
    (grad,) = torch.autograd.grad(target, x)
    return grad[0].abs().sum(0).detach().cpu()


class _AdaptiveWindowSum(nn.Module):
    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, x):
        return _WindowSum(*_geometry(self.pool, tuple(x.shape[-2:])))(x)


def empirical_receptive_field(model, input_hw, unit, **kwargs) -> torch.Tensor:
    """The input pixels whose gradient reaches ``unit`` of the last layer, as a boolean
    (H, W) mask: where :func:`input_gradient` is non-zero.

    It fills the computed field (:func:`field_mask`) when nothing cancels or switches off
    along the way -- e.g. after :func:`fill_positive_` -- and the stack has no dilation;
    a dilated layer leaves holes (its bounding box, :func:`mask_bounds`, is still the
    field). With trained or random weights it can be smaller (dead ReLUs, cancellation).
    """
    return input_gradient(model, input_hw, unit, **kwargs) != 0


@torch.no_grad()
def fill_positive_(model, value: float = 0.1):
    """Set every convolution weight to ``value`` (> 0) and its bias to 0, in place; return
    the model. With positive inputs every activation is then positive, so no gradient
    cancels or is cut by a ReLU."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.fill_(value)
            if m.bias is not None:
                m.bias.zero_()
    return model
