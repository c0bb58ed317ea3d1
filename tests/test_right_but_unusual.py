"""Right but unusual solutions keep full marks (issue #13: grading never punishes right code).

Each solution below is right by the statement of its assignment but written differently
from the reference: a convolution that pads with ``F.pad`` (allowed: ``apply_kernel``
forbids only the reflect, replicate and circular modes, which it teaches), loops in NumPy
converted to a tensor at the end, another loop order, padding modes written with
``torch.cat``, numbers returned as floats with an integral value (``1234.0``), pairs as
lists. Each is graded like the mutants (``cnncourse.nbgrader_course``: every graded test
cell, visible and hidden checks with the notebook's seeds) and must lose nothing; the
other side of each rule (the forbidden padding modes, NumPy or tensor numbers) must still
lose exactly its part, with feedback that says what to change. One nbgrader course (one
autograde run, about 35 s) grades the F.pad and integral-float solutions end to end
through the sandbox, whose kernels receive the forbidden calls and return the values
through records.
"""

from __future__ import annotations

import pytest

import cnncourse.nbgrader_course as harness
from cnncourse.checks import CheckFailure
from cnncourse.checks.conv import check_apply_kernel, check_conv_output_size
from cnncourse.checks.receptive import check_conv2d_flops, check_receptive_field

A1 = "a1_conv_forward"
A4 = "a4_receptive_fields"
A1_PARTS = {"test_conv_output_size", "test_conv2d_basic", "test_conv2d_stride_padding",
            "test_conv2d_dilation", "test_conv2d_groups", "test_conv2d_errors", "test_apply_kernel"}
A4_PARTS = {"test_rf_conv", "test_rf_dilation", "test_rf_pooling", "test_count_params",
            "test_conv2d_flops"}

# --- a1: solution cells (grade_id -> source), each a whole cell as a student writes it ---

# What every convolution below checks first, as the statement asks (RuntimeError where
# PyTorch refuses); F.pad would crop with a negative padding instead of refusing it.
_AS_PAIR_AND_CHECKS = '''
def as_pair(value):
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


def checked(x, weight, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    if min(sh, sw) < 1 or min(dh, dw) < 1 or min(ph, pw) < 0 or groups < 1:
        raise RuntimeError("stride and dilation must be positive, padding not negative")
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    if c_in != c_group * groups or c_out % groups:
        raise RuntimeError("the channels do not match the weight and groups")
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError("Kernel size can't be greater than actual input size")
    return (sh, sw), (ph, pw), (dh, dw), oh, ow
'''

# EECS-498 style: F.pad adds the zeros, one output pixel at a time over the whole batch,
# the bias broadcast at the end.
CONV_F_PAD = _AS_PAIR_AND_CHECKS + '''

def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw), oh, ow = checked(x, weight, stride, padding, dilation, groups)
    c_out, c_group, kh, kw = weight.shape
    x_pad = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros(x.shape[0], c_out, oh, ow, dtype=x.dtype, device=x.device)
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                window = x_pad[:, g * c_group:(g + 1) * c_group,
                               i * sh:i * sh + dh * (kh - 1) + 1:dh,
                               j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (window * weight[o]).sum(dim=(1, 2, 3))
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out
'''

# Loops over NumPy arrays, one multiply-add at a time, a tensor only at the end.
CONV_NUMPY = _AS_PAIR_AND_CHECKS + '''
import numpy as np


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw), oh, ow = checked(x, weight, stride, padding, dilation, groups)
    xs = np.pad(x.detach().cpu().numpy(), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ws = weight.detach().cpu().numpy()
    c_out, c_group, kh, kw = ws.shape
    out = np.zeros((xs.shape[0], c_out, oh, ow), dtype=xs.dtype)
    per_group = c_out // groups
    for n in range(xs.shape[0]):
        for o in range(c_out):
            first = (o // per_group) * c_group
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for c in range(c_group):
                        for u in range(kh):
                            for v in range(kw):
                                total += xs[n, first + c, i * sh + u * dh, j * sw + v * dw] * ws[o, c, u, v]
                    out[n, o, i, j] = total
    if bias is not None:
        out += bias.detach().cpu().numpy()[None, :, None, None]
    return torch.from_numpy(out).to(dtype=x.dtype, device=x.device)
'''

