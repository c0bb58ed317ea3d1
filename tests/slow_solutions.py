"""Slow but correct solutions: what a student who writes plain loops hands in (issue #13, item 6).

Each variant replaces some functions or classes of an assignment's reference solution by a
plain-loop version (Python loops over the batch, the channels and the output pixels, window
arithmetic inside, no unfold/fold, no vectorised padding by indexing), in torch or in numpy.
``tools/benchmark_slow_solutions.py`` times every graded cell of the assignment with them
(visible and hidden cases, as the autograder runs them) against the sandbox's cell limit;
``tests/test_case_budget.py`` keeps the hidden cases within the sizes the benchmark
measured. Not part of the course package: these are test data.

``VARIANTS[name] = (assignment, code)``: ``code`` runs in the namespace of the reference
solution (its setup cell and solution cells, so ``as_pair`` or ``pool_geometry`` are there)
and redefines what it replaces.
"""

from __future__ import annotations

A1_CHECKS = '''
def _conv_checks(x, weight, stride, padding, dilation, groups):
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    if sh < 1 or sw < 1 or dh < 1 or dw < 1 or ph < 0 or pw < 0 or groups < 1:
        raise RuntimeError("bad stride, padding, dilation or groups")
    n_batch, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    if c_in != c_group * groups or c_out % groups != 0:
        raise RuntimeError("channels do not fit the weight and groups")
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError("Kernel size can't be greater than actual input size")
    return sh, sw, ph, pw, dh, dw, oh, ow
'''

# a1: the four loops of the formula, each output pixel a window times the kernel, summed;
# nothing hoisted out of the loops (the reference slices the group's channels once per o)
A1_TORCH = A1_CHECKS + '''
def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw, ph, pw, dh, dw, oh, ow = _conv_checks(x, weight, stride, padding, dilation, groups)
    n_batch, c_in, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    padded = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros(n_batch, c_out, oh, ow, dtype=x.dtype, device=x.device)
    for n in range(n_batch):
        for o in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    g = o // (c_out // groups)
                    window = padded[n, g * c_group:(g + 1) * c_group,
                                    i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                    j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    value = torch.sum(window * weight[o])
                    if bias is not None:
                        value = value + bias[o]
                    out[n, o, i, j] = value
    return out


def apply_kernel(image, kernel, padding_mode="zeros"):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding_mode {padding_mode!r}")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("the kernel's sides must be odd")
    x = image if image.ndim == 3 else image[None]
    c, h, w = x.shape
    ph, pw = kh // 2, kw // 2

    def source(i, n):
        if 0 <= i < n:
            return i
        if padding_mode == "zeros":
            return None
        if padding_mode == "reflect":
            return -i if i < 0 else 2 * (n - 1) - i
        if padding_mode == "replicate":
            return min(max(i, 0), n - 1)
        return i % n

    padded = torch.zeros(c, h + 2 * ph, w + 2 * pw, dtype=image.dtype, device=image.device)
    for r in range(h + 2 * ph):  # the padding, pixel by pixel
        for q in range(w + 2 * pw):
            si, sj = source(r - ph, h), source(q - pw, w)
            if si is not None and sj is not None:
                padded[:, r, q] = x[:, si, sj]
    out = conv2d_naive(padded[:, None], kernel[None, None].to(image.dtype))[:, 0]
    return out if image.ndim == 3 else out[0]
'''

# a1 in numpy: the same loops on arrays, converted back at the end
A1_NUMPY = A1_CHECKS + '''
import numpy as np


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    sh, sw, ph, pw, dh, dw, oh, ow = _conv_checks(x, weight, stride, padding, dilation, groups)
    xs, ws = x.detach().cpu().numpy(), weight.detach().cpu().numpy()
    bs = None if bias is None else bias.detach().cpu().numpy()
    n_batch, c_in, h, w = xs.shape
    c_out, c_group, kh, kw = ws.shape
    padded = np.zeros((n_batch, c_in, h + 2 * ph, w + 2 * pw), dtype=xs.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = xs
    out = np.zeros((n_batch, c_out, oh, ow), dtype=xs.dtype)
    for n in range(n_batch):
        for o in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    g = o // (c_out // groups)
                    window = padded[n, g * c_group:(g + 1) * c_group,
                                    i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                    j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[n, o, i, j] = np.sum(window * ws[o]) + (0 if bs is None else bs[o])
    return torch.from_numpy(out).to(x.device)


def apply_kernel(image, kernel, padding_mode="zeros"):
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding_mode {padding_mode!r}")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("the kernel's sides must be odd")
    img = image.detach().cpu().numpy()
    k = kernel.detach().cpu().numpy().astype(img.dtype)
    x = img if img.ndim == 3 else img[None]
    c, h, w = x.shape
    ph, pw = kh // 2, kw // 2

    def source(i, n):
        if 0 <= i < n:
            return i
        if padding_mode == "zeros":
            return None
        if padding_mode == "reflect":
            return -i if i < 0 else 2 * (n - 1) - i
        if padding_mode == "replicate":
            return min(max(i, 0), n - 1)
        return i % n

    padded = np.zeros((c, h + 2 * ph, w + 2 * pw), dtype=img.dtype)
    for r in range(h + 2 * ph):
        for q in range(w + 2 * pw):
            si, sj = source(r - ph, h), source(q - pw, w)
            if si is not None and sj is not None:
                padded[:, r, q] = x[:, si, sj]
    out = np.zeros_like(x)
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                out[ch, i, j] = np.sum(padded[ch, i:i + kh, j:j + kw] * k)
    out = torch.from_numpy(out).to(image.device)
    return out if image.ndim == 3 else out[0]
'''

