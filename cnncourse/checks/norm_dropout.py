"""Checks for batch normalisation and channel dropout (assignment a6_norm_dropout).

The student writes two ``nn.Module`` classes:

- ``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True)`` with parameters
  ``weight`` and ``bias`` (``None`` when ``affine=False``) and buffers ``running_mean`` and
  ``running_var``, the names ``nn.BatchNorm2d`` uses;
- ``Dropout2d(p=0.5)``.

``check_batchnorm(cls, part)`` grades one part of ``BatchNorm2d`` against ``nn.BatchNorm2d``:

- ``"train"``: training-mode outputs (a golden hand-computed example, non-square shapes,
  batch 1, ``affine=False``, another ``eps``, float32) and the errors PyTorch raises;
- ``"running_stats"``: ``running_mean`` and the *unbiased* ``running_var`` after every one
  of several training steps, for several momenta, on inputs that require grad: the
  buffers must carry no autograd history (updated under ``torch.no_grad()`` or from
  detached statistics);
- ``"eval"``: evaluation-mode outputs from given running statistics, which must not change;
- ``"gradients"``: float64 ``torch.autograd.gradcheck`` with respect to the input, the
  weight and the bias, in both modes.

``check_dropout2d(cls, part)`` grades ``Dropout2d`` by its semantics, not against a
reference's random numbers:

- ``"masks"``: every channel of every sample is either all zero or the input times one
  common factor; masks differ between samples and channels, and between successive calls
  of one module (where a correct module repeats a mask with probability < 1e-9: a mask
  stored in the module, or a generator re-seeded in ``forward``, fails); identity in eval
  mode and for ``p = 0``; all zeros for ``p = 1``; ``ValueError`` for ``p`` outside [0, 1];
- ``"statistics"``: kept values are exactly ``x / (1 - p)``; under fixed seeds the fraction
  of dropped channels lies within a binomial bound (5 standard deviations) of ``p``, and the
  mean of the output within the same kind of bound of the mean of the input.

Tolerances: float64 outputs and statistics ``rtol=1e-7, atol=1e-9`` (``FLOAT64_TOL``);
float32 ``rtol=1e-5, atol=1e-6``; gradcheck ``eps=1e-6, atol=1e-5, rtol=1e-4``.
While a check runs, ``F.batch_norm``, ``nn.BatchNorm2d``, ``F.dropout2d``, ``nn.Dropout2d``
and their relatives raise an error if the student's code calls them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from cnncourse.checks.core import (
    ATEN_DROPOUT, ATEN_NORMALISATION, FLOAT64_TOL, CheckFailure, CheckReport, ForbiddenCall,
    forbid_calls, grader_module, quiet,
    random_tensor,
    report_failures, tensor_mismatch, one_thread,
)
from cnncourse.i18n import N_, _, ngettext

BN_PARTS = ("train", "running_stats", "eval", "gradients")
DROPOUT_PARTS = ("masks", "statistics")
FLOAT32_TOL = {"rtol": 1e-5, "atol": 1e-6}
GRADCHECK_TOL = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-4}

FORBIDDEN_BN = (
    "torch.nn.functional.batch_norm",
    "torch.batch_norm",
    "torch.native_batch_norm",
    "torch.nn.BatchNorm2d",
    "torch.nn.BatchNorm1d",
    "torch.nn.functional.instance_norm",
    ATEN_NORMALISATION,
)
FORBIDDEN_DROPOUT = (
    "torch.nn.functional.dropout2d",
    "torch.nn.functional.dropout",
    "torch.nn.functional.dropout1d",
    "torch.nn.functional.dropout3d",
    "torch.dropout",
    "torch.feature_dropout",
    "torch.nn.Dropout2d",
    "torch.nn.Dropout",
    ATEN_DROPOUT,
)
REASON_BN = N_("compute the batch statistics and the normalisation yourself.")
REASON_DROPOUT = N_("draw the channel masks yourself (torch.rand or torch.bernoulli).")
#: What a passing or failing line of each part says first.
WHAT = {"train": N_("BatchNorm2d, train"), "running_stats": N_("BatchNorm2d, running stats"),
        "eval": N_("BatchNorm2d, eval"), "gradients": N_("BatchNorm2d, gradients"),
        "masks": N_("Dropout2d, masks"), "statistics": N_("Dropout2d, statistics")}

BN_HINTS = {
    "train": N_("in training mode use the batch's mean and *biased* variance over (N, H, W) of "
             "each channel: y = (x - mean) / sqrt(var + eps) * weight + bias; raise ValueError "
             "when a channel has a single value or the input is not 4-D, RuntimeError when "
             "the number of channels is not num_features."),
    "running_stats": N_("after each training step: running = (1 - momentum) * running + "
                     "momentum * batch_statistic, and running_var uses the *unbiased* "
                     "variance (divide by n - 1, n = N*H*W); start from mean 0 and variance 1; "
                     "update the buffers without tracking gradients."),
    "eval": N_("in eval mode (self.training is False) normalise with running_mean and "
            "running_var and leave them unchanged."),
    "gradients": N_("let autograd differentiate through the batch mean and variance: do not "
                 "detach them or compute them from .data / .item()."),
}


def _tol(dtype):
    return FLOAT64_TOL if dtype == torch.float64 else FLOAT32_TOL


@dataclass
class BNCase:
    name: str
    shape: tuple
    num_features: int
    seed: int
    eps: float = 1e-5
    momentum: float = 0.1
    affine: bool = True
    random_affine: bool = True
    dtype: torch.dtype = torch.float64
    steps: int = 1
    inputs: list = field(default_factory=list)  # explicit inputs (golden cases)

    def describe(self) -> str:
        dt = str(self.dtype).replace("torch.", "")
        call = (f"BatchNorm2d({self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}, "
                f"affine={self.affine})")
        text = _("case '{name}': {call} on input {shape} {dtype}").format(
            name=_(self.name), call=call, shape=self.shape, dtype=dt)
        if self.steps > 1:
            text += ngettext(", {steps} inputs in turn", ", {steps} inputs in turn",
                             self.steps).format(steps=self.steps)
        return text

    def make_inputs(self) -> list[torch.Tensor]:
        if self.inputs:
            return [t.to(self.dtype) for t in self.inputs]
        xs = []
        for step in range(self.steps):
            x = random_tensor(self.shape, self.seed + step)
            # a per-channel offset and scale, so that running statistics move visibly
            if len(self.shape) == 4:
                c = self.shape[1]
                x = x * (1 + random_tensor((c,), self.seed + 50 + step).abs())[None, :, None, None]
                x = x + 2 * random_tensor((c,), self.seed + 70 + step)[None, :, None, None]
            xs.append(x.to(self.dtype))
        return xs


GOLDEN_X = torch.tensor([[[[1.0, 2.0]]], [[[3.0, 4.0]]]], dtype=torch.float64)  # (2, 1, 1, 2)


def golden_batchnorm():
    """The hand computation for GOLDEN_X (one channel, values 1, 2, 3, 4), eps 1e-5,
    momentum 0.1: mean 2.5, biased variance 1.25, unbiased variance 5/3."""
    out = (GOLDEN_X - 2.5) / math.sqrt(1.25 + 1e-5)
    running_mean = torch.tensor([0.9 * 0.0 + 0.1 * 2.5], dtype=torch.float64)
    running_var = torch.tensor([0.9 * 1.0 + 0.1 * (5.0 / 3.0)], dtype=torch.float64)
    return out, running_mean, running_var


def _bn_visible(part: str, seed: int) -> list[BNCase]:
    s = seed * 1000
    golden = BNCase(N_("golden: one channel with values 1, 2, 3, 4 (by hand)"), (2, 1, 1, 2), 1, 0,
                    random_affine=False, inputs=[GOLDEN_X])
    if part == "train":
        return [
            golden,
            BNCase(N_("3 channels, non-square, random affine"), (4, 3, 5, 6), 3, s + 10),
            BNCase(N_("affine=False, eps=1e-3"), (2, 5, 3, 4), 5, s + 20, eps=1e-3, affine=False),
            BNCase(N_("batch 1"), (1, 4, 3, 3), 4, s + 30),
            BNCase(N_("odd sizes, default weight and bias"), (3, 2, 1, 5), 2, s + 40, random_affine=False),
            BNCase(N_("float32"), (2, 3, 4, 2), 3, s + 50, dtype=torch.float32),
            BNCase(N_("error: one value per channel"), (1, 3, 1, 1), 3, s + 60),
            BNCase(N_("error: 3-D input"), (3, 4, 4), 3, s + 70),
            BNCase(N_("error: 4 channels, num_features=3"), (2, 4, 3, 3), 3, s + 80),
        ]
    if part == "running_stats":
        return [
            golden,
            BNCase(N_("momentum 0.1, 4 steps"), (4, 3, 5, 6), 3, s + 10, steps=4),
            BNCase(N_("momentum 0.5, batch 1, 3 steps"), (1, 2, 3, 4), 2, s + 20, momentum=0.5, steps=3),
            BNCase(N_("momentum 1.0: the last batch's statistics"), (2, 3, 2, 3), 3, s + 30, momentum=1.0,
                   steps=2),
            BNCase(N_("two values per channel (unbiased factor 2)"), (2, 4, 1, 1), 4, s + 40, steps=3,
                   affine=False),
        ]
    if part == "eval":
        return [
            BNCase(N_("eval, 3 channels"), (2, 3, 4, 5), 3, s + 10),
            BNCase(N_("eval, one value per channel is fine"), (1, 3, 1, 1), 3, s + 20),
            BNCase(N_("eval, affine=False, eps=0.1"), (3, 2, 2, 3), 2, s + 30, eps=0.1, affine=False),
            BNCase(N_("eval, float32"), (2, 4, 3, 3), 4, s + 40, dtype=torch.float32),
            BNCase(N_("3 training steps, then eval"), (2, 3, 3, 4), 3, s + 50, momentum=0.3, steps=4),
        ]
    if part == "gradients":
        return [
            BNCase(N_("gradients, 3 channels"), (2, 3, 2, 3), 3, s + 10),
            BNCase(N_("gradients, batch 1, affine=False"), (1, 2, 3, 2), 2, s + 20, affine=False),
            BNCase(N_("gradients, two values per channel"), (2, 2, 1, 1), 2, s + 30, eps=1e-3),
        ]
    raise ValueError(f"unknown part {part!r}; choose one of {BN_PARTS}")


def batchnorm_cases(part: str, family: str = "visible", seed: int = 0) -> list[BNCase]:
    if part not in BN_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {BN_PARTS}")
    if family == "visible":
        return _bn_visible(part, seed)
    if family == "hidden":
        return grader_module("norm_dropout").batchnorm_cases(part, seed)
    raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


# --- building the student's and the reference module ------------------------------------

def _reference_module(case: BNCase) -> nn.BatchNorm2d:
    ref = nn.BatchNorm2d(case.num_features, eps=case.eps, momentum=case.momentum,
                         affine=case.affine).to(case.dtype)
    if case.affine and case.random_affine:
        with torch.no_grad():
            ref.weight.copy_(random_tensor((case.num_features,), case.seed + 7))
            ref.bias.copy_(random_tensor((case.num_features,), case.seed + 8))
    return ref


def _student_module(cls, case: BNCase, ref: nn.BatchNorm2d) -> nn.Module:
    """The student's module with the reference's parameters; raises CheckFailure."""
    try:
        mod = cls(case.num_features, eps=case.eps, momentum=case.momentum, affine=case.affine)
    except ForbiddenCall:
        raise
    except Exception as exc:  # noqa: BLE001
        call = (f"BatchNorm2d({case.num_features}, eps={case.eps:g}, momentum="
                f"{case.momentum:g}, affine={case.affine})")
        raise CheckFailure(_("{call} raised {type}: {message}").format(
            call=call, type=type(exc).__name__, message=exc)) from None
    if not isinstance(mod, nn.Module):
        raise CheckFailure(_("BatchNorm2d must be an nn.Module subclass"))
    params = dict(mod.named_parameters())
    buffers = dict(mod.named_buffers())
    for name in ("running_mean", "running_var"):
        if name not in buffers:
            raise CheckFailure(f"{case.describe()}\n    " + _(
                "the module has no buffer '{name}': create it with self.register_buffer('{name}', "
                "...)").format(name=name))
    if case.affine:
        for name in ("weight", "bias"):
            if name not in params:
                raise CheckFailure(f"{case.describe()}\n    " + _(
                    "affine=True but the module has no parameter '{name}' (an nn.Parameter of "
                    "shape (num_features,))").format(name=name))
    elif params:
        raise CheckFailure(f"{case.describe()}\n    " + _(
            "affine=False but the module has parameters {names}; set weight and bias to "
            "None").format(names=sorted(params)))
    mod = mod.to(case.dtype)
    # the initial state of nn.BatchNorm2d
    init = {"running_mean": torch.zeros(case.num_features, dtype=case.dtype),
            "running_var": torch.ones(case.num_features, dtype=case.dtype)}
    if case.affine:
        init["weight"] = torch.ones(case.num_features, dtype=case.dtype)
        init["bias"] = torch.zeros(case.num_features, dtype=case.dtype)
    state = dict(mod.named_buffers()) | dict(mod.named_parameters())
    for name, expected in init.items():
        problem = tensor_mismatch(state[name].detach(), expected, **_tol(case.dtype))
        if problem is not None:
            raise CheckFailure(f"{case.describe()}\n    "
                               + _("initial {name}: {problem}").format(name=name, problem=problem)
                               + "\n" + _("hint: {hint}").format(hint=_(
                                   "nn.BatchNorm2d starts with weight 1, bias 0, running_mean 0 "
                                   "and running_var 1.")))
    if case.affine:
        with torch.no_grad():
            mod.weight.copy_(ref.weight)
            mod.bias.copy_(ref.bias)
    return mod


def _fail(what, family, failures, total, max_reported=3):
    report_failures(what, family, total, failures, max_reported)


def _call_exc(fn, *args):
    """Run the student's code; return (result, problem, the exception it raised or None)."""
    try:
        return fn(*args), None, None
    except ForbiddenCall as exc:
        return None, str(exc), exc
    except CheckFailure as exc:
        return None, str(exc), exc
    except Exception as exc:  # noqa: BLE001 - any error of the student's is reported
        return None, _("raised {type}: {message}").format(type=type(exc).__name__,
                                                          message=_first_line(exc)), exc


