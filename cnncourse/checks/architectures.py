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

Parts of a block (:data:`BLOCK_PARTS`), graded on what the student builds rather than on
the whole module: ``"se_squeeze"`` (what ``self.fc`` receives is the per-image, per-channel
mean over H and W, and its gradient), ``"se_excitation"`` (``self.fc`` given the reference's
squeeze returns the reference's weights, in (0, 1), with the reference's gradients),
``"se_scale"`` (with ``self.fc`` returning the reference's weights ``s``, the output is
``x * s[:, :, None, None]``, the input is left unchanged, the gradients of ``x`` and ``s`` are
the reference's); ``"depthwise_conv"`` (``self.depthwise`` is a Conv2d with ``groups =
in = out = nin``; its output on ``x`` and its gradients are the reference's) and
``"pointwise_conv"`` (``self.pointwise`` is 1x1, ``nin -> nout``; with ``self.depthwise``
returning the reference's output, the block returns the reference's pointwise convolution of
it, with its gradients). Hooks on the submodules see the intermediate tensors and feed each
part the reference's result of the part before, so a mistake costs its own part only; each
message starts with the part's name ("SE squeeze: ...").

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
    random_tensor, report_failures,
    tensor_mismatch, one_thread,
)
from cnncourse.i18n import N_, _, ngettext
from cnncourse.model_stats import count_params

PARTS = ("lenet", "vgg", "inception", "basic_block", "bottleneck", "se", "depthwise")
#: Parts of a block graded on their own (each a graded cell of a5): what the student's SE
#: layer does in its squeeze, its excitation and its scaling; what the depthwise-separable
#: convolution's depthwise and pointwise convolutions do. Each looks at the block's
#: intermediate tensors through hooks on ``self.fc``, ``self.depthwise``, and feeds the next
#: step the reference's intermediate, so a mistake in one part costs that part only.
BLOCK_PARTS = {"se_squeeze": "se", "se_excitation": "se", "se_scale": "se",
               "depthwise_conv": "depthwise", "pointwise_conv": "depthwise"}
LABELS = {"se_squeeze": N_("SE squeeze"), "se_excitation": N_("SE excitation"),
          "se_scale": N_("SE scaling"), "depthwise_conv": N_("depthwise convolution"),
          "pointwise_conv": N_("pointwise convolution")}
#: The whole-module parts as a passing or failing line names them.
PART_LABELS = {"lenet": N_("lenet"), "vgg": N_("vgg"), "inception": N_("inception"),
               "basic_block": N_("basic block"), "bottleneck": N_("bottleneck"), "se": N_("se"),
               "depthwise": N_("depthwise")}

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
REASON = N_("build the module yourself from nn.Conv2d, nn.BatchNorm2d, nn.Linear, ...")