# a3: pooling and the convolution's forward and backward, each a loop over (n, c, i, j)
A3_TORCH = '''
class MaxPool2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, ceil_mode=False):
        g = pool_geometry(x, kernel_size, kernel_size if stride is None else stride, padding, ceil_mode)
        xp = F.pad(x, g["pads"], value=-math.inf)
        out = x.new_zeros(g["n"], g["c"], g["oh"], g["ow"])
        where = []
        for n in range(g["n"]):
            for c in range(g["c"]):
                for i in range(g["oh"]):
                    for j in range(g["ow"]):
                        window = xp[n, c, i * g["sh"]:i * g["sh"] + g["kh"], j * g["sw"]:j * g["sw"] + g["kw"]]
                        k = int(torch.argmax(window))  # the first maximum in reading order
                        r, q = i * g["sh"] + k // g["kw"], j * g["sw"] + k % g["kw"]
                        out[n, c, i, j] = xp[n, c, r, q]
                        where.append((n, c, i, j, r, q))
        ctx.where, ctx.geometry = where, g
        return out

    @staticmethod
    def backward(ctx, grad_out):
        g = ctx.geometry
        grad = grad_out.new_zeros(g["n"], g["c"], g["hp"], g["wp"])
        for n, c, i, j, r, q in ctx.where:
            grad[n, c, r, q] += grad_out[n, c, i, j]
        return grad[:, :, g["ph"]:g["ph"] + g["h"], g["pw"]:g["pw"] + g["w"]], None, None, None, None


class AvgPool2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True):
        g = pool_geometry(x, kernel_size, kernel_size if stride is None else stride, padding, ceil_mode)
        xp = F.pad(x, g["pads"])
        out = x.new_zeros(g["n"], g["c"], g["oh"], g["ow"])
        divisors = {}
        for i in range(g["oh"]):
            for j in range(g["ow"]):
                h0, w0 = i * g["sh"] - g["ph"], j * g["sw"] - g["pw"]
                h1, w1 = min(h0 + g["kh"], g["h"] + g["ph"]), min(w0 + g["kw"], g["w"] + g["pw"])
                if not count_include_pad:
                    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, g["h"]), min(w1, g["w"])
                divisors[i, j] = (h1 - h0) * (w1 - w0)
        for n in range(g["n"]):
            for c in range(g["c"]):
                for i in range(g["oh"]):
                    for j in range(g["ow"]):
                        window = xp[n, c, i * g["sh"]:i * g["sh"] + g["kh"], j * g["sw"]:j * g["sw"] + g["kw"]]
                        out[n, c, i, j] = window.sum() / divisors[i, j]
        ctx.divisors, ctx.geometry = divisors, g
        return out

    @staticmethod
    def backward(ctx, grad_out):
        g = ctx.geometry
        grad = grad_out.new_zeros(g["n"], g["c"], g["hp"], g["wp"])
        for n in range(g["n"]):
            for c in range(g["c"]):
                for i in range(g["oh"]):
                    for j in range(g["ow"]):
                        grad[n, c, i * g["sh"]:i * g["sh"] + g["kh"], j * g["sw"]:j * g["sw"] + g["kw"]] += \\
                            grad_out[n, c, i, j] / ctx.divisors[i, j]
        return (grad[:, :, g["ph"]:g["ph"] + g["h"], g["pw"]:g["pw"] + g["w"]],
                None, None, None, None, None)


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
        if min(sh, sw) < 1 or min(dh, dw) < 1 or min(ph, pw) < 0 or groups < 1:
            raise RuntimeError("bad stride, padding, dilation or groups")
        n_batch, c_in, h, w = x.shape
        c_out, c_group, kh, kw = weight.shape
        if c_in != c_group * groups or c_out % groups != 0:
            raise RuntimeError("channels do not fit the weight and groups")
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            raise RuntimeError("Kernel size can't be greater than actual input size")
        xp = F.pad(x, (pw, pw, ph, ph))
        out = x.new_zeros(n_batch, c_out, oh, ow)
        per_group = c_out // groups
        for n in range(n_batch):
            for o in range(c_out):
                for i in range(oh):
                    for j in range(ow):
                        g = o // per_group
                        window = xp[n, g * c_group:(g + 1) * c_group,
                                    i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
                        out[n, o, i, j] = (window * weight[o]).sum() + (0 if bias is None else bias[o])
        ctx.save_for_backward(x, weight)
        ctx.args = (sh, sw, ph, pw, dh, dw, groups, bias is not None)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        sh, sw, ph, pw, dh, dw, groups, has_bias = ctx.args
        n_batch, c_in, h, w = x.shape
        c_out, c_group, kh, kw = weight.shape
        oh, ow = grad_out.shape[2:]
        xp = F.pad(x, (pw, pw, ph, ph))
        grad_xp = torch.zeros_like(xp)
        grad_w = torch.zeros_like(weight)
        per_group = c_out // groups
        for n in range(n_batch):
            for o in range(c_out):
                for i in range(oh):
                    for j in range(ow):
                        g = o // per_group
                        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                        chans = slice(g * c_group, (g + 1) * c_group)
                        grad_xp[n, chans, rows, cols] += grad_out[n, o, i, j] * weight[o]
                        grad_w[o] += grad_out[n, o, i, j] * xp[n, chans, rows, cols]
        grad_b = grad_out.sum(dim=(0, 2, 3)) if has_bias else None
        return grad_xp[:, :, ph:ph + h, pw:pw + w], grad_w, grad_b, None, None, None, None
'''