def _call(fn, *args):
    """Run the student's code; return (result, problem)."""
    return _call_exc(fn, *args)[:2]



def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


def _bn_expectations(case: BNCase, part: str):
    """What nn.BatchNorm2d does on this case (computed before anything is forbidden)."""
    ref = _reference_module(case)
    xs = case.make_inputs()
    if case.inputs and part in ("train", "running_stats"):  # the golden case, by hand
        out, mean, var = golden_batchnorm()
        return ref, xs, [out] if part == "train" else [(mean, var)]
    if part == "train":
        try:
            return ref, xs, [ref(xs[0])]
        except Exception as exc:  # noqa: BLE001 - PyTorch refuses: an error case
            return ref, xs, exc
    if part == "running_stats":
        stats = []
        with torch.no_grad():
            for x in xs:
                ref(x)
                stats.append((ref.running_mean.clone(), ref.running_var.clone()))
        return ref, xs, stats
    if part == "eval":
        if case.steps > 1:  # several training steps, then eval on the last input
            with torch.no_grad():
                for x in xs[:-1]:
                    ref(x)
        else:  # given running statistics
            mean = 2 * random_tensor((case.num_features,), case.seed + 20)
            var = 0.3 + random_tensor((case.num_features,), case.seed + 21) ** 2
            with torch.no_grad():
                ref.running_mean.copy_(mean)
                ref.running_var.copy_(var)
        ref.eval()
        return ref, xs, [ref(xs[-1]).detach()]
    return ref, xs, None