HINTS = {
    "lenet": N_("feature_extractor = Sequential(Conv(1, 6, 5), Tanh, AvgPool(2), Conv(6, 16, 5), Tanh, "
             "AvgPool(2), Conv(16, 120, 5), Tanh); classifier = Sequential(Linear(120, 84), Tanh, "
             "Linear(84, n_classes)); forward returns (logits, softmax(logits, dim=1))."),
    "vgg": N_("for a number v: Conv2d(in, v, 3, padding=1) [+ BatchNorm2d(v)] + ReLU(inplace=True); "
           "for 'M': MaxPool2d(2, 2); start with 3 input channels; one flat nn.Sequential."),
    "inception": N_("branches: relu(conv1(x)); relu(conv3_3(relu(conv3_1(x)))); "
                 "relu(conv5_5(relu(conv5_1(x)))); relu(conv_max_1(max_pool_1(x))) with "
                 "MaxPool2d(k, stride=1, padding=k // 2); 3x3 and 5x5 convs are padded to keep "
                 "H and W; concatenate along channels in this order."),
    "basic_block": N_("out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); conv1 is 3x3 with "
                   "the stride, both convs have padding 1 and no bias; the shortcut is "
                   "downsample = Sequential(Conv2d(inplanes, planes, 1, stride, bias=False), "
                   "BatchNorm2d(planes)) when stride != 1 or inplanes != planes, else x."),
    "bottleneck": N_("1x1 (inplanes -> planes), 3x3 with the stride (planes -> planes), 1x1 "
                  "(planes -> 4 * planes), each conv without bias and followed by BN, ReLU after "
                  "the first two and after the addition; downsample = Sequential(Conv2d(inplanes, "
                  "4 * planes, 1, stride, bias=False), BatchNorm2d(4 * planes)) when stride != 1 "
                  "or inplanes != 4 * planes."),
    "se": N_("squeeze: mean over H and W -> (N, C); excitation: fc = Sequential(Linear(C, C // r, "
          "bias=False), ReLU, Linear(C // r, C, bias=False), Sigmoid); scale: x * s[:, :, None, None]."),
    "depthwise": N_("depthwise = Conv2d(nin, nin, kernel_size, padding=padding, groups=nin); "
                 "pointwise = Conv2d(nin, nout, 1); forward = pointwise(depthwise(x))."),
    "se_squeeze": N_("squeeze: z = x.mean(dim=(2, 3)), shape (N, C): each image's channel averaged over "
                  "H and W (not summed, not the max), with its gradient (not under no_grad, not "
                  "detached); forward passes z to self.fc."),
    "se_excitation": N_("excitation: s = self.fc(z) with fc = Sequential(Linear(C, C // r, bias=False), "
                     "ReLU, Linear(C // r, C, bias=False), Sigmoid): one weight in (0, 1) per image "
                     "and channel (a sigmoid per weight, not a softmax over channels), computed with "
                     "gradients (not under torch.no_grad(), not detached)."),
    "se_scale": N_("scale: return x * s[:, :, None, None] (or s.view(N, C, 1, 1)): channel c of image n "
                "times s[n, c], the same over H and W; a new tensor, not x.mul_(s) or x *= s."),
    "depthwise_conv": N_("self.depthwise = Conv2d(nin, nin, kernel_size, padding=padding, groups=nin): "
                      "one kernel per channel (weight (nin, 1, k, k)), applied to x itself."),
    "pointwise_conv": N_("self.pointwise = Conv2d(nin, nout, kernel_size=1) applied to the depthwise "
                      "output as it is: return self.pointwise(self.depthwise(x))."),
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
            ArchCase(N_("LeNet-5, 10 classes (61,706 parameters)"), (10,), {},
                     _course("lenet", "LeNet5", 10), (2, 1, 32, 32), s + 10, LENET5_PARAMS,
                     bad_input=(1, 3, 32, 32)),
            ArchCase(N_("LeNet-5, 3 classes, batch 1"), (3,), {}, _course("lenet", "LeNet5", 3),
                     (1, 1, 32, 32), s + 20),
        ]
    if part == "vgg":
        return [
            ArchCase(N_("VGG-11 features (cfg 'A')"), (cfgs["A"],), {"batch_norm": False},
                     _vgg(cfgs["A"], False), (1, 3, 32, 32), s + 10, VGG11_FEATURES_PARAMS,
                     bad_input=(1, 1, 32, 32)),
            ArchCase(N_("VGG-11 features with batch norm"), (cfgs["A"],), {"batch_norm": True},
                     _vgg(cfgs["A"], True), (2, 3, 32, 32), s + 20, VGG11_BN_FEATURES_PARAMS),
            ArchCase(N_("small cfg, non-square input"), ([8, "M", 16, 16, "M"],), {"batch_norm": True},
                     _vgg([8, "M", 16, 16, "M"], True), (2, 3, 9, 12), s + 30),
        ]
    if part == "inception":
        return [
            ArchCase(N_("the slide's block 3a (192 -> 256 channels)"), (192, SL["3a"]), {},
                     _course("inception", "InceptionBlock", 192, SL["3a"]), (1, 192, 7, 7), s + 10,
                     bad_input=(1, 190, 7, 7)),
            ArchCase(N_("a small block, non-square odd input"), (5, [[3], [2, 4], [2, 3], [3, 2]]), {},
                     _course("inception", "InceptionBlock", 5, [[3], [2, 4], [2, 3], [3, 2]]),
                     (2, 5, 7, 6), s + 20),
        ]
    if part == "basic_block":
        return [
            ArchCase(N_("resnet18.layer1[0]: 64 -> 64, identity shortcut"), (64, 64), {"stride": 1},
                     _resnet_block("resnet18", "layer1", 0), (2, 64, 8, 8), s + 10,
                     bad_input=(1, 32, 8, 8)),
            ArchCase(N_("resnet18.layer2[0]: 64 -> 128, stride 2, projection shortcut"), (64, 128),
                     {"stride": 2}, _resnet_block("resnet18", "layer2", 0), (1, 64, 9, 7), s + 20),
            ArchCase(N_("width change without stride: 8 -> 16"), (8, 16), {"stride": 1},
                     _tv_block("basic", 8, 16, 1), (2, 8, 5, 6), s + 30),
        ]
    if part == "bottleneck":
        return [
            ArchCase(N_("resnet50.layer1[0]: 64 -> 256, projection shortcut"), (64, 64), {"stride": 1},
                     _resnet_block("resnet50", "layer1", 0), (1, 64, 6, 6), s + 10,
                     bad_input=(1, 32, 6, 6)),
            ArchCase(N_("resnet50.layer1[1]: 256 -> 256, identity shortcut"), (256, 64), {"stride": 1},
                     _resnet_block("resnet50", "layer1", 1), (2, 256, 4, 5), s + 20),
            ArchCase(N_("resnet50.layer2[0]: 256 -> 512, stride 2"), (256, 128), {"stride": 2},
                     _resnet_block("resnet50", "layer2", 0), (1, 256, 7, 6), s + 30),
        ]
    if part == "se":
        return [
            ArchCase(N_("SELayer(64), reduction 16 (512 parameters)"), (64,), {"reduction": 16},
                     _course("senet", "SELayer", 64, 16), (2, 64, 5, 4), s + 10, 512,
                     bad_input=(2, 32, 5, 4)),
            ArchCase(N_("SELayer(12, reduction=4), batch 1, odd sizes"), (12,), {"reduction": 4},
                     _course("senet", "SELayer", 12, 4), (1, 12, 3, 7), s + 20),
        ]
    if part == "depthwise":
        return [
            ArchCase(N_("the lecture's 3 -> 16 (75 weights + 19 biases)"), (3, 16), {},
                     _course("mobilenet", "DepthwiseSeparableConv", 3, 16), (2, 3, 8, 8), s + 10, 94,
                     bad_input=(1, 4, 8, 8)),
            ArchCase(N_("5 -> 7, kernel 5, padding 2, non-square"), (5, 7), {"kernel_size": 5, "padding": 2},
                     _course("mobilenet", "DepthwiseSeparableConv", 5, 7, 5, 2), (1, 5, 6, 9), s + 20),
            ArchCase(N_("4 -> 2, kernel 3, padding 0"), (4, 2), {"kernel_size": 3, "padding": 0},
                     _course("mobilenet", "DepthwiseSeparableConv", 4, 2, 3, 0), (2, 4, 5, 7), s + 30),
        ]
    raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")


