"""Checks for receptive fields, parameter counts and FLOPs (assignment a4_receptive_fields).

The student writes three functions:

- ``receptive_field(model, input_hw)``: for a flat ``nn.Sequential`` of ``Conv2d``,
  ``MaxPool2d``, ``AvgPool2d`` and element-wise layers, one dict per layer with keys
  ``"size"``, ``"jump"`` and ``"start"``, each a (height, width) pair;
- ``count_params(model)``: the number of parameters, each shared parameter once;
- ``conv2d_flops(in_channels, out_channels, kernel_size, output_hw, groups=1)``: the FLOPs
  of one ``nn.Conv2d`` on one image, a multiply-add counted as 2 FLOPs and the bias add
  not counted, as ``torch.utils.flop_counter.FlopCounterMode`` counts.

``check_receptive_field(fn, part)`` compares every layer's size, jump and start with
``cnncourse.receptive_field.receptive_field`` and the last layer's field of two units with
the empirical gradient field (``empirical_receptive_field`` on a copy with positive
weights; for dilated stacks, its bounding box). Parts: ``"conv"`` (golden lecture cascades,
stride, padding, non-square kernels, errors), ``"dilation"``, ``"pooling"``.
``check_count_params(fn)`` compares with ``cnncourse.model_stats.count_params`` and golden
published counts; ``check_conv2d_flops(fn)`` with ``FlopCounterMode`` on ``nn.Conv2d``.
Numbers must be exact (``start`` within 1e-9). While a check runs, these references (and
``torch.utils.flop_counter``) raise an error if the student's code calls them.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from cnncourse import receptive_field as rf_ref
from cnncourse.checks.core import (
    Case, CheckFailure, CheckReport, ForbiddenCall, expected_results, forbid_calls, grader_module,
    quiet, report_failures, run_cases, one_thread, value_mismatch,
)
from cnncourse.i18n import N_, _, ngettext
from cnncourse.model_stats import count_params as _count_params_ref

RF_PARTS = ("conv", "dilation", "pooling")

FORBIDDEN = (
    "cnncourse.receptive_field.receptive_field",
    "cnncourse.receptive_field.empirical_receptive_field",
    "cnncourse.receptive_field.input_gradient",
    "cnncourse.model_stats.count_params",
    "cnncourse.model_stats.count_flops",
    "cnncourse.model_stats.layer_table",
    "torch.utils.flop_counter.FlopCounterMode",
)
REASON = N_("compute it yourself from the layers' arguments.")

RF_HINTS = {
    "conv": N_("per axis, with the previous layer's size r, jump j and start c (input: 1, 1, "
               "0): r' = r + (k - 1) * j; j' = j * s; c' = c + ((k - 1) / 2 - p) * j; "
               "element-wise layers repeat the previous row; raise ValueError when a window "
               "does not fit, TypeError for layers such as Flatten or Linear."),
    "dilation": N_("a dilated kernel spans k' = d * (k - 1) + 1 pixels: use k' instead of k in "
                   "the size and start recurrences."),
    "pooling": N_("MaxPool2d and AvgPool2d are windows like convolutions (kernel_size, stride, "
                  "padding; MaxPool2d also dilation); their stride defaults to kernel_size."),
}
#: The parts as a passing or failing line names them.
RF_PART_LABELS = {"conv": N_("conv"), "dilation": N_("dilation"), "pooling": N_("pooling")}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --- receptive fields --------------------------------------------------------------------

def _golden() -> list[tuple[str, nn.Sequential, tuple, dict]]:
    """The lecture's cascades (L17): two 3x3 convolutions see 5x5, three see 7x7."""
    two = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU())
    three = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(),
                          nn.Conv2d(2, 2, 3))
    return [(N_("lecture: two 3x3 convolutions see 5x5 (golden)"), two, (9, 9),
             {"size": (5, 5), "jump": (1, 1), "start": (2.0, 2.0)}),
            (N_("lecture: three 3x3 convolutions see 7x7 (golden)"), three, (9, 9),
             {"size": (7, 7), "jump": (1, 1), "start": (3.0, 3.0)})]


def _seq(*layers) -> nn.Sequential:
    return nn.Sequential(*layers)