def _bn_one(cls, case: BNCase, part: str, ref, xs, expected) -> str | None:
    describe = case.describe()
    tol = _tol(case.dtype)
    try:
        mod = _student_module(cls, case, ref)
    except CheckFailure as exc:
        return str(exc) if str(exc).startswith(describe) else f"{describe}\n    {exc}"
    if part == "train":
        mod.train()
        actual, problem, raised = _call_exc(mod, xs[0].clone())
        if isinstance(expected, BaseException):
            if problem is None:
                got = tuple(actual.shape) if isinstance(actual, torch.Tensor) else repr(actual)
                return f"{describe}\n    " + _(
                    "returned {value} but nn.BatchNorm2d raises {type}: {message}").format(
                    value=got, type=type(expected).__name__, message=_first_line(expected))
            if not isinstance(raised, CheckFailure) and \
                    type(raised).__name__ == type(expected).__name__:
                return None
            return f"{describe}\n    " + _("{problem}; nn.BatchNorm2d raises {type}: "
                                            "{message}").format(
                problem=problem, type=type(expected).__name__, message=_first_line(expected))
        if problem is not None:
            return f"{describe}\n    {problem}"
        problem = tensor_mismatch(actual, expected[0], **tol)
        return None if problem is None else f"{describe}\n    " + _("output: {problem}").format(
            problem=problem)
    if part == "running_stats":
        mod.train()
        for step, (x, (mean, var)) in enumerate(zip(xs, expected), 1):
            # an input that requires grad: the running statistics must not carry its history
            actual, problem = _call(mod, x.clone().requires_grad_(True))
            if problem is not None:
                return f"{describe}\n    " + _("step {step}: {problem}").format(step=step,
                                                                                 problem=problem)
            buffers = dict(mod.named_buffers())
            for name, exp in (("running_mean", mean), ("running_var", var)):
                problem = tensor_mismatch(buffers[name], exp, **tol)
                if problem is not None:
                    return f"{describe}\n    " + _("{name} after step {step}: {problem}").format(
                        name=name, step=step, problem=problem)
                if buffers[name].requires_grad or buffers[name].grad_fn is not None:
                    return f"{describe}\n    " + _(
                        "{name} after step {step} (on an input that requires grad) carries "
                        "autograd history (requires_grad=True, grad_fn={grad_fn}); update it "
                        "under torch.no_grad() or from detached statistics").format(
                        name=name, step=step, grad_fn=type(buffers[name].grad_fn).__name__)
        return None
    if part == "eval":
        mod.train()
        for step, x in enumerate(xs[:-1], 1):  # training steps first, where the case has them
            problem = _call(mod, x.clone())[1]
            if problem is not None:
                return f"{describe}\n    " + _("training step {step}: {problem}").format(
                    step=step, problem=problem)
        # the reference's running statistics (graded in their own part) replace the student's
        with torch.no_grad():
            buffers = dict(mod.named_buffers())
            buffers["running_mean"].copy_(ref.running_mean)
            buffers["running_var"].copy_(ref.running_var)
        mod.eval()
        actual, problem = _call(mod, xs[-1].clone())
        if problem is not None:
            return f"{describe}\n    {problem}"
        problem = tensor_mismatch(actual, expected[0], **tol)
        if problem is not None:
            return f"{describe}\n    " + _("eval output: {problem}").format(problem=problem)
        buffers = dict(mod.named_buffers())
        for name in ("running_mean", "running_var"):
            problem = tensor_mismatch(buffers[name].detach(), getattr(ref, name), **tol)
            if problem is not None:
                return f"{describe}\n    " + _("{name} changed in eval mode: {problem}").format(
                    name=name, problem=problem)
        return None
    if part == "gradients":
        return _bn_gradcheck(mod, case, xs[0])
    raise ValueError(part)