# Another loop order: output pixels outermost, then output and input channels and kernel
# rows, starting from the bias; the window's row a vector.
CONV_PIXELS_FIRST = _AS_PAIR_AND_CHECKS + '''

def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw), oh, ow = checked(x, weight, stride, padding, dilation, groups)
    n, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    padded = x.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    out = x.new_empty(n, c_out, oh, ow)
    per_group = c_out // groups
    for i in range(oh):
        for j in range(ow):
            for o in range(c_out):
                first = (o // per_group) * c_group
                acc = bias[o].expand(n).clone() if bias is not None else x.new_zeros(n)
                for c in range(c_group):
                    for u in range(kh):
                        row = padded[:, first + c, i * sh + u * dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
                        acc = acc + (row * weight[o, c, u]).sum(dim=1)
                out[:, o, i, j] = acc
    return out
'''

# The padding modes with torch.cat and flip, zeros through conv2d_naive's own padding.
APPLY_KERNEL_CAT = '''
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def apply_kernel(image, kernel, padding_mode="zeros"):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding_mode {padding_mode!r}")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("the kernel's sides must be odd")
    x = (image if image.ndim == 3 else image[None])[:, None]  # channels as a batch
    w = kernel.to(image.dtype)[None, None]

    def pad(t, p, dim):
        if p == 0:
            return t
        n = t.shape[dim]
        if padding_mode == "reflect":
            before, after = t.narrow(dim, 1, p).flip(dim), t.narrow(dim, n - 1 - p, p).flip(dim)
        elif padding_mode == "replicate":
            before = torch.cat([t.narrow(dim, 0, 1)] * p, dim)
            after = torch.cat([t.narrow(dim, n - 1, 1)] * p, dim)
        else:  # circular
            before, after = t.narrow(dim, n - p, p), t.narrow(dim, 0, p)
        return torch.cat([before, t, after], dim)

    if padding_mode == "zeros":
        out = conv2d_naive(x, w, padding=(kh // 2, kw // 2))
    else:
        out = conv2d_naive(pad(pad(x, kh // 2, 2), kw // 2, 3), w)
    return out[:, 0] if image.ndim == 3 else out[0, 0]
'''

# The formula transcribed with / : a float with an integral value (5.0).
OUTPUT_SIZE_FLOAT = '''
def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    out = (n + 2 * padding - dilation * (k - 1) - 1) / stride // 1 + 1
    if out < 1:
        raise ValueError("the kernel does not fit in the padded input")
    return out
'''

A1_RIGHT = {
    "conv2d_naive pads with F.pad; apply_kernel (the reference's) calls it": {
        "conv2d_naive": CONV_F_PAD},
    "conv2d_naive pads with F.pad; apply_kernel pads with torch.cat, zeros through it": {
        "conv2d_naive": CONV_F_PAD, "apply_kernel": APPLY_KERNEL_CAT},
    "conv2d_naive loops over NumPy arrays, a tensor at the end": {"conv2d_naive": CONV_NUMPY},
    "conv2d_naive loops over output pixels first, from the bias": {
        "conv2d_naive": CONV_PIXELS_FIRST, "apply_kernel": APPLY_KERNEL_CAT},
    "conv_output_size returns an integral float": {"conv_output_size": OUTPUT_SIZE_FLOAT},
}

# --- a4 ---------------------------------------------------------------------------------

# Natural float transcriptions of the formula: C_in / groups.
FLOPS_FLOAT = '''
def as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d_flops(in_channels, out_channels, kernel_size, output_hw, groups=1):
    if in_channels % groups or out_channels % groups:
        raise ValueError("in_channels and out_channels must be divisible by groups")
    (kh, kw), (oh, ow) = as_pair(kernel_size), as_pair(output_hw)
    return 2 * in_channels / groups * kh * kw * out_channels * oh * ow
'''

# The reference's receptive_field computing in floats and returning lists.
RF_FLOATS_AND_LISTS = [
    ("size, jump, start = [1, 1], [1, 1], [0.0, 0.0]", "size, jump, start = [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]"),
    ('rows.append({"size": tuple(size), "jump": tuple(jump), "start": tuple(start)})',
     'rows.append({"size": list(size), "jump": list(jump), "start": list(start)})'),
]


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"not found exactly once: {old!r}"
    return text.replace(old, new)


def _namespace(assignment: str, cells: dict[str, str], replace=(), grade_id=None) -> dict:
    """The reference solution's namespace (the mutants' harness) with some solution cells
    written otherwise: each source runs there, as the notebook's cell would."""
    ns = harness.solution_namespace(assignment, replace, grade_id)
    for grade_id_, source in cells.items():
        assert grade_id_ in harness.solution_code(assignment), grade_id_
        exec(compile(source, f"<{grade_id_}>", "exec"), ns)  # noqa: S102 - ours
    return ns


