"""Checks for the lecture's architectures and blocks (assignment a5_architectures).

``check_architecture(obj, part)`` builds the student's module (``obj`` is a class, or for
``"vgg"`` the function ``make_vgg_layers``) and a reference module with the same arguments,
then checks, case by case:

1. it is an ``nn.Module`` written by the student (not a subclass of the reference);
2. its number of parameters (a published number where the lecture gives one: LeNet-5's
   61,706, VGG-11's convolutional part 9,220,480, 9,225,984 with batch norm);
3. its ``state_dict`` has the reference's keys and shapes (torchvision's names where
   torchvision has the block);
4. after loading the reference's (random, seeded) weights and batch-norm statistics, its
   outputs equal the reference's on float64 inputs, in eval mode and in training mode, and
   ``forward`` leaves its input unchanged (no in-place operation on it: its values and its
   version counter are checked);
5. backward, in training mode: for the same random ``grad_output``, the gradients of the
   input and of every parameter equal the reference's (float64; to keep grading fast, on
   the first case of each family whose module has at most :data:`BACKWARD_MAX_PARAMS`
   parameters: VGG-11's full configuration is checked forward only);
6. inputs with the wrong number of channels raise ``RuntimeError``, as the reference does.

References, by part: ``"lenet"`` and ``"inception"``, ``"se"``, ``"depthwise"`` — the
course's modules in ``cnncourse.architectures``; ``"vgg"`` — ``torchvision.models.vgg.make_layers``
(what ``vgg11().features`` is); ``"basic_block"`` — blocks of a random-initialised
torchvision ``resnet18`` and torchvision's ``BasicBlock``; ``"bottleneck"`` — blocks of a
random-initialised ``resnet50`` and torchvision's ``Bottleneck``.

Tolerance: float64 ``rtol=1e-7, atol=1e-9`` (``FLOAT64_TOL``). While a check runs, the
reference classes and functions raise an error if the student's code calls them.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from cnncourse.checks.core import (
    FLOAT64_TOL, CheckFailure, CheckReport, ForbiddenCall, forbid_calls, grader_module, quiet,
    random_tensor,
    tensor_mismatch, one_thread,
)
from cnncourse.model_stats import count_params

PARTS = ("lenet", "vgg", "inception", "basic_block", "bottleneck", "se", "depthwise")

FORBIDDEN = (
    "torchvision.models.vgg.make_layers",
    "torchvision.models.resnet.BasicBlock",
    "torchvision.models.resnet.Bottleneck",
    "torchvision.ops.SqueezeExcitation",
    "cnncourse.architectures.lenet.LeNet5",
    "cnncourse.architectures.vgg.make_layers",
    "cnncourse.architectures.inception.InceptionBlock",
    "cnncourse.architectures.resnet.BasicBlock",
    "cnncourse.architectures.resnet.Bottleneck",
    "cnncourse.architectures.resnet.downsample_shortcut",
    "cnncourse.architectures.senet.SELayer",
    "cnncourse.architectures.mobilenet.DepthwiseSeparableConv",
)
REASON = "build the module yourself from nn.Conv2d, nn.BatchNorm2d, nn.Linear, ..."

HINTS = {
    "lenet": "feature_extractor = Sequential(Conv(1, 6, 5), Tanh, AvgPool(2), Conv(6, 16, 5), Tanh, "
             "AvgPool(2), Conv(16, 120, 5), Tanh); classifier = Sequential(Linear(120, 84), Tanh, "
             "Linear(84, n_classes)); forward returns (logits, softmax(logits, dim=1)).",
    "vgg": "for a number v: Conv2d(in, v, 3, padding=1) [+ BatchNorm2d(v)] + ReLU(inplace=True); "
           "for 'M': MaxPool2d(2, 2); start with 3 input channels; one flat nn.Sequential.",
    "inception": "branches: relu(conv1(x)); relu(conv3_3(relu(conv3_1(x)))); "
                 "relu(conv5_5(relu(conv5_1(x)))); relu(conv_max_1(max_pool_1(x))) with "
                 "MaxPool2d(k, stride=1, padding=k // 2); 3x3 and 5x5 convs are padded to keep "
                 "H and W; concatenate along channels in this order.",
    "basic_block": "out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); conv1 is 3x3 with "
                   "the stride, both convs have padding 1 and no bias; the shortcut is "
                   "downsample = Sequential(Conv2d(inplanes, planes, 1, stride, bias=False), "
                   "BatchNorm2d(planes)) when stride != 1 or inplanes != planes, else x.",
    "bottleneck": "1x1 (inplanes -> planes), 3x3 with the stride (planes -> planes), 1x1 "
                  "(planes -> 4 * planes), each conv without bias and followed by BN, ReLU after "
                  "the first two and after the addition; downsample = Sequential(Conv2d(inplanes, "
                  "4 * planes, 1, stride, bias=False), BatchNorm2d(4 * planes)) when stride != 1 "
                  "or inplanes != 4 * planes.",
    "se": "squeeze: mean over H and W -> (N, C); excitation: fc = Sequential(Linear(C, C // r, "
          "bias=False), ReLU, Linear(C // r, C, bias=False), Sigmoid); scale: x * s[:, :, None, None].",
    "depthwise": "depthwise = Conv2d(nin, nin, kernel_size, padding=padding, groups=nin); "
                 "pointwise = Conv2d(nin, nout, 1); forward = pointwise(depthwise(x)).",
}

#: Backward is checked on one case per family (check call), the first whose module has at
#: most this many parameters (VGG-11's 9.2 million: forward only).
BACKWARD_MAX_PARAMS = 2_000_000
BACKWARD_CASES = 1

#: Published parameter counts that the checks also assert (golden values).
LENET5_PARAMS = 61_706
VGG11_FEATURES_PARAMS = 9_220_480
VGG11_BN_FEATURES_PARAMS = 9_225_984


@dataclass
class ArchCase:
    name: str
    args: tuple
    kwargs: dict
    build_ref: Callable[[], nn.Module]
    input_shape: tuple
    seed: int
    golden_params: int | None = None
    bad_input: tuple | None = None  # an input shape the reference refuses

    def call_text(self, obj_name: str) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{obj_name}({', '.join(parts)})"


# --- references --------------------------------------------------------------------------

@functools.lru_cache(maxsize=2)
def _torchvision_resnet(name: str):
    import torchvision
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return getattr(torchvision.models, name)(weights=None)


def _resnet_block(name: str, layer: str, index: int):
    def build():
        return copy.deepcopy(getattr(_torchvision_resnet(name), layer)[index])
    return build


def _tv_block(kind: str, inplanes: int, planes: int, stride: int):
    from torchvision.models import resnet as tvr

    block = tvr.BasicBlock if kind == "basic" else tvr.Bottleneck

    def build():
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = nn.Sequential(tvr.conv1x1(inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        return block(inplanes, planes, stride, downsample)
    return build


def _vgg(cfg, batch_norm):
    def build():
        from torchvision.models.vgg import make_layers
        return make_layers(list(cfg), batch_norm)
    return build


def _course(module: str, cls: str, *args, **kwargs):
    def build():
        import importlib
        return getattr(importlib.import_module(f"cnncourse.architectures.{module}"), cls)(*args, **kwargs)
    return build


def _randomise(module: nn.Module, seed: int) -> None:
    """Seeded non-trivial batch-norm parameters and statistics (weights keep their init)."""
    with torch.no_grad():
        for i, m in enumerate(module.modules()):
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                s = seed + 10 * i
                if m.affine:
                    m.weight.copy_(1 + 0.3 * random_tensor((c,), s))
                    m.bias.copy_(0.2 * random_tensor((c,), s + 1))
                m.running_mean.copy_(0.2 * random_tensor((c,), s + 2))
                m.running_var.copy_(0.5 + random_tensor((c,), s + 3) ** 2)


# --- cases -------------------------------------------------------------------------------

def _visible(part: str, seed: int) -> list[ArchCase]:
    s = seed * 1000
    from cnncourse.architectures.inception import INCEPTION_V1_SLIDES as SL
    from torchvision.models.vgg import cfgs
    if part == "lenet":
        return [
            ArchCase("LeNet-5, 10 classes (61,706 parameters)", (10,), {},
                     _course("lenet", "LeNet5", 10), (2, 1, 32, 32), s + 10, LENET5_PARAMS,
                     bad_input=(1, 3, 32, 32)),
            ArchCase("LeNet-5, 3 classes, batch 1", (3,), {}, _course("lenet", "LeNet5", 3),
                     (1, 1, 32, 32), s + 20),
        ]
    if part == "vgg":
        return [
            ArchCase("VGG-11 features (cfg 'A')", (cfgs["A"],), {"batch_norm": False},
                     _vgg(cfgs["A"], False), (1, 3, 32, 32), s + 10, VGG11_FEATURES_PARAMS,
                     bad_input=(1, 1, 32, 32)),
            ArchCase("VGG-11 features with batch norm", (cfgs["A"],), {"batch_norm": True},
                     _vgg(cfgs["A"], True), (2, 3, 32, 32), s + 20, VGG11_BN_FEATURES_PARAMS),
            ArchCase("small cfg, non-square input", ([8, "M", 16, 16, "M"],), {"batch_norm": True},
                     _vgg([8, "M", 16, 16, "M"], True), (2, 3, 9, 12), s + 30),
        ]
    if part == "inception":
        return [
            ArchCase("the slide's block 3a (192 -> 256 channels)", (192, SL["3a"]), {},
                     _course("inception", "InceptionBlock", 192, SL["3a"]), (1, 192, 7, 7), s + 10,
                     bad_input=(1, 190, 7, 7)),
            ArchCase("a small block, non-square odd input", (5, [[3], [2, 4], [2, 3], [3, 2]]), {},
                     _course("inception", "InceptionBlock", 5, [[3], [2, 4], [2, 3], [3, 2]]),
                     (2, 5, 7, 6), s + 20),
        ]
    if part == "basic_block":
        return [
            ArchCase("resnet18.layer1[0]: 64 -> 64, identity shortcut", (64, 64), {"stride": 1},
                     _resnet_block("resnet18", "layer1", 0), (2, 64, 8, 8), s + 10,
                     bad_input=(1, 32, 8, 8)),
            ArchCase("resnet18.layer2[0]: 64 -> 128, stride 2, projection shortcut", (64, 128),
                     {"stride": 2}, _resnet_block("resnet18", "layer2", 0), (1, 64, 9, 7), s + 20),
            ArchCase("width change without stride: 8 -> 16", (8, 16), {"stride": 1},
                     _tv_block("basic", 8, 16, 1), (2, 8, 5, 6), s + 30),
        ]
    if part == "bottleneck":
        return [
            ArchCase("resnet50.layer1[0]: 64 -> 256, projection shortcut", (64, 64), {"stride": 1},
                     _resnet_block("resnet50", "layer1", 0), (1, 64, 6, 6), s + 10,
                     bad_input=(1, 32, 6, 6)),
            ArchCase("resnet50.layer1[1]: 256 -> 256, identity shortcut", (256, 64), {"stride": 1},
                     _resnet_block("resnet50", "layer1", 1), (2, 256, 4, 5), s + 20),
            ArchCase("resnet50.layer2[0]: 256 -> 512, stride 2", (256, 128), {"stride": 2},
                     _resnet_block("resnet50", "layer2", 0), (1, 256, 7, 6), s + 30),
        ]
    if part == "se":
        return [
            ArchCase("SELayer(64), reduction 16 (512 parameters)", (64,), {"reduction": 16},
                     _course("senet", "SELayer", 64, 16), (2, 64, 5, 4), s + 10, 512,
                     bad_input=(2, 32, 5, 4)),
            ArchCase("SELayer(12, reduction=4), batch 1, odd sizes", (12,), {"reduction": 4},
                     _course("senet", "SELayer", 12, 4), (1, 12, 3, 7), s + 20),
        ]
    if part == "depthwise":
        return [
            ArchCase("the lecture's 3 -> 16 (75 weights + 19 biases)", (3, 16), {},
                     _course("mobilenet", "DepthwiseSeparableConv", 3, 16), (2, 3, 8, 8), s + 10, 94,
                     bad_input=(1, 4, 8, 8)),
            ArchCase("5 -> 7, kernel 5, padding 2, non-square", (5, 7), {"kernel_size": 5, "padding": 2},
                     _course("mobilenet", "DepthwiseSeparableConv", 5, 7, 5, 2), (1, 5, 6, 9), s + 20),
            ArchCase("4 -> 2, kernel 3, padding 0", (4, 2), {"kernel_size": 3, "padding": 0},
                     _course("mobilenet", "DepthwiseSeparableConv", 4, 2, 3, 0), (2, 4, 5, 7), s + 30),
        ]
    raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")


def architecture_cases(part: str, family: str = "visible", seed: int = 0) -> list[ArchCase]:
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")
    if family == "visible":
        return _visible(part, seed)
    if family == "hidden":
        return grader_module("architectures").architecture_cases(part, seed)
    raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")


# --- running a case ----------------------------------------------------------------------

@dataclass
class _Expected:
    state: dict
    params: int
    x: torch.Tensor
    outputs: dict = field(default_factory=dict)  # mode -> output
    bad_error: BaseException | None = None
    grads: dict | None = None  # "input" and parameter names -> gradient (None: not checked)


def _grad_outputs(out, seed: int) -> list:
    """The random ``grad_output`` of each output (a tensor, or LeNet-5's (logits, probs))."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [random_tensor(tuple(o.shape), seed + i).to(o.dtype) for i, o in enumerate(outs)]


def _backward(mod: nn.Module, x: torch.Tensor, names: list[str], seed: int) -> dict:
    """{"input": grad, name: grad} after ``forward`` on ``x`` (which requires grad) and a
    backward pass with the case's random grad_output; None where nothing flows."""
    params = dict(mod.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise CheckFailure(f"{missing[:3]} are not parameters (nn.Parameter) of the module")
    out = mod(x)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    grads = torch.autograd.grad(outs, [x] + [params[n] for n in names], _grad_outputs(out, seed),
                                allow_unused=True)
    return dict(zip(["input"] + names, grads))


def _expectation(case: ArchCase, backward_left: list | None = None) -> _Expected:
    """What the reference does on ``case``; its gradients too while ``backward_left[0]``
    (decremented) is positive and the module is small enough."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        ref = case.build_ref()
    _randomise(ref, case.seed)
    ref = ref.double()
    exp = _Expected(copy.deepcopy(ref.state_dict()), count_params(ref),
                    random_tensor(case.input_shape, case.seed + 5))
    if case.golden_params is not None and exp.params != case.golden_params:
        raise AssertionError(f"reference of {case.name} has {exp.params} parameters, "
                             f"not the published {case.golden_params}")
    with torch.no_grad():
        for mode in ("eval", "train"):
            ref.load_state_dict(exp.state)
            ref.train(mode == "train")
            out = ref(exp.x.clone())
            exp.outputs[mode] = tuple(o.detach().clone() for o in out) if isinstance(out, tuple) \
                else out.detach().clone()
    if backward_left is not None and backward_left[0] > 0 and exp.params <= BACKWARD_MAX_PARAMS:
        backward_left[0] -= 1
        ref.load_state_dict(exp.state)
        ref.train()
        names = [n for n, _ in ref.named_parameters()]
        exp.grads = _backward(ref, exp.x.clone().requires_grad_(True), names, case.seed + 7)
    with torch.no_grad():
        if case.bad_input is not None:
            try:
                ref(random_tensor(case.bad_input, case.seed + 6))
            except Exception as e:  # noqa: BLE001
                exp.bad_error = e
            else:
                raise AssertionError(f"the reference accepts {case.bad_input}")
    return exp


def _reference_classes() -> tuple:
    import torchvision
    from cnncourse.architectures import inception, lenet, mobilenet, resnet, senet
    return (torchvision.models.resnet.BasicBlock, torchvision.models.resnet.Bottleneck,
            torchvision.ops.SqueezeExcitation, lenet.LeNet5, inception.InceptionBlock,
            resnet.BasicBlock, resnet.Bottleneck, senet.SELayer, mobilenet.DepthwiseSeparableConv)


def _state_problem(actual: dict, expected: dict) -> str | None:
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    if missing or extra:
        text = []
        if missing:
            text.append(f"missing keys {missing[:6]}" + (" ..." if len(missing) > 6 else ""))
        if extra:
            text.append(f"unexpected keys {extra[:6]}" + (" ..." if len(extra) > 6 else ""))
        return "state_dict keys differ from the reference's: " + "; ".join(text)
    for k, v in expected.items():
        if tuple(actual[k].shape) != tuple(v.shape):
            return f"state_dict['{k}'] has shape {tuple(actual[k].shape)}, expected {tuple(v.shape)}"
    return None


def _run_case(obj, obj_name: str, case: ArchCase, exp: _Expected, ref_classes: tuple) -> str | None:
    call = case.call_text(obj_name)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(case.seed)
            mod = obj(*copy.deepcopy(case.args), **case.kwargs)
    except ForbiddenCall as exc:
        return f"{call}: {exc}"
    except Exception as exc:  # noqa: BLE001
        return f"{call} raised {type(exc).__name__}: {_first_line(exc)}"
    if not isinstance(mod, nn.Module):
        return f"{call} returned {type(mod).__name__}, expected an nn.Module"
    if isinstance(mod, ref_classes):
        return f"{call} is a subclass of a reference module; write the module yourself"
    n = count_params(mod)
    if n != exp.params:
        return f"{call} has {n:,} parameters, expected {exp.params:,}"
    problem = _state_problem(mod.state_dict(), exp.state)
    if problem is not None:
        return f"{call}: {problem}"
    mod = mod.double()
    for mode in ("eval", "train"):
        try:
            mod.load_state_dict(exp.state)
        except Exception as exc:  # noqa: BLE001
            return f"{call}: load_state_dict raised {type(exc).__name__}: {_first_line(exc)}"
        mod.train(mode == "train")
        x = exp.x.clone()
        version = x._version
        try:
            with torch.no_grad():
                out = mod(x)
        except ForbiddenCall as exc:
            return f"{call}: {exc}"
        except Exception as exc:  # noqa: BLE001
            return (f"{call} on input {tuple(exp.x.shape)} in {mode} mode raised "
                    f"{type(exc).__name__}: {_first_line(exc)}")
        if x._version != version or not torch.equal(x, exp.x):
            changed = "" if torch.equal(x, exp.x) else (
                f"; largest change {float((x - exp.x).abs().max()):.3g}")
            return (f"{call} on input {tuple(exp.x.shape)} float64, {mode} mode: forward modified "
                    f"its input in place{changed}; leave the input as it is (x * s, out + "
                    f"shortcut, not x.mul_(s), x += ...)")
        expected = exp.outputs[mode]
        if isinstance(expected, tuple):
            if not isinstance(out, (tuple, list)) or len(out) != len(expected):
                return (f"{call} on input {tuple(exp.x.shape)} returned {type(out).__name__}, "
                        f"expected a tuple of {len(expected)} tensors (logits, probs)")
            pairs = list(zip(("logits", "probs"), out, expected))
        else:
            pairs = [("output", out, expected)]
        for label, a, e in pairs:
            problem = tensor_mismatch(a, e, **FLOAT64_TOL)
            if problem is not None:
                return (f"{call} with the reference's weights, input {tuple(exp.x.shape)} float64, "
                        f"{mode} mode, {label}: {problem}")
    if exp.grads is not None:
        problem = _backward_problem(mod, case, exp)
        if problem is not None:
            return f"{call} with the reference's weights, input {tuple(exp.x.shape)} float64, {problem}"
    if exp.bad_error is not None:
        mod.eval()
        try:
            with torch.no_grad():
                mod(random_tensor(case.bad_input, case.seed + 6))
        except ForbiddenCall as exc:
            return f"{call}: {exc}"
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, type(exp.bad_error)):
                return (f"{call} on input {case.bad_input} raised {type(exc).__name__}; the "
                        f"reference raises {type(exp.bad_error).__name__}")
        else:
            return (f"{call} accepted an input of shape {case.bad_input}, but the reference raises "
                    f"{type(exp.bad_error).__name__}: {_first_line(exp.bad_error)}")
    return None



def _backward_problem(mod: nn.Module, case: ArchCase, exp: _Expected) -> str | None:
    """Why the gradients of the student's module (training mode, the reference's weights)
    differ from the reference's, or None."""
    mod.load_state_dict(exp.state)
    mod.train()
    names = [n for n in exp.grads if n != "input"]
    try:
        grads = _backward(mod, exp.x.clone().requires_grad_(True), names, case.seed + 7)
    except ForbiddenCall as exc:
        return f"backward: {exc}"
    except Exception as exc:  # noqa: BLE001
        return (f"training mode, forward and backward with an input that requires grad raised "
                f"{type(exc).__name__}: {_first_line(exc)}")
    def what(name):
        return "the input" if name == "input" else f"parameter '{name}'"

    for name, expected in exp.grads.items():  # first what gets no gradient at all
        got = grads[name]
        if got is None and expected is not None:
            return (f"training mode, backward: no gradient reaches {what(name)} (computed under "
                    f"torch.no_grad(), detached, or not used?); the reference's has norm "
                    f"{float(expected.norm()):.6g}")
        if got is not None and expected is None:
            return f"training mode, backward: {what(name)} gets a gradient, the reference's gets none"
    for name, expected in exp.grads.items():
        got = grads[name]
        if got is not None:
            problem = tensor_mismatch(got, expected, **FLOAT64_TOL)
            if problem is not None:
                return f"training mode, backward, gradient of {what(name)}: {problem}"
    return None


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


def check_architecture(obj, part: str, family: str = "visible", seed: int = 0) -> CheckReport:
    """Grade the student's module class (or ``make_vgg_layers``) for one part."""
    cases = architecture_cases(part, family, seed)
    obj_name = getattr(obj, "__name__", part)
    what = f"{obj_name} ({part.replace('_', ' ')})"
    failures = []
    with quiet(), one_thread():
        backward_left = [BACKWARD_CASES]
        expectations = [_expectation(case, backward_left) for case in cases]
        ref_classes = _reference_classes()
        if isinstance(obj, type):
            student_fns = [f for f in vars(obj).values() if callable(f)]
        else:
            student_fns = [obj]
        with forbid_calls(FORBIDDEN, REASON, student_fns):
            for case, exp in zip(cases, expectations):
                problem = _run_case(obj, obj_name, case, exp, ref_classes)
                if problem is not None:
                    failures.append(f"case '{case.name}': {problem}")
    if failures:
        shown = "\n".join(failures[:3])
        more = len(failures) - 3
        raise CheckFailure(f"{what}: {len(failures)} of {len(cases)} {family} cases failed.\n{shown}"
                           + (f"\n({more} more failing cases not shown)" if more > 0 else "")
                           + f"\nhint: {HINTS[part]}")
    return CheckReport(what, family, len(cases))


__all__ = ["PARTS", "check_architecture", "architecture_cases", "CheckFailure",
           "LENET5_PARAMS", "VGG11_FEATURES_PARAMS", "VGG11_BN_FEATURES_PARAMS"]