def _bn_gradcheck(mod, case: BNCase, x) -> str | None:
    from torch.func import functional_call

    for mode in ("train", "eval"):
        mod.train(mode == "train")
        if mode == "eval":
            with torch.no_grad():
                buffers = dict(mod.named_buffers())
                buffers["running_mean"].copy_(random_tensor((case.num_features,), case.seed + 30))
                buffers["running_var"].copy_(0.5 + random_tensor((case.num_features,), case.seed + 31) ** 2)
        inputs = [x.detach().clone().requires_grad_(True)]
        if case.affine:
            inputs += [p.detach().clone().requires_grad_(True) for p in (mod.weight, mod.bias)]

        def f(*args):
            overrides = {"weight": args[1], "bias": args[2]} if case.affine else {}
            return functional_call(mod, overrides, (args[0],))

        try:
            ok = torch.autograd.gradcheck(f, tuple(inputs), raise_exception=True, **GRADCHECK_TOL)
        except ForbiddenCall as exc:
            return f"{case.describe()}\n    {exc}"
        except Exception as exc:  # noqa: BLE001 - GradcheckError, or the student's error
            text = (_("gradcheck in {mode} mode with respect to the input, weight and bias "
                      "failed: {type}: {summary}") if case.affine else
                    _("gradcheck in {mode} mode with respect to the input failed: {type}: "
                      "{summary}"))
            return f"{case.describe()}\n    " + text.format(
                mode=mode, type=type(exc).__name__, summary=_gradcheck_summary(exc, f, inputs))
        if not ok:
            return f"{case.describe()}\n    " + _("gradcheck in {mode} mode failed").format(
                mode=mode)
    return None