def architecture_cases(part: str, family: str = "visible", seed: int = 0) -> list[ArchCase]:
    part = BLOCK_PARTS.get(part, part)
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
    ref: nn.Module | None = None  # the reference module (float64, training mode), for parts


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
        raise CheckFailure(_("{names} are not parameters (nn.Parameter) of the module").format(
            names=missing[:3]))
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
            text.append(_("missing keys {keys}").format(keys=missing[:6])
                        + (" ..." if len(missing) > 6 else ""))
        if extra:
            text.append(_("unexpected keys {keys}").format(keys=extra[:6])
                        + (" ..." if len(extra) > 6 else ""))
        return _("state_dict keys differ from the reference's: {problems}").format(
            problems="; ".join(text))
    for k, v in expected.items():
        if tuple(actual[k].shape) != tuple(v.shape):
            return _("state_dict['{key}'] has shape {actual}, expected {expected}").format(
                key=k, actual=tuple(actual[k].shape), expected=tuple(v.shape))
    return None


def _construct(obj, case: ArchCase, call: str, ref_classes: tuple):
    """(the student's module, None) or (None, why it could not be built)."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(case.seed)
            mod = obj(*copy.deepcopy(case.args), **case.kwargs)
    except ForbiddenCall as exc:
        return None, f"{call}: {exc}"
    except Exception as exc:  # noqa: BLE001
        return None, _("{call} raised {type}: {message}").format(
            call=call, type=type(exc).__name__, message=_first_line(exc))
    if not isinstance(mod, nn.Module):
        return None, _("{call} returned {type}, expected an nn.Module").format(
            call=call, type=type(mod).__name__)
    if isinstance(mod, ref_classes):
        return None, _("{call} is a subclass of a reference module; write the module "
                       "yourself").format(call=call)
    return mod, None


#: The modes as messages name them ("in eval mode").
MODES = {"eval": N_("eval"), "train": N_("train")}


def _run_case(obj, obj_name: str, case: ArchCase, exp: _Expected, ref_classes: tuple) -> str | None:
    call = case.call_text(obj_name)
    mod, problem = _construct(obj, case, call, ref_classes)
    if problem is not None:
        return problem
    n = count_params(mod)
    if n != exp.params:
        return ngettext("{call} has {n:,} parameters, expected {expected:,}",
                        "{call} has {n:,} parameters, expected {expected:,}", n).format(
            call=call, n=n, expected=exp.params)
    problem = _state_problem(mod.state_dict(), exp.state)
    if problem is not None:
        return f"{call}: {problem}"
    mod = mod.double()
    for mode in ("eval", "train"):
        try:
            mod.load_state_dict(exp.state)
        except Exception as exc:  # noqa: BLE001
            return _("{call}: load_state_dict raised {type}: {message}").format(
                call=call, type=type(exc).__name__, message=_first_line(exc))
        mod.train(mode == "train")
        x = exp.x.clone()
        version = x._version
        try:
            with torch.no_grad():
                out = mod(x)
        except ForbiddenCall as exc:
            return f"{call}: {exc}"
        except Exception as exc:  # noqa: BLE001
            return _("{call} on input {shape} in {mode} mode raised {type}: {message}").format(
                call=call, shape=tuple(exp.x.shape), mode=_(MODES[mode]),
                type=type(exc).__name__, message=_first_line(exc))
        if x._version != version or not torch.equal(x, exp.x):
            changed = "" if torch.equal(x, exp.x) else _("; largest change {change:.3g}").format(
                change=float((x - exp.x).abs().max()))
            return _("{call} on input {shape} float64, {mode} mode: forward modified its input "
                     "in place{changed}; leave the input as it is (x * s, out + shortcut, not "
                     "x.mul_(s), x += ...)").format(call=call, shape=tuple(exp.x.shape),
                                                     mode=_(MODES[mode]), changed=changed)
        expected = exp.outputs[mode]
        if isinstance(expected, tuple):
            if not isinstance(out, (tuple, list)) or len(out) != len(expected):
                return _("{call} on input {shape} returned {type}, expected a tuple of {n} "
                         "tensors (logits, probs)").format(call=call, shape=tuple(exp.x.shape),
                                                           type=type(out).__name__,
                                                           n=len(expected))
            pairs = list(zip(("logits", "probs"), out, expected))
        else:
            pairs = [(N_("output"), out, expected)]
        for label, a, e in pairs:
            problem = tensor_mismatch(a, e, **FLOAT64_TOL)
            if problem is not None:
                return _("{call} with the reference's weights, input {shape} float64, {mode} "
                         "mode, {label}: {problem}").format(call=call, shape=tuple(exp.x.shape),
                                                            mode=_(MODES[mode]), label=_(label),
                                                            problem=problem)
    if exp.grads is not None:
        problem = _backward_problem(mod, case, exp)
        if problem is not None:
            return _("{call} with the reference's weights, input {shape} float64, "
                     "{problem}").format(call=call, shape=tuple(exp.x.shape), problem=problem)
    if exp.bad_error is not None:
        mod.eval()
        try:
            with torch.no_grad():
                mod(random_tensor(case.bad_input, case.seed + 6))
        except ForbiddenCall as exc:
            return f"{call}: {exc}"
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, type(exp.bad_error)):
                return _("{call} on input {shape} raised {type}; the reference raises "
                         "{expected_type}").format(call=call, shape=case.bad_input,
                                                   type=type(exc).__name__,
                                                   expected_type=type(exp.bad_error).__name__)
        else:
            return _("{call} accepted an input of shape {shape}, but the reference raises "
                     "{type}: {message}").format(call=call, shape=case.bad_input,
                                                 type=type(exp.bad_error).__name__,
                                                 message=_first_line(exp.bad_error))
    return None



# --- parts of a block (SE's squeeze, excitation, scaling; depthwise, pointwise) -----------

class _Stop(BaseException):
    """Raised by a hook to end the student's forward once the part under test has run (a
    BaseException, so that a student's ``except Exception`` does not swallow it)."""


