"""ConvArithmetic: the sizes of a convolution layer, worked out and animated (L06-L08, L21, L30)."""

from __future__ import annotations

import traitlets

from cnncourse.widgets._base import CourseWidget

FIELDS = ("height", "width", "in_channels", "out_channels", "kernel_h", "kernel_w", "stride_h",
          "stride_w", "padding_h", "padding_w", "dilation_h", "dilation_w", "groups",
          "transposed", "output_padding_h", "output_padding_w")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_conv_check(config: dict, onednn: bool = False) -> dict:
    """What PyTorch does with ``config`` (the widget's settings): build ``nn.Conv2d`` or
    ``nn.ConvTranspose2d`` (bias=False) and run it on zeros of shape (1, C_in, H, W).

    By default on ATen's own CPU kernels, whose shape checks give the readable messages the
    widget shows; with ``onednn=True`` PyTorch may take the oneDNN path, which refuses the
    same configurations but words a few of them differently (e.g. "could not construct a
    memory descriptor using a format tag" for a transposed output smaller than 1×1).

    Returns ``{"ok": True, "out": [C_out, H_out, W_out]}`` or
    ``{"ok": False, "type": "RuntimeError" | "ValueError", "error": message}``.
    """
    import warnings

    import torch
    from torch import nn

    c = config
    kernel, stride = (c["kernel_h"], c["kernel_w"]), (c["stride_h"], c["stride_w"])
    padding, dilation = (c["padding_h"], c["padding_w"]), (c["dilation_h"], c["dilation_w"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if c["transposed"]:
                layer = nn.ConvTranspose2d(c["in_channels"], c["out_channels"], kernel, stride,
                                           padding, (c["output_padding_h"], c["output_padding_w"]),
                                           c["groups"], bias=False, dilation=dilation)
            else:
                layer = nn.Conv2d(c["in_channels"], c["out_channels"], kernel, stride, padding,
                                  dilation, c["groups"], bias=False)
            with torch.no_grad(), torch.backends.mkldnn.flags(enabled=onednn):
                y = layer(torch.zeros(1, c["in_channels"], c["height"], c["width"]))
    except (RuntimeError, ValueError) as e:
        return {"ok": False, "type": type(e).__name__, "error": str(e)}
    return {"ok": True, "out": list(y.shape[1:])}


class ConvArithmetic(CourseWidget):
    """Input size, kernel, stride, padding, dilation, groups and the transposed mode of a 2-D
    convolution: the output size with the floor rule, the sliding window (animated; point at
    an output cell, or move it with the arrow keys, to see its window; a large layer is drawn
    in part, around the window, so that every cell stays visible), which input channels each
    output channel sees, and, for a configuration PyTorch refuses, PyTorch's own message.
    """

    _name = "conv_arithmetic"

    height = traitlets.Int(5).tag(sync=True)
    width = traitlets.Int(5).tag(sync=True)
    in_channels = traitlets.Int(1).tag(sync=True)
    out_channels = traitlets.Int(1).tag(sync=True)
    kernel_h = traitlets.Int(3).tag(sync=True)
    kernel_w = traitlets.Int(3).tag(sync=True)
    stride_h = traitlets.Int(1).tag(sync=True)
    stride_w = traitlets.Int(1).tag(sync=True)
    padding_h = traitlets.Int(0).tag(sync=True)
    padding_w = traitlets.Int(0).tag(sync=True)
    dilation_h = traitlets.Int(1).tag(sync=True)
    dilation_w = traitlets.Int(1).tag(sync=True)
    groups = traitlets.Int(1).tag(sync=True)
    transposed = traitlets.Bool(False).tag(sync=True)
    output_padding_h = traitlets.Int(0).tag(sync=True)
    output_padding_w = traitlets.Int(0).tag(sync=True)

    def __init__(self, input_hw=(5, 5), kernel_size=3, stride=1, padding=0, dilation=1,
                 in_channels=1, out_channels=1, groups=1, transposed=False, output_padding=0,
                 **kwargs):
        (h, w), (kh, kw), (sh, sw) = _pair(input_hw), _pair(kernel_size), _pair(stride)
        (ph, pw), (dh, dw), (oh, ow) = _pair(padding), _pair(dilation), _pair(output_padding)
        super().__init__(height=h, width=w, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw,
                         padding_h=ph, padding_w=pw, dilation_h=dh, dilation_w=dw,
                         in_channels=in_channels, out_channels=out_channels, groups=groups,
                         transposed=transposed, output_padding_h=oh, output_padding_w=ow, **kwargs)

    def config(self) -> dict:
        """The settings as a dict (the same keys the JavaScript uses)."""
        return {f: getattr(self, f) for f in FIELDS}

    def check(self) -> dict:
        """What PyTorch says about the current settings (see :func:`torch_conv_check`)."""
        return torch_conv_check(self.config())

    def fallback(self):
        """A static figure: the (padded) input, the first window, and the output grid."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        c, r = self.config(), self.check()
        layer = "ConvTranspose2d" if c["transposed"] else "Conv2d"
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.set_axis_off()
        if not r["ok"]:
            ax.text(0, 0.5, f"PyTorch refuses:\n{r['error']}", wrap=True, va="center")
            return fig
        _, ho, wo = r["out"]
        ph, pw = (0, 0) if c["transposed"] else (c["padding_h"], c["padding_w"])
        hh, ww = c["height"] + 2 * ph, c["width"] + 2 * pw
        for y in range(hh):
            for x in range(ww):
                inside = ph <= y < ph + c["height"] and pw <= x < pw + c["width"]
                ax.add_patch(Rectangle((x, -y), 0.95, 0.95, color="tab:blue" if inside else "0.85",
                                       alpha=0.35 if inside else 0.6))
        if not c["transposed"]:
            for a in range(c["kernel_h"]):
                for b in range(c["kernel_w"]):
                    ax.add_patch(Rectangle((b * c["dilation_w"], -a * c["dilation_h"]), 0.95, 0.95,
                                           color="tab:orange", alpha=0.6))
        ox = ww + 2
        for y in range(ho):
            for x in range(wo):
                ax.add_patch(Rectangle((ox + x, -y), 0.95, 0.95, color="tab:cyan",
                                       alpha=0.9 if x == y == 0 else 0.35))
        ax.set_xlim(-0.5, ox + wo + 0.5)
        ax.set_ylim(-max(hh, ho) + 0.5, 1.5)
        ax.set_aspect("equal")
        ax.set_title(f"{layer}: {c['height']}×{c['width']} → {ho}×{wo}", fontsize=10)
        return fig