def _gradcheck_summary(exc, f, inputs) -> str:
    """The first line of a gradcheck error, named, and one directional derivative computed
    both ways (the full Jacobians gradcheck prints are too long to read)."""
    import re

    names = ("input", "weight", "bias")
    line = _first_line(exc).rstrip(",")
    line = re.sub(r"input (\d)", lambda m: names[int(m.group(1))], line)
    try:
        gen = torch.Generator().manual_seed(0)
        dirs = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in inputs]
        out = f(*inputs)
        proj = torch.randn(out.shape, generator=gen, dtype=out.dtype)
        grads = torch.autograd.grad((out * proj).sum(), inputs, allow_unused=True)
        analytic = sum(float((g * d).sum()) for g, d in zip(grads, dirs) if g is not None)
        eps = 1e-6
        with torch.no_grad():
            plus = f(*[t + eps * d for t, d in zip(inputs, dirs)])
            minus = f(*[t - eps * d for t, d in zip(inputs, dirs)])
        numeric = float(((plus - minus) * proj).sum()) / (2 * eps)
        return _("{line}; along a random direction autograd gives {analytic:.6g}, finite "
                 "differences {numeric:.6g}").format(line=line, analytic=analytic,
                                                      numeric=numeric)
    except Exception:  # noqa: BLE001 - the summary is a courtesy
        return line


def check_batchnorm(cls, part: str = "train", family: str = "visible", seed: int = 0) -> CheckReport:
    """Grade one part of the student's ``BatchNorm2d`` class against ``nn.BatchNorm2d``."""
    cases = batchnorm_cases(part, family, seed)
    what = _(WHAT[part])
    failures = []
    with quiet(), one_thread():
        expectations = [_bn_expectations(case, part) for case in cases]
        student_fns = [f for f in vars(cls).values() if callable(f)] if isinstance(cls, type) else []
        with forbid_calls(FORBIDDEN_BN, REASON_BN, student_fns):
            for case, (ref, xs, expected) in zip(cases, expectations):
                problem = _bn_one(cls, case, part, ref, xs, expected)
                if problem is not None:
                    failures.append((problem, BN_HINTS[part]))
    if failures:
        _fail(what, family, failures, len(cases))
    return CheckReport(what, family, len(cases))


# --- Dropout2d ---------------------------------------------------------------------------

@dataclass
class DropCase:
    name: str
    shape: tuple
    p: float
    seed: int
    dtype: torch.dtype = torch.float64
    mode: str = "train"           # "train", "eval", "gradcheck", or "construct" (an error case)
    golden: bool = False

    def describe(self) -> str:
        dt = str(self.dtype).replace("torch.", "")
        return _("case '{name}': {call} in {mode} mode on input {shape} {dtype}, "
                 "torch.manual_seed({seed})").format(name=_(self.name), call=f"Dropout2d(p={self.p:g})",
                                                     mode=self.mode, shape=self.shape, dtype=dt,
                                                     seed=self.seed)

    def make_input(self) -> torch.Tensor:
        if self.golden:  # the lecture's example: torch.arange(1, 17).reshape(1, 4, 2, 2)
            return torch.arange(1, 17, dtype=self.dtype).reshape(1, 4, 2, 2)
        x = random_tensor(self.shape, self.seed)
        x = torch.where(x.abs() < 1e-3, torch.full_like(x, 0.5), x)  # no zeros in the input
        return x.to(self.dtype)