def _rf_visible(part: str):
    C = nn.Conv2d
    if part == "conv":
        return [(name, m, hw) for name, m, hw, _ in _golden()] + [
            (N_("stride 2 then 3x3"), _seq(C(1, 2, 3, stride=2), nn.ReLU(), C(2, 2, 3)), (15, 15)),
            (N_("padding 1, stride 2, non-square input"), _seq(C(1, 2, 3, padding=1), nn.Tanh(),
                                                          C(2, 2, 3, stride=2, padding=1)), (12, 9)),
            (N_("non-square kernels and strides"), _seq(C(1, 2, (5, 3), stride=(2, 1)), nn.ReLU(),
                                                   C(2, 2, (1, 3), stride=(1, 2), padding=(0, 1))), (13, 11)),
            (N_("even kernel: half-pixel start"), _seq(C(1, 2, 2), C(2, 1, 4, stride=2)), (10, 10)),
            (N_("batch norm passes through"), _seq(C(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), C(2, 2, 3, padding=2)), (7, 8)),
            (N_("a 5x5 kernel that fits a 3x3 map only thanks to padding 1"),
             _seq(C(1, 2, 3, padding=1), C(2, 1, 5, padding=1)), (3, 3)),
            (N_("error: kernel larger than the input"), _seq(C(1, 1, 3), C(1, 1, 5)), (6, 6)),
            (N_("error: Flatten is not a spatial layer"), _seq(C(1, 1, 3), nn.Flatten()), (6, 6)),
        ]
    if part == "dilation":
        return [
            (N_("dilation 2"), _seq(C(1, 2, 3, dilation=2), nn.ReLU(), C(2, 1, 3)), (11, 11)),
            (N_("dilations 1, 2, 4 (a context module)"), _seq(C(1, 2, 3), C(2, 2, 3, dilation=2, padding=2),
                                                         C(2, 1, 3, dilation=4, padding=4)), (17, 16)),
            (N_("dilation (2, 1) with stride"), _seq(C(1, 2, 3, stride=2), nn.ReLU(),
                                                 C(2, 2, 3, dilation=(2, 1), padding=(1, 0))), (15, 10)),
            (N_("error: dilated kernel larger than the input"), _seq(C(1, 1, 3, dilation=4)), (8, 12)),
        ]
    if part == "pooling":
        return [
            (N_("L14: conv, max pool, conv, max pool"), _seq(C(1, 1, 3), nn.MaxPool2d(2), C(1, 1, 3),
                                                        nn.MaxPool2d(2)), (28, 28)),
            (N_("average pooling 3, stride 1, padding 1"), _seq(C(1, 2, 3), nn.AvgPool2d(3, stride=1, padding=1),
                                                           C(2, 2, 3)), (9, 11)),
            (N_("max pool (3, 2), stride (2, 1)"), _seq(C(1, 2, 3, padding=1), nn.ReLU(),
                                                    nn.MaxPool2d((3, 2), stride=(2, 1))), (10, 8)),
            (N_("pool with stride 2 and padding 1, then conv"), _seq(C(1, 1, 5, stride=2), nn.MaxPool2d(3, 2, 1),
                                                                 C(1, 1, 3)), (21, 19)),
            (N_("error: pooling window larger than the map"), _seq(C(1, 1, 3), nn.MaxPool2d(5)), (6, 6)),
        ]
    raise ValueError(f"unknown part {part!r}; choose one of {RF_PARTS}")


def receptive_field_cases(part: str, family: str = "visible", seed: int = 0) -> list[Case]:
    if part not in RF_PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {RF_PARTS}")
    if family == "visible":
        raw = _rf_visible(part)
    elif family == "hidden":
        raw = grader_module("receptive").receptive_field_cases(part, seed)
    else:
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")
    return [Case(name, {"model": model, "input_hw": hw}, {}, RF_HINTS[part]) for name, model, hw in raw]


def _layer_text(model) -> str:
    return "Sequential(" + ", ".join(repr(m).replace("\n", "") for m in model) + ")"


