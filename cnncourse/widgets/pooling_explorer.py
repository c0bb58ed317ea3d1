"""PoolingExplorer: max or average pooling, its output, refusals and gradient (lecture L12)."""

from __future__ import annotations

import traitlets

from cnncourse.widgets._base import CourseWidget, draw_number_grid

FIELDS = ("kind", "kernel_h", "kernel_w", "stride_h", "stride_w", "padding_h", "padding_w",
          "ceil_mode", "count_include_pad")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_pool(values, config: dict, upstream=None) -> dict:
    """``F.max_pool2d`` or ``F.avg_pool2d`` (float64) on the H×W ``values`` with the widget's
    settings: ``{"ok": True, "out", "values", "grad"}`` (grad: of the output times
    ``upstream``, ones by default, with respect to the input) or ``{"ok": False, "type",
    "error"}`` with PyTorch's message."""
    import torch
    import torch.nn.functional as F

    c = config
    x = torch.tensor(values, dtype=torch.float64)[None, None].requires_grad_(True)
    kw = dict(kernel_size=(c["kernel_h"], c["kernel_w"]), stride=(c["stride_h"], c["stride_w"]),
              padding=(c["padding_h"], c["padding_w"]), ceil_mode=c["ceil_mode"])
    try:
        if c["kind"] == "max":
            y = F.max_pool2d(x, **kw)
        else:
            y = F.avg_pool2d(x, count_include_pad=c["count_include_pad"], **kw)
    except RuntimeError as e:
        return {"ok": False, "type": "RuntimeError", "error": str(e)}
    g = torch.ones_like(y) if upstream is None else torch.tensor(upstream, dtype=torch.float64)[None, None]
    y.backward(g)
    return {"ok": True, "out": list(y.shape[2:]), "values": y[0, 0].tolist(),
            "grad": x.grad[0, 0].tolist()}


class PoolingExplorer(CourseWidget):
    """Max or average pooling of a small integer input (by default the lecture's 5×5 example)
    with kernel, stride, padding, ``ceil_mode`` and ``count_include_pad``: the output
    (pointing at a cell shows its window and, for max pooling, its argmax), PyTorch's
    refusals, and the gradient of the sum of the outputs with respect to the input.
    """

    _name = "pooling_explorer"

    values = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    kind = traitlets.Enum(("max", "avg"), "max").tag(sync=True)
    kernel_h = traitlets.Int(2).tag(sync=True)
    kernel_w = traitlets.Int(2).tag(sync=True)
    stride_h = traitlets.Int(2).tag(sync=True)
    stride_w = traitlets.Int(2).tag(sync=True)
    padding_h = traitlets.Int(0).tag(sync=True)
    padding_w = traitlets.Int(0).tag(sync=True)
    ceil_mode = traitlets.Bool(False).tag(sync=True)
    count_include_pad = traitlets.Bool(True).tag(sync=True)

    def __init__(self, values=None, kind: str = "max", kernel_size=2, stride=None, padding=0,
                 ceil_mode: bool = False, count_include_pad: bool = True, **kwargs):
        from cnncourse.lecture import EXAMPLE2_INPUT

        values = EXAMPLE2_INPUT if values is None else values
        (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
        sh, sw = (kh, kw) if stride is None else _pair(stride)  # PyTorch: stride=None -> kernel
        super().__init__(values=[[float(v) for v in row] for row in values], kind=kind,
                         kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, padding_h=ph,
                         padding_w=pw, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                         **kwargs)

    def config(self) -> dict:
        return {f: getattr(self, f) for f in FIELDS}

    def result(self) -> dict:
        """PyTorch's output and input gradient for the current settings (see torch_pool)."""
        return torch_pool(self.values, self.config())

    def fallback(self):
        """A static figure: input, output and the gradient with respect to the input."""
        import matplotlib.pyplot as plt

        r = self.result()
        fig, axes = plt.subplots(1, 3, figsize=(9, 3))
        x = [[int(v) if float(v).is_integer() else v for v in row] for row in self.values]
        if not r["ok"]:
            draw_number_grid(axes[0], x, "input")
            axes[1].set_axis_off(); axes[2].set_axis_off()
            axes[1].text(0, 0.5, "PyTorch refuses:\n" + r["error"], wrap=True, fontsize=8)
            return fig
        name = "max" if self.kind == "max" else "average"
        marked = [(i, j) for i in range(self.kernel_h) for j in range(self.kernel_w)]
        marked = [(i - self.padding_h, j - self.padding_w) for i, j in marked]
        draw_number_grid(axes[0], x, "input (first window shaded)", marked)
        draw_number_grid(axes[1], r["values"], f"{name} pooling output", [(0, 0)])
        draw_number_grid(axes[2], r["grad"], "gradient of sum(output)")
        fig.tight_layout()
        return fig