DROP_HINTS = {
    "masks": N_("draw one keep/drop decision per (sample, channel), a mask of shape (N, C, 1, 1), "
             "and multiply: each channel is kept whole or zeroed whole; return the input "
             "unchanged in eval mode; raise ValueError for p outside [0, 1]."),
    "statistics": N_("drop a channel with probability p (keep it with probability 1 - p) and "
                  "scale the kept ones by 1 / (1 - p), so that the expected output equals the "
                  "input (inverted dropout); for p = 1 return zeros."),
}


def _drop_visible(part: str, seed: int) -> list[DropCase]:
    s = seed * 1000
    if part == "masks":
        return [
            DropCase(N_("lecture example (golden): arange(1, 17) as 1x4x2x2"), (1, 4, 2, 2), 0.5, s + 1,
                     golden=True),
            DropCase(N_("p=0.5, 16 samples x 16 channels"), (16, 16, 3, 2), 0.5, s + 10),
            DropCase(N_("p=0.3, batch 1, odd sizes"), (1, 7, 3, 5), 0.3, s + 20),
            DropCase(N_("p=0.5, float32"), (4, 6, 2, 3), 0.5, s + 30, dtype=torch.float32),
            DropCase(N_("eval mode is the identity"), (2, 3, 4, 4), 0.5, s + 40, mode="eval"),
            DropCase(N_("p=0 keeps everything"), (3, 4, 2, 2), 0.0, s + 50),
            DropCase(N_("gradients: float64 gradcheck under a fixed seed"), (2, 3, 2, 2), 0.5, s + 55,
                     mode="gradcheck"),
            DropCase(N_("p=1 drops everything"), (3, 4, 2, 2), 1.0, s + 60),
            DropCase(N_("error: p=-0.1"), (1, 1, 1, 1), -0.1, s + 70, mode="construct"),
            DropCase(N_("error: p=1.5"), (1, 1, 1, 1), 1.5, s + 80, mode="construct"),
        ]
    if part == "statistics":
        return [
            DropCase(N_("lecture example (golden): kept channels doubled"), (1, 4, 2, 2), 0.5, s + 1,
                     golden=True),
            DropCase(N_("p=0.5, 2048 channels"), (32, 64, 2, 2), 0.5, s + 10),
            DropCase(N_("p=0.2, 2048 channels"), (64, 32, 1, 3), 0.2, s + 20),
            DropCase(N_("p=0.8, 2048 channels, float32"), (16, 128, 2, 1), 0.8, s + 30, dtype=torch.float32),
        ]
    raise ValueError(f"unknown part {part!r}; choose one of {DROPOUT_PARTS}")


def dropout2d_cases(part: str, family: str = "visible", seed: int = 0) -> list[DropCase]:
    if part not in DROPOUT_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {DROPOUT_PARTS}")
    if family == "visible":
        return _drop_visible(part, seed)
    if family == "hidden":
        return grader_module("norm_dropout").dropout2d_cases(part, seed)
    raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


def _run_dropout(cls, case: DropCase):
    """(input, output, problem) of the student's module on one case, under a fixed seed."""
    x = case.make_input()
    try:
        mod = cls(p=case.p)
    except ForbiddenCall as exc:
        return x, None, str(exc)
    except Exception as exc:  # noqa: BLE001
        if case.mode == "construct":
            if isinstance(exc, ValueError):
                return x, None, None
            return x, None, _("{call} raised {type}; nn.Dropout2d raises ValueError").format(
                call=f"Dropout2d(p={case.p:g})", type=type(exc).__name__)
        return x, None, _("{call} raised {type}: {message}").format(
            call=f"Dropout2d(p={case.p:g})", type=type(exc).__name__, message=_first_line(exc))
    if case.mode == "construct":
        return x, None, _("{call} was created, but nn.Dropout2d raises ValueError").format(
            call=f"Dropout2d(p={case.p:g})")
    if not isinstance(mod, nn.Module):
        return x, None, _("Dropout2d must be an nn.Module subclass")
    mod.train(case.mode == "train")
    x_in = x.clone()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        out, problem = _call(mod, x_in)
    if problem is not None:
        return x, None, problem
    if not torch.equal(x_in, x):
        return x, None, _("the input was modified in place; return a new tensor")
    if type(out) is not torch.Tensor:
        return x, None, _("returned {type}, expected a torch.Tensor").format(
            type=type(out).__name__)
    problem = tensor_mismatch(out, torch.zeros_like(x), rtol=0.0, atol=math.inf)
    if problem is not None:  # dtype, device, shape or non-finite values
        return x, None, problem
    return x, out.detach(), None


def _channels(x: torch.Tensor, out: torch.Tensor):
    """Per (sample, channel): dropped (all zero) and the ratios out / x."""
    n, c = x.shape[:2]
    xs, os_ = x.reshape(n, c, -1).double(), out.reshape(n, c, -1).double()
    dropped = (os_ == 0).all(dim=2)
    return xs, os_, dropped