def _reference_module(case: ArchCase, exp: _Expected) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        ref = case.build_ref()
    ref = ref.double()
    ref.load_state_dict(exp.state)
    return ref.train()


def _submodule(mod: nn.Module, name: str, what: str):
    """(``mod.<name>``, None) or (None, why there is none)."""
    sub = getattr(mod, name, None)
    if not isinstance(sub, nn.Module):
        return None, _("has no submodule self.{name} ({what})").format(name=name, what=_(what))
    return sub, None


def _conv_structure(conv: nn.Module, name: str, want: dict, why: str) -> str | None:
    """Why ``conv`` (self.<name>) is not an ``nn.Conv2d`` with the attributes in ``want``."""
    if not isinstance(conv, nn.Conv2d):
        return _("self.{name} is {type}, expected an nn.Conv2d ({why})").format(
            name=name, type=type(conv).__name__, why=why)
    for attr, value in want.items():
        got = getattr(conv, attr)
        if attr == "bias":
            got = conv.bias is not None
        if got != value:
            return _("self.{name} has {attr}={got!r}, expected {attr}={value!r} ({why}); it is "
                     "{conv!r}").format(name=name, attr=attr, got=got, value=value, why=why,
                                        conv=conv)
    return None


def _load_part(mod: nn.Module, exp: _Expected, prefix: str | None) -> str | None:
    """Check the state_dict's keys (all of them) and the shapes of the part's keys (those
    under ``prefix``; all when None), then load the reference's values of those keys."""
    actual = mod.state_dict()
    missing = [k for k in exp.state if k not in actual]
    extra = [k for k in actual if k not in exp.state]
    if missing or extra:
        return _state_problem(actual, exp.state)
    mine = {k: v for k, v in exp.state.items() if prefix is None or k.startswith(prefix)}
    problem = _state_problem({k: actual[k] for k in mine}, mine)
    if problem is not None:
        return problem
    try:
        mod.load_state_dict(mine, strict=False)
    except Exception as exc:  # noqa: BLE001
        return _("load_state_dict raised {type}: {message}").format(type=type(exc).__name__,
                                                                    message=_first_line(exc))
    return None


