"""cnncourse.conv_matrix: the convolution matrix and im2col agree with F.conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnncourse import lecture
from cnncourse.conv_matrix import conv2d_im2col, conv_matrix, im2col


def _rand(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("hw, khw", [((3, 3), (2, 2)), ((5, 5), (3, 3)), ((4, 7), (2, 3)),
                                     ((6, 5), (1, 1)), ((3, 4), (3, 4)), ((8, 3), (5, 1))])
def test_conv_matrix_equals_conv2d(hw, khw):
    x = _rand(1, 1, *hw, seed=hw[0] * 10 + hw[1])
    k = _rand(*khw, seed=khw[0] * 10 + khw[1] + 100)
    m = conv_matrix(hw, k)
    expected = F.conv2d(x, k.reshape(1, 1, *khw))
    h_out, w_out = expected.shape[-2:]
    assert m.shape == (h_out * w_out, hw[0] * hw[1])
    torch.testing.assert_close(m @ x.flatten(), expected.flatten())


def test_conv_matrix_lecture_example1():
    """L09: the 3×3 input and the 2×2 kernel of L04 give a 4×9 matrix; the product is
    the worked example's result [[1, 2], [5, 3]] (the lecture's stated answer)."""
    m = conv_matrix((3, 3), lecture.EXAMPLE1_KERNEL)
    assert m.shape == (4, 9)
    x = torch.tensor(lecture.EXAMPLE1_INPUT, dtype=torch.float64)
    assert (m @ x.flatten()).reshape(2, 2).tolist() == [[1, 2], [5, 3]]


def test_conv_matrix_structure_of_L09():
    """Each row is the kernel laid into the flattened input: k11 k12 0 k21 k22 0 0 0 0 for
    the first output pixel, shifted by one column (within a row) or by W (next row)."""
    k = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = conv_matrix(3, k)
    assert m[0].tolist() == [1, 2, 0, 3, 4, 0, 0, 0, 0]
    assert torch.equal(m[1], torch.roll(m[0], 1))
    assert torch.equal(m[2], torch.roll(m[0], 3))
    assert torch.equal(m[3], torch.roll(m[0], 4))
    # sparse: each row has exactly kh·kw non-zeros (the kernel has no zero entries)
    assert (m != 0).sum(1).tolist() == [4, 4, 4, 4]


def test_conv_matrix_accepts_nchw_kernel_and_rejects_bad_ones():
    k = _rand(1, 1, 2, 3, seed=5)
    torch.testing.assert_close(conv_matrix((4, 4), k), conv_matrix((4, 4), k[0, 0]))
    with pytest.raises(ValueError):
        conv_matrix((4, 4), _rand(2, 1, 2, 2, seed=6))
    with pytest.raises(ValueError):
        conv_matrix((2, 2), _rand(3, 3, seed=7))


def test_conv_matrix_dtype_of_integer_lists_is_float64():
    assert conv_matrix((5, 5), lecture.EXAMPLE2_KERNEL).dtype == torch.float64


def test_im2col_columns_are_patches():
    x = torch.arange(1.0, 26.0).reshape(5, 5)
    cols = im2col(x, 3)
    assert cols.shape == (1, 9, 9)
    # column i·W_out + j is the 3×3 patch under output pixel (i, j), row by row
    for i in range(3):
        for j in range(3):
            assert torch.equal(cols[0, :, i * 3 + j], x[i:i + 3, j:j + 3].flatten())


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2}, {"padding": 1}, {"dilation": 2},
                                    {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)}])
def test_conv2d_im2col_equals_conv2d(kwargs):
    x = _rand(2, 3, 9, 8, seed=11)
    w = _rand(4, 3, 3, 2, seed=12)
    b = _rand(4, seed=13)
    torch.testing.assert_close(conv2d_im2col(x, w, b, **kwargs), F.conv2d(x, w, b, **kwargs))
    torch.testing.assert_close(conv2d_im2col(x, w, None, **kwargs), F.conv2d(x, w, **kwargs))