def _drop_masks_one(case: DropCase, x, out) -> str | None:
    tol = _tol(case.dtype)
    if case.mode == "eval" or case.p == 0:
        problem = tensor_mismatch(out, x, 0, 0)
        if problem is None:
            return None
        return (_("eval mode must return the input unchanged: {problem}") if case.mode == "eval"
                else _("p=0 must return the input unchanged: {problem}")).format(problem=problem)
    if case.p == 1:
        problem = tensor_mismatch(out, torch.zeros_like(x), 0, 0)
        return None if problem is None else _("p=1 must return zeros: {problem}").format(
            problem=problem)
    xs, os_, dropped = _channels(x, out)
    partial = ((os_ == 0).any(dim=2) & ~dropped).nonzero()
    if len(partial):
        n, c = (int(v) for v in partial[0])
        return ngettext("sample {n}, channel {c} is partly zero: Dropout2d must drop whole "
                        "channels ({count} such channels)",
                        "sample {n}, channel {c} is partly zero: Dropout2d must drop whole "
                        "channels ({count} such channels)", len(partial)).format(
            n=n, c=c, count=len(partial))
    kept = ~dropped
    if bool(kept.any()):
        ratios = (os_ / xs)[kept]                       # (kept channels, H*W)
        factor = ratios.flatten()[0]
        err = (ratios - factor).abs()
        allowed = tol["atol"] + tol["rtol"] * factor.abs()
        if bool((err > allowed).any()):
            k = int(torch.argmax(err.max(dim=1).values))
            n, c = (int(v) for v in kept.nonzero()[k])
            return _("sample {n}, channel {c} is not the input times the common factor "
                     "{factor:.6g} of the kept channels (largest deviation {deviation:.3g}): "
                     "kept channels must be x times one number").format(
                n=n, c=c, factor=float(factor), deviation=float(err.max()))
    # independence, tested only where a correct module fails with probability < 1e-9
    n, c, p = *dropped.shape, case.p
    same_columns = ((1 - p) ** n + p ** n) ** c   # every channel: one decision for all samples
    same_rows = ((1 - p) ** c + p ** c) ** n      # every sample: one decision for all channels
    if same_columns < 1e-9 and bool((dropped == dropped[:1]).all()):
        return _("every sample got the same channel mask: draw a mask per (sample, channel)")
    if same_rows < 1e-9 and bool((dropped == dropped[:, :1]).all()):
        return _("all channels of a sample are dropped or kept together: draw a mask per "
                 "channel")
    return None


#: Successive calls of one module in training mode must draw new masks; checked where a
#: correct module repeats its mask with probability below this.
REPEAT_PROBABILITY = 1e-9
CALLS = 3


def _drop_calls_problem(cls, case: DropCase) -> str | None:
    """Three calls of one module in training mode, one random stream (seeded once): no two
    successive calls may drop exactly the same channels, where a correct module does so
    with probability < REPEAT_PROBABILITY. None when the case is not such a case."""
    if case.mode != "train" or not 0 < case.p < 1:
        return None
    n, c = case.shape[:2]
    same = (case.p ** 2 + (1 - case.p) ** 2) ** (n * c)  # one pair of calls, same mask
    if (CALLS - 1) * same >= REPEAT_PROBABILITY:
        return None
    mod, problem = _call(cls, case.p)
    if problem is not None:
        return _("{call} {problem}").format(call=f"Dropout2d(p={case.p:g})", problem=problem)
    mod.train()
    x = case.make_input()
    masks = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        for call in range(1, CALLS + 1):
            out, problem = _call(mod, x.clone())
            if problem is not None:
                return _("call {call} of the same module: {problem}").format(call=call,
                                                                              problem=problem)
            if type(out) is not torch.Tensor or out.shape != x.shape:
                return _("call {call} of the same module returned {type}").format(
                    call=call, type=type(out).__name__)
            masks.append((out.detach().reshape(n, c, -1) == 0).all(dim=2))
    for call in range(1, CALLS):
        if torch.equal(masks[call - 1], masks[call]):
            return ngettext(
                "calls {call} and {next} of the same module in training mode (one random stream, "
                "seeded once) dropped exactly the same {dropped} of {total} channels (a correct "
                "module does that with probability {probability:.1g}): draw a new mask at every "
                "call, do not store it in the module or re-seed the generator in forward",
                "calls {call} and {next} of the same module in training mode (one random stream, "
                "seeded once) dropped exactly the same {dropped} of {total} channels (a correct "
                "module does that with probability {probability:.1g}): draw a new mask at every "
                "call, do not store it in the module or re-seed the generator in forward",
                n * c).format(call=call, next=call + 1, dropped=int(masks[call].sum()),
                              total=n * c, probability=same)
    return None


