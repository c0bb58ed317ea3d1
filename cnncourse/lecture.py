"""The lecture's worked-example inputs and kernels, typed once.

These are the *inputs* the slides give. Every result (output maps, sizes, counts) is
computed from them by code in the book and the checks, never typed in.
"""

from __future__ import annotations

import torch

#: L04, worked example 1.
EXAMPLE1_INPUT = [[1, 2, 3], [3, 4, 5], [1, 0, 2]]
EXAMPLE1_KERNEL = [[0, 1], [1, -1]]

#: L04, worked example 2 (the nine-step sliding-window animation); also L12's input.
EXAMPLE2_INPUT = [
    [3, 3, 2, 1, 0],
    [0, 0, 1, 3, 1],
    [3, 1, 2, 2, 3],
    [2, 0, 0, 2, 2],
    [2, 0, 0, 0, 1],
]
EXAMPLE2_KERNEL = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]

#: L05's classical kernels.
KERNELS = {
    "blur": [[1 / 16, 1 / 8, 1 / 16], [1 / 8, 1 / 4, 1 / 8], [1 / 16, 1 / 8, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "top sobel": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "bottom sobel": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "left sobel": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "right sobel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "custom": [[1, -1, 1], [-1, 0, -1], [1, -1, 1]],
}


def as_nchw(matrix, dtype=torch.float64) -> torch.Tensor:
    """A nested list (H×W) as a (1, 1, H, W) tensor, the shape ``F.conv2d`` expects."""
    return torch.tensor(matrix, dtype=dtype).reshape(1, 1, len(matrix), len(matrix[0]))