# a2: the convolution matrix entry by entry; the transposed convolution as loops over the
# input pixels, each spreading x[n, c, i, j] * weight[c] over its output window
A2_TORCH = '''
def conv_matrix(input_hw, weight):
    h, w = as_pair(input_hw)
    kh, kw = weight.shape
    oh, ow = h - kh + 1, w - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError("the kernel does not fit in the input")
    m = torch.zeros(oh * ow, h * w, dtype=weight.dtype, device=weight.device)
    for i in range(oh):
        for j in range(ow):
            for u in range(kh):
                for v in range(kw):
                    m[i * ow + j, (i + u) * w + (j + v)] = weight[u, v]
    return m


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1,
                     groups=1):
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    oph, opw = as_pair(output_padding)
    if min(sh, sw, dh, dw) < 1 or min(ph, pw, oph, opw) < 0 or groups < 1:
        raise RuntimeError("bad stride, padding, output_padding, dilation or groups")
    if not (oph < sh or oph < dh) or not (opw < sw or opw < dw):
        raise RuntimeError("output padding must be smaller than either stride or dilation")
    n_batch, c_in, h, w = x.shape
    c_in_w, c_out_group, kh, kw = weight.shape
    if c_in != c_in_w or c_in % groups != 0:
        raise RuntimeError("channels do not fit the weight and groups")
    c_group = c_in // groups
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    oh, ow = full_h - 2 * ph, full_w - 2 * pw
    if oh < 1 or ow < 1:
        raise RuntimeError("Output size is too small")
    full = torch.zeros(n_batch, groups * c_out_group, full_h, full_w, dtype=x.dtype, device=x.device)
    for n in range(n_batch):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    g = c // c_group
                    full[n, g * c_out_group:(g + 1) * c_out_group,
                         i * sh:i * sh + dh * (kh - 1) + 1:dh,
                         j * sw:j * sw + dw * (kw - 1) + 1:dw] += x[n, c, i, j] * weight[c]
    out = full[:, :, ph:ph + oh, pw:pw + ow]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out
'''

VARIANTS = {
    "a1, torch loops": ("a1_conv_forward", A1_TORCH),
    "a1, numpy loops": ("a1_conv_forward", A1_NUMPY),
    "a2, torch loops": ("a2_conv_as_matmul", A2_TORCH),
    "a3, torch loops": ("a3_backprop", A3_TORCH),
}


def namespace(name: str) -> dict:
    """The reference solution's namespace with the variant's definitions in place."""
    import cnncourse.nbgrader_course as harness

    assignment, code = VARIANTS[name]
    ns = harness.solution_namespace(assignment)
    exec(compile(code, f"<slow solution: {name}>", "exec"), ns)  # noqa: S102 - ours
    return ns


def _work(result, args) -> int:
    """Elements a call's loops produce: the output's (forward, plain function), the
    gradient's (backward: one iteration per element of grad_output)."""
    import torch

    value = args[1] if len(args) > 1 and isinstance(args[1], torch.Tensor) and \
        isinstance(result, tuple) else result
    return value.numel() if isinstance(value, torch.Tensor) else 0


def instrumented(ns: dict, names: list[str], calls: list) -> dict:
    """A copy of ``ns`` whose functions ``names`` (and the forward and backward of the
    autograd Functions among them, in place) append ``(seconds, name, elements)`` to
    ``calls`` for every call: its duration and the elements its loops produce."""
    import time

    import torch

    def wrap(f, label):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = None
            try:
                result = f(*args, **kwargs)
                return result
            finally:
                calls.append((time.perf_counter() - start, label, _work(result, args)))
        wrapper.__name__ = wrapper.__qualname__ = getattr(f, "__name__", label)
        wrapper.__wrapped__ = f
        return wrapper

    out = dict(ns)
    for name in names:
        obj = ns[name]
        if isinstance(obj, type) and issubclass(obj, torch.autograd.Function):
            for meth in ("forward", "backward"):
                setattr(obj, meth, staticmethod(wrap(getattr(obj, meth), f"{name}.{meth}")))
        else:
            out[name] = wrap(obj, name)
    return out