def _drop_stats_one(case: DropCase, x, out) -> str | None:
    tol = _tol(case.dtype)
    xs, os_ = _channels(x, out)[:2]
    nonzero = os_ != 0
    if bool(nonzero.any()):
        scale = 1.0 / (1.0 - case.p)
        err = torch.where(nonzero, (os_ / xs - scale).abs(), torch.zeros_like(xs))
        allowed = tol["atol"] + tol["rtol"] * scale
        if bool((err > allowed).any()):
            flat = int(torch.argmax(err))
            n, c, k = (int(v) for v in torch.unravel_index(torch.tensor(flat), err.shape))
            return _("kept values must be exactly x / (1 - p) = x * {scale:.6g}; sample {n}, "
                     "channel {c}, element {k} is x * {ratio:.6g}").format(
                scale=scale, n=n, c=c, k=k, ratio=float(os_[n, c, k] / xs[n, c, k]))
    if case.golden:
        return None
    # fraction of zeros: equals the fraction of dropped channels when whole channels drop
    m = x.shape[0] * x.shape[1]
    zero_fraction = float((out == 0).double().mean())
    sd = math.sqrt(case.p * (1 - case.p) / m)
    bound = 5 * sd + 1 / m
    if abs(zero_fraction - case.p) > bound:
        return ngettext("{fraction:.4f} of the values are dropped, expected p = {p:g} (allowed "
                        "+- {bound:.4f}, 5 binomial standard deviations over {m} channels)",
                        "{fraction:.4f} of the values are dropped, expected p = {p:g} (allowed "
                        "+- {bound:.4f}, 5 binomial standard deviations over {m} channels)",
                        m).format(fraction=zero_fraction, p=case.p, bound=bound, m=m)
    # the mean is preserved: E[out] = x when kept values are scaled by 1/(1-p)
    channel_means = xs.mean(dim=2)
    mean_in = float(channel_means.mean())
    mean_out = float(os_.mean())
    sd_mean = math.sqrt(case.p / (1 - case.p) * float((channel_means ** 2).mean()) / m)
    bound = 5 * sd_mean + 1e-9
    if abs(mean_out - mean_in) > bound:
        return _("the mean of the output is {mean_out:.5g}, the input's is {mean_in:.5g} "
                 "(allowed +- {bound:.3g}, 5 standard deviations): dropout must preserve the "
                 "mean in expectation").format(mean_out=mean_out, mean_in=mean_in, bound=bound)
    return None


def _drop_gradcheck(cls, case: DropCase) -> str | None:
    """gradcheck of x -> Dropout2d(p)(x) in training mode, re-seeded at every call so that
    the mask is the same each time (the function is then linear in x)."""
    try:
        mod = cls(p=case.p)
    except ForbiddenCall as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        return _("{call} raised {type}: {message}").format(
            call=f"Dropout2d(p={case.p:g})", type=type(exc).__name__, message=_first_line(exc))
    mod.train()
    x = case.make_input().double().requires_grad_(True)

    def f(t):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(case.seed)
            return mod(t)

    try:
        torch.autograd.gradcheck(f, (x,), raise_exception=True, **GRADCHECK_TOL)
    except ForbiddenCall as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - GradcheckError, or the student's error
        return _("gradcheck with respect to the input failed: {type}: {message}; multiply the "
                 "input by the mask without detaching it").format(type=type(exc).__name__,
                                                                  message=_first_line(exc))
    return None


def check_dropout2d(cls, part: str = "masks", family: str = "visible", seed: int = 0) -> CheckReport:
    """Grade one part of the student's ``Dropout2d`` class by its semantics and statistics."""
    cases = dropout2d_cases(part, family, seed)
    what = _(WHAT[part])
    failures = []
    student_fns = [f for f in vars(cls).values() if callable(f)] if isinstance(cls, type) else []
    with quiet(), one_thread(), forbid_calls(FORBIDDEN_DROPOUT, REASON_DROPOUT, student_fns):
        for case in cases:
            if part == "statistics" and not case.golden:
                case = _positive(case)
            if case.mode == "gradcheck":
                problem = _drop_gradcheck(cls, case)
                x = out = None
            else:
                x, out, problem = _run_dropout(cls, case)
            if problem is None and out is not None:
                check = _drop_masks_one if part == "masks" else _drop_stats_one
                problem = check(case, x, out)
            if problem is None and part == "masks":
                problem = _drop_calls_problem(cls, case)
            if problem is not None:
                failures.append((f"{case.describe()}\n    {problem}", DROP_HINTS[part]))
    if failures:
        _fail(what, family, failures, len(cases))
    return CheckReport(what, family, len(cases))


class _PositiveCase(DropCase):
    """Statistics cases use positive inputs near 1, so that the mean test has power."""

    def make_input(self) -> torch.Tensor:
        x = 1 + 0.25 * random_tensor(self.shape, self.seed)
        return x.clamp_min(0.05).to(self.dtype)


def _positive(case: DropCase) -> DropCase:
    return _PositiveCase(**{k: getattr(case, k) for k in DropCase.__dataclass_fields__})


__all__ = ["BN_PARTS", "DROPOUT_PARTS", "check_batchnorm", "check_dropout2d", "batchnorm_cases",
           "dropout2d_cases", "golden_batchnorm", "GOLDEN_X", "CheckFailure"]
