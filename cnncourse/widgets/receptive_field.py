"""ReceptiveFieldExplorer: a stack of conv and pool layers and the input each unit sees
(lecture L14, L17), computed in JavaScript beside the field measured by gradients in Python."""

from __future__ import annotations

import base64

import numpy as np
import traitlets

from cnncourse.widgets._base import CourseWidget

KINDS = ("conv", "maxpool", "avgpool")
DEFAULT_STACK = [("conv", 3, 1, 0, 1), ("maxpool", 2, 2, 0, 1), ("conv", 3, 1, 0, 1)]


def _layer_dict(layer) -> dict:
    if isinstance(layer, dict):
        d = dict(layer)
    else:
        kind, kernel, stride, padding, dilation = layer
        d = dict(kind=kind, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    if d["kind"] not in KINDS:
        raise ValueError(f"layer kind must be one of {KINDS}, not {d['kind']!r}")
    if d["kind"] == "avgpool":
        d["dilation"] = 1
    return {k: (d[k] if k == "kind" else int(d[k]))
            for k in ("kind", "kernel", "stride", "padding", "dilation")}


def signature(height: int, width: int, layers) -> str:
    """The key of a configuration (the same string as the JavaScript's ``signature``)."""
    return f"{height}x{width}|" + ";".join(
        f"{l['kind']}:{l['kernel']},{l['stride']},{l['padding']},{l['dilation']}"
        for l in map(_layer_dict, layers))


def build_stack(layers, channels: int = 4):
    """The layers as an ``nn.Sequential`` (convolutions with ``channels`` channels, no bias)."""
    from torch import nn

    modules, c_in = [], 1
    for l in map(_layer_dict, layers):
        k, s, p, d = l["kernel"], l["stride"], l["padding"], l["dilation"]
        if l["kind"] == "conv":
            modules.append(nn.Conv2d(c_in, channels, k, s, p, d, bias=False))
            c_in = channels
        elif l["kind"] == "maxpool":
            modules.append(nn.MaxPool2d(k, s, p, d))
        else:
            modules.append(nn.AvgPool2d(k, s, p))
    return nn.Sequential(*modules)


def measure(height: int, width: int, layers, seed: int = 0) -> dict:
    """The field of every unit of the last layer measured by gradients: |∂y/∂x| (summed over
    channels) of the stack with random weights on a random positive input, max pooling
    passing the gradient to its argmax only. Per unit: the bounding box of the nonzero
    gradient and the values in it, scaled to 0..255 and base64-encoded."""
    import torch

    from cnncourse.receptive_field import input_gradient

    layers = [_layer_dict(l) for l in layers]
    gen = torch.Generator().manual_seed(seed)
    net = build_stack(layers).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    x = torch.rand(1, 1, height, width, generator=gen, dtype=torch.float64) + 0.5
    with torch.no_grad():
        oh, ow = net(x).shape[2:]
    units = []
    for i in range(oh):
        for j in range(ow):
            g = input_gradient(net, (height, width), (i, j), x=x, pools_as_windows=False).numpy()
            nz = np.argwhere(g > 0)
            if len(nz) == 0:
                units.append([0, 0, 0, 0, ""])
                continue
            (t, l), (b, r) = nz.min(0), nz.max(0)
            box = g[t:b + 1, l:r + 1]
            q = np.where(box > 0, np.maximum(1, np.round(255 * box / box.max())), 0).astype(np.uint8)
            units.append([int(t), int(l), int(b - t + 1), int(r - l + 1),
                          base64.b64encode(q.tobytes()).decode()])
    return {"signature": signature(height, width, layers), "height": height, "width": width,
            "layers": layers, "out": [int(oh), int(ow)], "units": units,
            "note": "random weights, random input; max pooling passes the gradient to its argmax"}


class ReceptiveFieldExplorer(CourseWidget):
    """A configurable stack of convolution and pooling layers. Pointing at a unit of the last
    layer highlights the input region it sees (the recurrence of
    :mod:`cnncourse.receptive_field`, in the widget's JavaScript), beside the field measured
    by gradients in Python for the stack the widget was built with; in a live kernel every
    change of the stack is measured again.
    """

    _name = "receptive_field"

    height = traitlets.Int(24).tag(sync=True)
    width = traitlets.Int(24).tag(sync=True)
    layers = traitlets.List(traitlets.Dict()).tag(sync=True)
    empirical = traitlets.Dict().tag(sync=True)

    def __init__(self, layers=None, input_hw=(24, 24), measure_live: bool = True, **kwargs):
        layers = [_layer_dict(l) for l in (DEFAULT_STACK if layers is None else layers)]
        h, w = (input_hw, input_hw) if isinstance(input_hw, int) else input_hw
        super().__init__(height=h, width=w, layers=layers, empirical=measure(h, w, layers),
                         **kwargs)
        if measure_live:
            self.observe(self._remeasure, names=["height", "width", "layers"])

    def _remeasure(self, change=None):
        try:
            self.empirical = measure(self.height, self.width, self.layers)
        except (ValueError, RuntimeError):  # a stack PyTorch refuses: nothing to measure
            self.empirical = {}

    def model(self):
        """The current stack as an ``nn.Sequential``."""
        return build_stack(self.layers)

    def fallback(self):
        """A static figure: the computed field of the centre unit, and the measured one."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        from cnncourse.receptive_field import receptive_field

        rows = receptive_field(self.model(), (self.height, self.width))
        last = rows[-1]
        unit = (last.output_size[0] // 2, last.output_size[1] // 2)
        (top, bottom), (left, right) = last.field(unit, (self.height, self.width))
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
        grad = np.zeros((self.height, self.width))
        e = self.empirical
        if e:
            t, l, hh, ww, b64 = e["units"][unit[0] * e["out"][1] + unit[1]]
            if hh:
                grad[t:t + hh, l:l + ww] = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(hh, ww)
        for ax, title in zip(axes, ("computed field", "measured |∂y/∂x|")):
            ax.imshow(grad if "measured" in title else np.zeros_like(grad), cmap="Oranges",
                      vmin=0, vmax=255)
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                                   fill="computed" in title, alpha=0.5 if "computed" in title else 1,
                                   color="tab:orange", lw=1.5))
            ax.set_title(f"{title}: unit {unit}", fontsize=9)
            ax.set_xticks([]); ax.set_yticks([])
        fig.tight_layout()
        return fig