@pytest.mark.parametrize("name", sorted(A1_RIGHT))
def test_a1_right_but_unusual_keeps_full_marks(name):
    ns = _namespace(A1, A1_RIGHT[name])
    assert harness.failing_parts(A1, ns, A1_PARTS) == set()


def test_a4_integral_floats_and_lists_keep_full_marks():
    ns = _namespace(A4, {"conv2d_flops": FLOPS_FLOAT})
    assert isinstance(ns["conv2d_flops"](3, 16, 3, 128), float)
    assert harness.failing_parts(A4, ns, A4_PARTS) == set()
    ns = _namespace(A4, {}, RF_FLOATS_AND_LISTS, "receptive_field")
    assert harness.failing_parts(A4, ns, A4_PARTS) == set()


# --- the other side of each rule: still wrong, with feedback that says what to change ---

@pytest.mark.parametrize("call", ['F.pad(t, pads, mode="reflect")', 'F.pad(t, pads, "replicate")',
                                  "torch.nn.CircularPad2d(pads)(t)"])
def test_a1_padding_modes_by_pytorch_lose_apply_kernel_only(call):
    wrong = _replace_once(
        APPLY_KERNEL_CAT, "        return torch.cat([before, t, after], dim)",
        "        pads = (0, 0, p, p) if dim == 2 else (p, p, 0, 0)\n"
        f"        return {call}")
    ns = _namespace(A1, {"conv2d_naive": CONV_F_PAD, "apply_kernel": wrong})
    assert harness.failing_parts(A1, ns, A1_PARTS) == {"test_apply_kernel"}
    with pytest.raises(CheckFailure, match=r"your code called torch\.nn\.functional\.pad with "
                                           r"mode='(reflect|replicate|circular)', which this exercise forbids"):
        check_apply_kernel(ns["apply_kernel"])


def test_numbers_of_other_types_lose_their_part_saying_what_to_change():
    ns = _namespace(A1, {"conv_output_size": _replace_once(
        OUTPUT_SIZE_FLOAT, "    return out", "    import numpy as np\n    return np.int64(out)")})
    assert harness.failing_parts(A1, ns, A1_PARTS) == {"test_conv_output_size"}
    with pytest.raises(CheckFailure, match=r"returned a value of type int64, not a Python number; "
                                           r"return an int: int\(\.\.\.\)"):
        check_conv_output_size(ns["conv_output_size"])

    ns = _namespace(A4, {"conv2d_flops": _replace_once(
        FLOPS_FLOAT, "    return 2 *", "    return torch.tensor(2) *")})
    assert harness.failing_parts(A4, ns, A4_PARTS) == {"test_conv2d_flops"}
    with pytest.raises(CheckFailure, match=r"returned a tensor <\(\) float32>; return an int: "
                                           r"int\(\.\.\.\) or \.item\(\)"):
        check_conv2d_flops(ns["conv2d_flops"])
    # a float that is not an integer is a wrong value, not a wrong type
    ns = _namespace(A4, {"conv2d_flops": _replace_once(FLOPS_FLOAT, "* ow\n", "* ow + 0.5\n")})
    with pytest.raises(CheckFailure, match=r"returned 14155776\.5, expected 14155776\n"):
        check_conv2d_flops(ns["conv2d_flops"])

    import numpy as np  # a row's pair of NumPy ints: the element and the fix are named
    old = RF_FLOATS_AND_LISTS[1][0]
    ns = _namespace(A4, {}, [(old, _replace_once(old, '"size": tuple(size)', '"size": tuple(np.array(size))'))],
                    "receptive_field")
    ns["np"] = np
    assert harness.failing_parts(A4, ns, A4_PARTS) == {"test_rf_conv", "test_rf_dilation",
                                                      "test_rf_pooling"}
    with pytest.raises(CheckFailure, match=r"row 0 \(layer 0\), size: element 0 is a value of type "
                                           r"int64, not a Python number; return an int: int\(\.\.\.\)"):
        check_receptive_field(ns["receptive_field"])


# --- end to end: nbgrader and its sandbox, one course, some of them -----------------------