def _rf_expected(case: Case):
    """Reference rows as dicts, plus the empirical field of two units of the last layer."""
    model, hw = case.inputs["model"], case.inputs["input_hw"]
    rows = rf_ref.receptive_field(model, hw)  # raises ValueError / TypeError for errors
    expected = [{"size": r.size, "jump": r.jump, "start": r.start} for r in rows]
    golden = {entry[0]: entry[-1] for entry in _golden()}
    if case.name in golden:  # the lecture's numbers, by hand
        assert expected[-1] == golden[case.name], (case.name, expected[-1])
    last = rows[-1]
    oh, ow = last.output_size
    candidates = dict.fromkeys([(0, 0), (oh // 2, ow // 2), (oh - 1, ow - 1), (0, ow - 1), (oh - 1, 0)])
    # units whose whole field lies in the input: there the gradient reaches exactly the field
    # (nearer the border, zero padding of a later layer can cut it short)
    units = [u for u in candidates if last.field(u) == last.field(u, hw)][:2]
    positive = rf_ref.fill_positive_(copy.deepcopy(model).double())
    empirical = {u: rf_ref.mask_bounds(rf_ref.empirical_receptive_field(positive, hw, u)) for u in units}
    for u, bounds in empirical.items():  # the recurrence and the gradient agree
        assert bounds == last.field(u, hw), (case.name, u, bounds, last.field(u, hw))
    return expected, empirical


#: ``start`` within 1e-9 (size and jump are ints: exact).
RF_TOL = {"rtol": 0.0, "atol": 1e-9}


def _field(row, unit, hw):
    out = []
    for a in range(2):
        lo = int(round(row["start"][a] + unit[a] * row["jump"][a] - (row["size"][a] - 1) / 2))
        hi = lo + int(row["size"][a]) - 1
        out.append((max(lo, 0), min(hi, hw[a] - 1)))
    return tuple(out)


def _rf_problem(actual, expected_and_empirical, hw) -> str | None:
    expected, empirical = expected_and_empirical
    if not isinstance(actual, (list, tuple)):
        return _("returned {type}, expected a list with one dict per layer").format(
            type=type(actual).__name__)
    if len(actual) != len(expected):
        return ngettext("returned {got} rows, expected {n} (one per layer)",
                        "returned {got} rows, expected {n} (one per layer)",
                        len(actual)).format(got=len(actual), n=len(expected))
    for i, (a, e) in enumerate(zip(actual, expected)):
        if not isinstance(a, dict) or not {"size", "jump", "start"} <= set(a):
            return _("row {i} is {row!r}, expected a dict with keys 'size', 'jump', "
                     "'start'").format(i=i, row=a)
        for key in ("size", "jump", "start"):
            problem = value_mismatch(a[key], e[key], RF_TOL)
            if problem is not None:
                return _("row {i} (layer {i}), {key}: {problem}").format(i=i, key=key,
                                                                          problem=problem)
    for unit, bounds in empirical.items():
        got = _field(actual[-1], unit, _pair(hw))
        if got != bounds:
            return _("the last layer's unit {unit} sees input rows/columns {got}, but its "
                     "gradient reaches {bounds}").format(unit=unit, got=got, bounds=bounds)
    return None


def check_receptive_field(fn, part: str = "conv", family: str = "visible", seed: int = 0) -> CheckReport:
    """Compare ``receptive_field(model, input_hw)`` with the recurrence and the gradient."""
    cases = receptive_field_cases(part, family, seed)
    failures = []
    with quiet(), one_thread():
        expectations = expected_results(cases, _rf_expected, refusals=(ValueError, TypeError))
        with forbid_calls(FORBIDDEN, REASON, [fn]):
            for case, expected in zip(cases, expectations):
                model, hw = case.inputs["model"], case.inputs["input_hw"]
                try:
                    actual = fn(model, hw)
                except ForbiddenCall as exc:
                    problem = str(exc)
                except Exception as exc:  # noqa: BLE001 - any error of the student's is reported
                    if isinstance(expected, BaseException) and isinstance(exc, type(expected)):
                        problem = None
                    elif isinstance(expected, BaseException):
                        problem = _("raised {type}: {message}; expected {expected_type}: "
                                    "{expected_message}").format(
                            type=type(exc).__name__, message=_first_line(exc),
                            expected_type=type(expected).__name__,
                            expected_message=_first_line(expected))
                    else:
                        problem = _("raised {type}: {message}").format(
                            type=type(exc).__name__, message=_first_line(exc))
                else:
                    if isinstance(expected, BaseException):
                        problem = _("returned {type}, but these layers do not fit or are not "
                                    "spatial: expected {expected_type}: {message}").format(
                            type=type(actual).__name__, expected_type=type(expected).__name__,
                            message=_first_line(expected))
                    else:
                        problem = _rf_problem(actual, expected, hw)
                if problem is not None:
                    call = f"receptive_field({_layer_text(model)}, input_hw={hw!r})"
                    failures.append((_("case '{name}': {call}").format(name=_(case.name), call=call)
                                     + f"\n    {problem}", RF_HINTS[part]))
    # one hint, the part's (every case of a part has it)
    return report_failures(f"receptive_field, {_(RF_PART_LABELS[part])}", family, len(cases),
                           failures)


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


# --- parameters --------------------------------------------------------------------------

class _Shared(nn.Module):
    """One linear layer used twice: its parameters count once."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(10, 10)
        self.b = self.a
        self.c = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.b(self.a(x))


def alexnet_table() -> nn.Sequential:
    """The lecture's AlexNet table (L20): 96 filters in conv1, no groups, 227x227 input."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1000))


ALEXNET_TABLE_PARAMS = 62_378_344


def _frozen():
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(5, 2, bias=False))
    m[0].weight.requires_grad_(False)
    return m


def count_params_cases(family: str = "visible", seed: int = 0) -> list[Case]:
    hint = N_("add p.numel() over model.parameters(): every parameter once (shared ones too, "
              "frozen ones too), buffers such as running_mean not at all.")
    if family == "visible":
        from cnncourse.architectures.lenet import LeNet5
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            models = [(N_("the lecture's AlexNet table: 62,378,344 (golden)"), alexnet_table()),
                      (N_("LeNet-5: 61,706"), LeNet5(10)),
                      (N_("a conv without bias"), nn.Conv2d(3, 16, 3, bias=False)),
                      (N_("a shared layer counts once"), _Shared()),
                      (N_("frozen weights count; batch-norm buffers do not"), _frozen()),
                      (N_("no parameters"), nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)))]
    elif family == "hidden":
        models = grader_module("receptive").count_params_models(seed)
    else:
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")
    return [Case(name, {"model": m}, {}, hint) for name, m in models]


