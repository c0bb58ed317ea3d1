"""Convolution as a matrix product (lecture item L09).

A 2-D convolution (strictly: cross-correlation, as in ``F.conv2d``) is linear in its input,
so it is a matrix times the flattened input:

- :func:`conv_matrix` builds that dense (H_out·W_out)×(H·W) matrix for one single-channel
  kernel, stride 1, no padding; most of its entries are zero (sparse interactions), and
  every row holds the same kernel values (parameter sharing);
- :func:`im2col` goes the other way round, as fast libraries do: it copies every
  sliding-window patch of the input into a column, so that the convolution becomes one
  matrix product ``weight.reshape(C_out, -1) @ im2col(x, kernel_size)``. It wraps
  ``torch.nn.functional.unfold``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def conv_matrix(input_hw, weight) -> torch.Tensor:
    """The dense matrix ``M`` with ``M @ x.flatten() == F.conv2d(x, weight).flatten()``.

    ``input_hw`` is the input's (H, W) (or one int for a square input); ``weight`` is a
    single-channel kernel of shape (kh, kw) (a tensor or nested list; a (1, 1, kh, kw)
    tensor is accepted too). Stride 1, no padding. The result has shape
    (H_out·W_out, H·W) with H_out = H − kh + 1, W_out = W − kw + 1, and the kernel's dtype
    (float64 for a nested list of ints).

    Row ``i·W_out + j`` is the output pixel (i, j): it holds the kernel's values at the
    input positions its window covers and zeros elsewhere.
    """
    h, w = _pair(input_hw)
    k = torch.as_tensor(weight)
    if not k.is_floating_point():
        k = k.to(torch.float64)
    if k.dim() == 4:
        if k.shape[0] != 1 or k.shape[1] != 1:
            raise ValueError(f"conv_matrix takes one single-channel kernel, got weight of "
                             f"shape {tuple(k.shape)}")
        k = k[0, 0]
    if k.dim() != 2:
        raise ValueError(f"weight must be (kh, kw) or (1, 1, kh, kw), got {tuple(k.shape)}")
    kh, kw = k.shape
    h_out, w_out = h - kh + 1, w - kw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel {kh}×{kw} is larger than the input {h}×{w}")
    m = torch.zeros(h_out * w_out, h * w, dtype=k.dtype, device=k.device)
    for i in range(h_out):
        for j in range(w_out):
            window = torch.zeros(h, w, dtype=k.dtype, device=k.device)
            window[i:i + kh, j:j + kw] = k
            m[i * w_out + j] = window.flatten()
    return m


def im2col(x: torch.Tensor, kernel_size, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Every sliding-window patch of ``x`` as a column: (N, C·kh·kw, H_out·W_out).

    ``x`` is (N, C, H, W) (or (C, H, W), or (H, W), which are given the missing axes).
    Column ``i·W_out + j`` holds the patch under output pixel (i, j), channel by channel,
    row by row — the order of ``weight.reshape(C_out, -1)``, so that
    ``weight.reshape(C_out, -1) @ im2col(x, (kh, kw))`` is ``F.conv2d(x, weight)``
    flattened over its spatial axes.
    """
    while x.dim() < 4:
        x = x.unsqueeze(0)
    return F.unfold(x, _pair(kernel_size), dilation=dilation, padding=padding, stride=stride)


def conv2d_im2col(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  stride=1, padding=0, dilation=1) -> torch.Tensor:
    """``F.conv2d`` (groups=1) computed as one matrix product over :func:`im2col` columns."""
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = im2col(x, (kh, kw), stride=stride, padding=padding, dilation=dilation)
    out = weight.reshape(c_out, -1) @ cols  # (C_out, C·kh·kw) @ (N, C·kh·kw, L) -> (N, C_out, L)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1)
    return out.reshape(n, c_out, h_out, w_out)
