"""Counting a network: parameters, output shapes and FLOPs per layer.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts a
multiply-add as 2 FLOPs (papers often count multiply-adds: divide by 2 to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared parameter counted once)."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def count_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Total FLOPs of one forward pass on ``inputs`` (a multiply-add = 2 FLOPs)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return int(counter.get_total_flops())


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    flops: int


def layer_table(model: nn.Module, x: torch.Tensor, leaf_types=None) -> list[LayerRow]:
    """Per-layer output shape, own parameters and FLOPs, for the leaf modules of ``model``
    (or the modules whose type is in ``leaf_types``), in the order they run."""
    rows: list[LayerRow] = []
    hooks = []

    def is_leaf(m):
        if leaf_types is not None:
            return isinstance(m, tuple(leaf_types))
        return len(list(m.children())) == 0

    def pre_hook(module, args):
        counter = FlopCounterMode(display=False)
        counter.__enter__()
        module._cnncourse_counter = counter

    def hook(module, args, output):
        counter = module._cnncourse_counter
        counter.__exit__(None, None, None)
        del module._cnncourse_counter
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
        rows.append(LayerRow(module._cnncourse_name, type(module).__name__, shape,
                             count_params(module), int(counter.get_total_flops())))

    for name, module in model.named_modules():
        if name and is_leaf(module):
            module._cnncourse_name = name
            hooks.append(module.register_forward_pre_hook(pre_hook))
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        for _, module in model.named_modules():
            if hasattr(module, "_cnncourse_name"):
                del module._cnncourse_name
    return rows


def print_layer_table(rows: list[LayerRow], flops: bool = True) -> None:
    """Print a layer table with thousands separators and a total line."""
    head = f"{'layer':<28}{'type':<18}{'output shape':<22}{'params':>14}"
    print(head + (f"{'FLOPs':>18}" if flops else ""))
    for r in rows:
        line = f"{r.name:<28}{r.kind:<18}{str(r.output_shape):<22}{r.params:>14,}"
        print(line + (f"{r.flops:>18,}" if flops else ""))
    total = f"{'total':<68}{sum(r.params for r in rows):>14,}"
    print(total + (f"{sum(r.flops for r in rows):>18,}" if flops else ""))