def _count_params_reference(case: Case):
    n = _count_params_ref(case.inputs["model"])
    if "AlexNet" in case.name:
        assert n == ALEXNET_TABLE_PARAMS
    return n


def check_count_params(fn, family: str = "visible", seed: int = 0) -> CheckReport:
    """Compare ``count_params(model)`` with the reference count."""
    cases = count_params_cases(family, seed)
    with quiet(), one_thread():
        return run_cases(fn, "count_params", cases, _count_params_reference,
                         what="count_params", family=family, forbidden=FORBIDDEN, forbidden_reason=REASON)


# --- FLOPs -------------------------------------------------------------------------------

def conv2d_flops_cases(family: str = "visible", seed: int = 0) -> list[Case]:
    hint = N_("FLOPs = 2 * out_channels * H_out * W_out * (in_channels / groups) * kH * kW "
              "(a multiply-add is 2 FLOPs; the bias add is not counted); raise ValueError when "
              "in_channels or out_channels is not divisible by groups.")
    grid = []
    if family == "visible":
        grid = [
            (N_("the lecture's regular conv: 3 -> 16, 3x3, 128x128 output (golden 2 x 7,077,888)"),
             3, 16, 3, (128, 128), 1),
            (N_("the lecture's depthwise 3x3 on 3 channels (golden 2 x 442,368)"), 3, 3, 3, 128, 3),
            (N_("the lecture's pointwise 3 -> 16 (golden 2 x 786,432)"), 3, 16, 1, 128, 1),
            (N_("non-square kernel and output"), 4, 6, (3, 2), (7, 5), 1),
            (N_("groups 2"), 4, 6, (3, 2), (5, 4), 2),
            (N_("1x1 output"), 8, 2, 5, 1, 1),
            (N_("error: in_channels not divisible by groups"), 5, 4, 3, 6, 2),
            (N_("error: out_channels not divisible by groups"), 4, 3, 3, 6, 2),
        ]
    elif family == "hidden":
        grid = grader_module("receptive").conv2d_flops_grid(seed)
    else:
        raise ValueError(f"family must be 'visible' or 'hidden', not {family!r}")
    return [Case(name, {"in_channels": cin, "out_channels": cout, "kernel_size": k, "output_hw": out},
                 {"groups": g}, hint) for name, cin, cout, k, out, g in grid]


def _conv2d_flops_reference(case: Case):
    cin, cout, k, out = case.inputs.values()
    g = case.kwargs["groups"]
    kh, kw = _pair(k)
    oh, ow = _pair(out)
    try:
        conv = nn.Conv2d(cin, cout, (kh, kw), groups=g)
    except ValueError as exc:
        return exc
    x = torch.zeros(1, cin, oh + kh - 1, ow + kw - 1)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = conv(x)
    assert tuple(y.shape[-2:]) == (oh, ow)
    return int(counter.get_total_flops())


def check_conv2d_flops(fn, family: str = "visible", seed: int = 0) -> CheckReport:
    """Compare ``conv2d_flops(...)`` with ``FlopCounterMode`` on ``nn.Conv2d``."""
    cases = conv2d_flops_cases(family, seed)
    with quiet(), one_thread():
        return run_cases(fn, "conv2d_flops", cases, _conv2d_flops_reference, what="conv2d_flops",
                         family=family, forbidden=FORBIDDEN, forbidden_reason=REASON)



__all__ = ["RF_PARTS", "check_receptive_field", "check_count_params", "check_conv2d_flops",
           "receptive_field_cases", "count_params_cases", "conv2d_flops_cases", "alexnet_table",
           "ALEXNET_TABLE_PARAMS", "CheckFailure"]