def _forward(mod, x, hooks: list) -> tuple:
    """Run ``mod(x)`` with ``hooks`` [(submodule, "pre" | "post", fn)] registered:
    ("returned", output) or ("stopped", None) when a hook raised _Stop, or ("raised", text)."""
    handles = []
    try:
        for sub, kind, fn in hooks:
            handles.append(sub.register_forward_pre_hook(fn) if kind == "pre"
                           else sub.register_forward_hook(fn))
        try:
            return "returned", mod(x)
        except _Stop:
            return "stopped", None
        except ForbiddenCall as exc:
            return "raised", str(exc)
        except Exception as exc:  # noqa: BLE001
            return "raised", f"{type(exc).__name__}: {_first_line(exc)}"
    finally:
        for h in handles:
            h.remove()


# TRANSLATORS: what a gradient reaches, or not ("no gradient reaches {name}", "gradient of
# {name}"): the input of the module
INPUT = N_("the input")


def _parameter(name: str) -> str:
    # TRANSLATORS: what a gradient reaches, or not: one of the module's parameters
    return _("parameter '{name}'").format(name=name)


def _grad_problem(outputs, inputs: dict, grad_outputs, expected: dict, where: str) -> str | None:
    """Backpropagate ``grad_outputs`` from ``outputs`` to ``inputs`` (name -> tensor) and
    compare with ``expected`` (name -> gradient)."""
    if not outputs.requires_grad:
        return _("backward: {where} carries no gradient (computed under torch.no_grad() or "
                 "detached?)").format(where=_(where))
    names = list(inputs)
    try:
        grads = torch.autograd.grad(outputs, [inputs[n] for n in names], grad_outputs,
                                    allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        return _("backward through {where} raised {type}: {message}").format(
            where=_(where), type=type(exc).__name__, message=_first_line(exc))
    for name, got in zip(names, grads):
        if got is None:
            return _("backward: no gradient reaches {name} through {where} (computed under "
                     "torch.no_grad(), detached, or not used?); the reference's has norm "
                     "{norm:.6g}").format(name=_(name), where=_(where),
                                          norm=float(expected[name].norm()))
    for name, got in zip(names, grads):
        problem = tensor_mismatch(got, expected[name], **FLOAT64_TOL)
        if problem is not None:
            return _("backward, gradient of {name} through {where}: {problem}").format(
                name=_(name), where=_(where), problem=problem)
    return None


def _tensor_from(value, what: str) -> tuple:
    if type(value) is not torch.Tensor:
        return None, _("{what} is {type}, expected a torch.Tensor").format(
            what=_(what), type=type(value).__name__)
    return value, None


def _se_part(part: str, mod: nn.Module, case: ArchCase, exp: _Expected) -> str | None:
    fc, problem = _submodule(mod, "fc", N_("the excitation, nn.Sequential(Linear, ReLU, Linear, "
                                           "Sigmoid)"))
    if problem is not None:
        return problem
    problem = _load_part(mod, exp, None)
    if problem is not None:
        return problem
    mod.train()
    ref = exp.ref
    x0 = exp.x
    n, c = x0.shape[:2]
    shape = tuple(x0.shape)
    seen = {}
    not_called = _("forward returned without calling self.fc: pass the squeezed (N, C) tensor "
                   "to self.fc (the checks look at what self.fc receives and returns)")

    if part == "se_squeeze":
        def grab(_module, args):
            seen["z"] = args[0] if args else None
            raise _Stop
        x = x0.clone().requires_grad_(True)
        how, out = _forward(mod, x.clone(), [(fc, "pre", grab)])
        if how == "raised":
            return _("forward on input {shape} float64 raised {error}").format(shape=shape,
                                                                               error=out)
        if "z" not in seen:
            return not_called
        # TRANSLATORS: the subject of "{what} is {type}, expected a torch.Tensor"
        z, problem = _tensor_from(seen["z"], N_("what self.fc received"))
        if problem is not None:
            return problem
        expected = x0.mean(dim=(2, 3))
        problem = tensor_mismatch(z, expected, **FLOAT64_TOL)
        if problem is not None:
            return _("on input {shape} float64, what self.fc received is not the mean over H "
                     "and W of each image's channels, shape ({n}, {c}): {problem}").format(
                shape=shape, n=n, c=c, problem=problem)
        g = random_tensor((n, c), case.seed + 8)
        h, w = shape[2:]
        return _grad_problem(z, {INPUT: x}, g,
                             {INPUT: (g / (h * w))[:, :, None, None].expand(shape)},
                             N_("the squeeze"))

    z_ref = x0.mean(dim=(2, 3))
    if part == "se_excitation":
        z = z_ref.clone().requires_grad_(True)

        def feed(_module, args):
            return (z,)

        def grab(_module, args, output):
            seen["s"] = output
            raise _Stop
        how, out = _forward(mod, x0.clone(), [(fc, "pre", feed), (fc, "post", grab)])
        if how == "raised":
            return _("forward on input {shape} float64 raised {error}").format(shape=shape,
                                                                               error=out)
        if "s" not in seen:
            return not_called
        s, problem = _tensor_from(seen["s"], N_("what self.fc returned"))
        if problem is not None:
            return problem
        with torch.no_grad():
            expected = ref.fc(z_ref.clone())
        if tuple(s.shape) != (n, c):
            return _("self.fc(z) for z of shape ({n}, {c}) has shape {shape}, expected ({n}, "
                     "{c}): one weight per image and channel").format(n=n, c=c,
                                                                      shape=tuple(s.shape))
        if s.dtype == expected.dtype and s.numel():
            low, high = float(s.detach().min()), float(s.detach().max())
            if low < 0 or high > 1:
                return _("self.fc(z), the channel weights, range from {low:.6g} to {high:.6g}; "
                         "each must lie in (0, 1): end the excitation with a "
                         "Sigmoid").format(low=low, high=high)
        problem = tensor_mismatch(s, expected, **FLOAT64_TOL)
        if problem is not None:
            return _("self.fc(z) for the reference's squeeze z ({n}, {c}), with the reference's "
                     "weights, is not the reference's excitation sigmoid(W2 relu(W1 z)): "
                     "{problem}").format(n=n, c=c, problem=problem)
        params = {_parameter(k): p for k, p in mod.named_parameters() if k.startswith("fc.")}
        zr = z_ref.clone().requires_grad_(True)
        sr = ref.fc(zr)
        ref_params = dict(ref.named_parameters())
        inputs = {_("the squeezed input z"): z, **params}
        g = random_tensor((n, c), case.seed + 9)
        names = ["z"] + [k for k, _ in mod.named_parameters() if k.startswith("fc.")]
        ref_grads = torch.autograd.grad(sr, [zr] + [ref_params[k] for k in names[1:]], g)
        return _grad_problem(s, inputs, g, dict(zip(inputs, ref_grads)),
                             N_("the excitation self.fc"))

    # se_scale: self.fc returns the reference's weights (a leaf), the output must be x * s
    with torch.no_grad():
        s_ref = ref.fc(z_ref.clone())

    def give(_module, args, output):
        seen["called"] = True
        return seen["s"]

    for with_grad in (False, True):
        seen["s"] = s_ref.clone().requires_grad_(with_grad)
        x = x0.clone().requires_grad_(with_grad)
        version = x._version
        how, out = _forward(mod, x, [(fc, "post", give)])
        if how == "raised":
            return _("forward on input {shape} float64 raised {error}").format(shape=shape,
                                                                               error=out)
        if not seen.get("called"):
            return not_called
        if not with_grad and (x._version != version or not torch.equal(x, x0)):
            changed = "" if torch.equal(x, x0) else _("; largest change {change:.3g}").format(
                change=float((x - x0).abs().max()))
            return _("on input {shape} float64, forward modified its input in place{changed}; "
                     "return a new tensor (x * s[:, :, None, None], not x.mul_(...) or x *= "
                     "...)").format(shape=shape, changed=changed)
        expected = x0 * s_ref[:, :, None, None]
        problem = tensor_mismatch(out, expected, **FLOAT64_TOL)
        if problem is not None:
            return _("on input {shape} float64, with self.fc returning weights s ({n}, {c}), "
                     "the output is not x * s[:, :, None, None] (channel c of image n times s[n, "
                     "c], over all of H and W): {problem}").format(shape=shape, n=n, c=c,
                                                                   problem=problem)
        if with_grad:
            g = random_tensor(shape, case.seed + 10)
            weights = N_("the weights s")
            return _grad_problem(out, {INPUT: x, weights: seen["s"]}, g,
                                 {INPUT: g * s_ref[:, :, None, None],
                                  weights: (g * x0).sum(dim=(2, 3))}, N_("the scaling"))
    return None


def _depthwise_part(part: str, mod: nn.Module, case: ArchCase, exp: _Expected) -> str | None:
    nin, nout = case.args[:2]
    k = case.kwargs.get("kernel_size", 3)
    p = case.kwargs.get("padding", 1)
    name = "depthwise" if part == "depthwise_conv" else "pointwise"
    conv, problem = _submodule(mod, name, N_("an nn.Conv2d"))
    if problem is not None:
        return problem
    if part == "depthwise_conv":
        problem = _conv_structure(conv, "depthwise", {
            "in_channels": nin, "out_channels": nin, "groups": nin},
            _("a depthwise convolution has one kernel per channel: in = out = groups = nin = "
              "{nin}").format(nin=nin))
        problem = problem or _conv_structure(conv, "depthwise", {
            "kernel_size": (k, k), "padding": (p, p), "stride": (1, 1), "dilation": (1, 1),
            "bias": True}, _("kernel_size={k}, padding={p}, with a bias").format(k=k, p=p))
    else:
        problem = _conv_structure(conv, "pointwise", {
            "in_channels": nin, "out_channels": nout, "groups": 1, "kernel_size": (1, 1),
            "padding": (0, 0), "stride": (1, 1), "dilation": (1, 1), "bias": True},
            _("a pointwise convolution is 1x1, nin = {nin} -> nout = {nout}, with a "
              "bias").format(nin=nin, nout=nout))
    if problem is not None:
        return problem
    problem = _load_part(mod, exp, name + ".")
    if problem is not None:
        return problem
    mod.train()
    ref = exp.ref
    x0 = exp.x
    shape = tuple(x0.shape)
    seen = {}
    not_called = _("forward returned without calling self.{name}").format(name=name)
    with torch.no_grad():
        d_ref = ref.depthwise(x0.clone())
    if part == "depthwise_conv":
        def grab(_module, args, output):
            seen["d"] = output
            raise _Stop
        x = x0.clone()
        version = x._version
        how, out = _forward(mod, x, [(conv, "post", grab)])
        if how == "raised":
            return _("forward on input {shape} float64 raised {error}").format(shape=shape,
                                                                               error=out)
        if "d" not in seen:
            return not_called
        if x._version != version or not torch.equal(x, x0):
            return _("on input {shape} float64, forward modified its input in place; leave it as "
                     "it is").format(shape=shape)
        d, problem = _tensor_from(seen["d"], N_("the output of self.depthwise"))
        if problem is not None:
            return problem
        problem = tensor_mismatch(d, d_ref, **FLOAT64_TOL)
        if problem is not None:
            return _("on input {shape} float64, with the reference's weights, the output of "
                     "self.depthwise is not each channel of x convolved with its own kernel: "
                     "{problem}").format(shape=shape, problem=problem)
        seen.clear()
        x = x0.clone().requires_grad_(True)
        how, out = _forward(mod, x.clone(), [(conv, "post", grab)])
        d = seen.get("d")
        xr = x0.clone().requires_grad_(True)
        ref_params = dict(ref.depthwise.named_parameters())
        g = random_tensor(tuple(d_ref.shape), case.seed + 11)
        inputs = {INPUT: x, **{_parameter(f"depthwise.{k}"): v
                               for k, v in conv.named_parameters()}}
        ref_grads = torch.autograd.grad(ref.depthwise(xr), [xr] + [ref_params[k] for k, _ in
                                                                   conv.named_parameters()], g)
        return _grad_problem(d, inputs, g, dict(zip(inputs, ref_grads)), N_("self.depthwise"))

    # pointwise: self.depthwise returns the reference's output (a leaf); the block's output
    # must be self.pointwise applied to it
    def give(_module, args, output):
        seen["called"] = True
        return seen["d"].clone()

    with torch.no_grad():
        expected = ref.pointwise(d_ref.clone())
    seen["d"] = d_ref.clone().requires_grad_(True)
    x = x0.clone()
    version = x._version
    depthwise, problem = _submodule(mod, "depthwise", N_("an nn.Conv2d"))
    if problem is not None:
        return problem
    how, out = _forward(mod, x, [(depthwise, "post", give)])
    if how == "raised":
        return _("forward on input {shape} float64 raised {error}").format(shape=shape, error=out)
    if not seen.get("called"):
        return _("forward returned without calling self.{name}").format(name="depthwise")
    if x._version != version or not torch.equal(x, x0):
        return _("on input {shape} float64, forward modified its input in place; leave it as "
                 "it is").format(shape=shape)
    problem = tensor_mismatch(out, expected, **FLOAT64_TOL)
    if problem is not None:
        return _("on input {shape} float64, with the reference's weights and self.depthwise "
                 "returning the reference's depthwise output {depthwise_shape}, the output is "
                 "not self.pointwise of it: {problem}").format(
            shape=shape, depthwise_shape=tuple(d_ref.shape), problem=problem)
    dr = d_ref.clone().requires_grad_(True)
    ref_params = dict(ref.pointwise.named_parameters())
    g = random_tensor(tuple(expected.shape), case.seed + 12)
    inputs = {_("the depthwise output"): seen["d"], **{_parameter(f"pointwise.{k}"): v
                                                     for k, v in conv.named_parameters()}}
    ref_grads = torch.autograd.grad(ref.pointwise(dr), [dr] + [ref_params[k] for k, _ in
                                                               conv.named_parameters()], g)
    return _grad_problem(out, inputs, g, dict(zip(inputs, ref_grads)), N_("self.pointwise"))


def _run_part(part: str, obj, obj_name: str, case: ArchCase, exp: _Expected,
              ref_classes: tuple) -> str | None:
    call = case.call_text(obj_name)
    mod, problem = _construct(obj, case, call, ref_classes)
    if problem is None:
        mod = mod.double()
        try:
            if part.startswith("se_"):
                problem = _se_part(part, mod, case, exp)
            else:
                problem = _depthwise_part(part, mod, case, exp)
        except ForbiddenCall as exc:
            problem = str(exc)
        if problem is not None:
            problem = _("{label}: {call} {problem}").format(label=_(LABELS[part]), call=call,
                                                            problem=problem)
    return problem



def _backward_problem(mod: nn.Module, case: ArchCase, exp: _Expected) -> str | None:
    """Why the gradients of the student's module (training mode, the reference's weights)
    differ from the reference's, or None."""
    mod.load_state_dict(exp.state)
    mod.train()
    names = [n for n in exp.grads if n != "input"]
    try:
        grads = _backward(mod, exp.x.clone().requires_grad_(True), names, case.seed + 7)
    except ForbiddenCall as exc:
        return _("backward: {error}").format(error=exc)
    except Exception as exc:  # noqa: BLE001
        return _("training mode, forward and backward with an input that requires grad raised "
                 "{type}: {message}").format(type=type(exc).__name__, message=_first_line(exc))
    def what(name):
        return _(INPUT) if name == "input" else _parameter(name)

    for name, expected in exp.grads.items():  # first what gets no gradient at all
        got = grads[name]
        if got is None and expected is not None:
            return _("training mode, backward: no gradient reaches {name} (computed under "
                     "torch.no_grad(), detached, or not used?); the reference's has norm "
                     "{norm:.6g}").format(name=what(name), norm=float(expected.norm()))
        if got is not None and expected is None:
            return _("training mode, backward: {name} gets a gradient, the reference's gets "
                     "none").format(name=what(name))
    for name, expected in exp.grads.items():
        got = grads[name]
        if got is not None:
            problem = tensor_mismatch(got, expected, **FLOAT64_TOL)
            if problem is not None:
                return _("training mode, backward, gradient of {name}: {problem}").format(
                    name=what(name), problem=problem)
    return None


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


def check_architecture(obj, part: str, family: str = "visible", seed: int = 0) -> CheckReport:
    """Grade the student's module class (or ``make_vgg_layers``) for one part."""
    cases = architecture_cases(part, family, seed)
    obj_name = getattr(obj, "__name__", part)
    what = f"{obj_name} ({_(LABELS.get(part) or PART_LABELS[part])})"
    failures = []
    with quiet(), one_thread():
        backward_left = [0 if part in BLOCK_PARTS else BACKWARD_CASES]
        expectations = [_expectation(case, backward_left) for case in cases]
        if part in BLOCK_PARTS:  # built here: the reference classes are forbidden below
            for case, exp in zip(cases, expectations):
                exp.ref = _reference_module(case, exp)
        ref_classes = _reference_classes()
        if isinstance(obj, type):
            student_fns = [f for f in vars(obj).values() if callable(f)]
        else:
            student_fns = [obj]
        with forbid_calls(FORBIDDEN, REASON, student_fns):
            for case, exp in zip(cases, expectations):
                if part in BLOCK_PARTS:
                    problem = _run_part(part, obj, obj_name, case, exp, ref_classes)
                else:
                    problem = _run_case(obj, obj_name, case, exp, ref_classes)
                if problem is not None:
                    failures.append((_("case '{name}': {call}").format(name=_(case.name),
                                                                        call=problem),
                                     HINTS[part]))
    return report_failures(what, family, len(cases), failures)


__all__ = ["PARTS", "BLOCK_PARTS", "check_architecture", "architecture_cases", "CheckFailure",
           "LENET5_PARAMS", "VGG11_FEATURES_PARAMS", "VGG11_BN_FEATURES_PARAMS"]