def test_nbgrader_gives_full_marks_to_right_but_unusual_submissions(tmp_path):
    """The sandbox plans the checks' calls, runs them in the student's kernel with the
    forbidden calls blocked there (the F.pad rule crosses to the kernel as text) and judges
    the recorded results (an integral float survives the records). One course, one
    autograde run: "unusual" must score 100; "forbidden", which pads with F.pad's reflect,
    replicate and circular modes, must lose the 15 points of apply_kernel and only those."""
    course = harness.Course(tmp_path, [A1])
    course.release(A1)
    students = {
        "unusual": {"conv2d_naive": CONV_F_PAD, "apply_kernel": APPLY_KERNEL_CAT,
                    "conv_output_size": OUTPUT_SIZE_FLOAT},
        "forbidden": {"conv2d_naive": CONV_F_PAD, "apply_kernel": _replace_once(
            APPLY_KERNEL_CAT, "        return torch.cat([before, t, after], dim)",
            "        return F.pad(t, (0, 0, p, p) if dim == 2 else (p, p, 0, 0), padding_mode)")},
    }
    for student, cells in students.items():
        course.submit(student, A1, harness.solved_notebook(A1, replace=cells))
    course.autograde(A1)
    assert course.export() == {("unusual", A1): 100.0, ("forbidden", A1): 85.0}


# --- dtype, layout, backward and state (issue #13): right code written otherwise --------
# Each is the reference solution with a few lines written another right way (a grade_id's
# cell, replacements applied once); it must keep full marks under the float32,
# channels-last and transposed cases, the backward checks, the input-unchanged check and
# the repeated calls.

A_PARTS = {
    "a2_conv_as_matmul": {"test_conv_matrix", "test_im2col_basic", "test_im2col_stride_padding_dilation",
                          "test_im2col_groups", "test_im2col_errors", "test_im2col_speed",
                          "test_transpose_basic", "test_transpose_stride_padding",
                          "test_transpose_groups", "test_transpose_errors"},
    "a3_backprop": {"test_max_forward", "test_max_backward", "test_max_ties", "test_avg_forward",
                    "test_avg_backward", "test_conv_forward", "test_conv_grad_input",
                    "test_conv_grad_weight", "test_conv_grad_bias"},
    "a5_architectures": {"test_lenet", "test_vgg", "test_inception", "test_basic_block",
                         "test_bottleneck", "test_se_squeeze", "test_se_excitation", "test_se_scale",
                         "test_depthwise", "test_pointwise"},
    "a6_norm_dropout": {"test_batchnorm_train", "test_batchnorm_running_stats", "test_batchnorm_eval",
                        "test_batchnorm_gradients", "test_dropout2d_masks", "test_dropout2d_statistics"},
}

