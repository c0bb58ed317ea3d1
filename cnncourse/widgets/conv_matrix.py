"""ConvMatrix: a small convolution as a sparse matrix, and its transpose (lecture L09, L30)."""

from __future__ import annotations

import traitlets

from cnncourse.widgets._base import CourseWidget


class ConvMatrix(CourseWidget):
    """For a small input (up to 5×5) and kernel (up to 3×3) with stride and padding: the
    matrix ``M`` with ``M @ x.flatten() == F.conv2d(x, k, stride, padding).flatten()``; in the
    transposed mode ``Mᵀ``, which is ``F.conv_transpose2d``. Pointing at an output cell (or a
    row of the matrix) highlights the row (column of ``M`` in the transposed mode) and the
    input cells it reads. By default the lecture's worked example (L04, L09).
    """

    _name = "conv_matrix"

    height = traitlets.Int(3).tag(sync=True)
    width = traitlets.Int(3).tag(sync=True)
    kernel = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    transposed = traitlets.Bool(False).tag(sync=True)
    values = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)

    def __init__(self, values=None, kernel=None, stride: int = 1, padding: int = 0,
                 transposed: bool = False, **kwargs):
        from cnncourse.lecture import EXAMPLE1_INPUT, EXAMPLE1_KERNEL

        values = EXAMPLE1_INPUT if values is None else values
        kernel = EXAMPLE1_KERNEL if kernel is None else kernel
        super().__init__(height=len(values), width=len(values[0]),
                         values=[[float(v) for v in r] for r in values],
                         kernel=[[float(v) for v in r] for r in kernel], stride=stride,
                         padding=padding, transposed=transposed, **kwargs)

    def matrix(self):
        """``M`` (or ``Mᵀ`` in the transposed mode) for the current settings, from PyTorch:
        column ``q`` is the convolution of the ``q``-th one-hot image."""
        import torch
        import torch.nn.functional as F

        h, w = self.height, self.width
        basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
        k = torch.tensor(self.kernel, dtype=torch.float64)[None, None]
        m = F.conv2d(basis, k, stride=self.stride, padding=self.padding).reshape(h * w, -1).T
        return m.T if self.transposed else m

    def fallback(self):
        """A static figure of the matrix."""
        import matplotlib.pyplot as plt
        import numpy as np

        m = self.matrix().numpy()
        fig, ax = plt.subplots(figsize=(min(9, 0.35 * m.shape[1] + 1.5), min(6, 0.35 * m.shape[0] + 1)))
        lim = max(abs(m).max(), 1e-12)
        ax.imshow(m, cmap="coolwarm", vmin=-lim, vmax=lim)
        for (i, j), v in np.ndenumerate(m):
            if v != 0:
                ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7)
        name = "Mᵀ (transposed convolution)" if self.transposed else "M (convolution)"
        ax.set_title(f"{name}: {m.shape[0]}×{m.shape[1]}", fontsize=10)
        ax.set_xlabel("input cell (row-major)")
        ax.set_ylabel("output cell")
        return fig