RIGHT_OTHERWISE = {
    "im2col: .contiguous() first, then strides from the shape and .view": (
        "a2_conv_as_matmul", "conv2d_im2col",
        [("xp = F.pad(x, (pw, pw, ph, ph)).contiguous()\n    s_n, s_c, s_h, s_w = xp.stride()",
          "xp = F.pad(x.contiguous(), (pw, pw, ph, ph)).contiguous()\n"
          "    s_n, s_c, s_h, s_w = c_in * xp.shape[2] * xp.shape[3], xp.shape[2] * xp.shape[3], xp.shape[3], 1"),
         ("out = weight.reshape(groups, c_out // groups, c_group * kh * kw) @ cols",
          "out = weight.contiguous().view(groups, c_out // groups, c_group * kh * kw) @ cols")]),
    "conv_transpose2d: .contiguous().view, torch.zeros with the input's dtype and device": (
        "a2_conv_as_matmul", "conv_transpose2d",
        [("cols = wt @ x.reshape(n, groups, c_group, h * w)",
          "cols = wt @ x.contiguous().view(n, groups, c_group, h * w)"),
         ("full = x.new_zeros(n, groups * c_out_group, full_h, full_w)",
          "full = torch.zeros(n, groups * c_out_group, full_h, full_w, dtype=x.dtype, device=x.device)")]),
    "max pooling backward: torch.zeros with grad_out's dtype and device": (
        "a3_backprop", "MaxPool2dFunction",
        [('grad_cols = grad_out.new_zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"])',
          'grad_cols = torch.zeros(g["n"] * g["c"], g["kh"] * g["kw"], g["oh"] * g["ow"], '
          'dtype=grad_out.dtype, device=grad_out.device)')]),
    "average pooling: divisor in float64, the output cast back to the input's dtype": (
        "a3_backprop", "AvgPool2dFunction",
        [("return (end - start).to(x.dtype)", "return (end - start).double()"),
         ("out = cols.sum(dim=1, keepdim=True) / divisor",
          "out = (cols.sum(dim=1, keepdim=True) / divisor).to(x.dtype)")]),
    "conv backward: grad_out.contiguous().view": (
        "a3_backprop", "Conv2dFunction",
        [("grad_g = grad_out.reshape(n, groups, c_out // groups, -1)",
          "grad_g = grad_out.contiguous().view(n, groups, c_out // groups, -1)")]),
    "BasicBlock as torchvision writes it: in-place ReLU and += on its own tensors": (
        "a5_architectures", "basic_block",
        [("        out = F.relu(self.bn1(self.conv1(x)))\n        out = self.bn2(self.conv2(out))\n"
          "        shortcut = x if self.downsample is None else self.downsample(x)\n"
          "        return F.relu(out + shortcut)",
          "        out = self.bn1(self.conv1(x))\n        out.relu_()\n        out = self.bn2(self.conv2(out))\n"
          "        out += x if self.downsample is None else self.downsample(x)\n"
          "        return F.relu(out, inplace=True)")]),
    "SELayer: squeeze by reshape, weights expanded": (
        "a5_architectures", "se",
        [("weights = self.fc(x.mean(dim=(2, 3)))\n        return x * weights[:, :, None, None]",
          "n, c = x.shape[:2]\n        weights = self.fc(x.reshape(n, c, -1).mean(-1)).view(n, c, 1, 1)\n"
          "        return weights.expand_as(x) * x")]),
    "SELayer: squeeze by F.adaptive_avg_pool2d, scaling by torch.einsum": (
        "a5_architectures", "se",
        [("weights = self.fc(x.mean(dim=(2, 3)))\n        return x * weights[:, :, None, None]",
          "weights = self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))\n"
          "        return torch.einsum('nchw,nc->nchw', x, weights)")]),
    "SELayer: the squeeze as a sum divided by H * W, the excitation's modules named one by one": (
        "a5_architectures", "se",
        [("self.fc = nn.Sequential(nn.Linear(channel, hidden, bias=False), nn.ReLU(inplace=True),\n"
          "                                nn.Linear(hidden, channel, bias=False), nn.Sigmoid())",
          "layers = [nn.Linear(channel, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, channel, "
          "bias=False), nn.Sigmoid()]\n        self.fc = nn.Sequential(*layers)"),
         ("weights = self.fc(x.mean(dim=(2, 3)))\n        return x * weights[:, :, None, None]",
          "squeezed = x.sum(dim=[-1, -2]) / (x.shape[-1] * x.shape[-2])\n"
          "        return x * self.fc(squeezed).unsqueeze(-1).unsqueeze(-1)")]),
    "DepthwiseSeparableConv: keyword arguments, the forward in two steps": (
        "a5_architectures", "depthwise",
        [("self.depthwise = nn.Conv2d(nin, nin, kernel_size, padding=padding, groups=nin)",
          "self.depthwise = nn.Conv2d(in_channels=nin, out_channels=nin, kernel_size=(kernel_size, "
          "kernel_size), stride=1, padding=(padding, padding), groups=nin, bias=True)"),
         ("return self.pointwise(self.depthwise(x))",
          "per_channel = self.depthwise(x)\n        mixed = self.pointwise(per_channel)\n        return mixed")]),
    "BatchNorm2d: running statistics assigned from detached statistics": (
        "a6_norm_dropout", "batchnorm",
        [("            with torch.no_grad():\n                unbiased = x.var(dim=dims, correction=1)\n"
          "                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)\n"
          "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)",
          "            unbiased = x.detach().var(dim=dims, correction=1)\n"
          "            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean.detach()\n"
          "            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * unbiased")]),
    "Dropout2d: masks from Tensor.bernoulli_": (
        "a6_norm_dropout", "dropout",
        [("keep = torch.rand(x.shape[0], x.shape[1], 1, 1, device=x.device) >= self.p",
          "keep = x.new_empty(x.shape[0], x.shape[1], 1, 1).bernoulli_(1 - self.p)")]),
}


@pytest.mark.parametrize("name", sorted(RIGHT_OTHERWISE))
def test_right_otherwise_keeps_full_marks(name):
    assignment, grade_id, replace = RIGHT_OTHERWISE[name]
    ns = harness.solution_namespace(assignment, replace, grade_id)
    assert harness.failing_parts(assignment, ns, A_PARTS[assignment]) == set()
