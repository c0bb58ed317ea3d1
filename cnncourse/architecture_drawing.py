"""Architecture drawings made from the module itself, so that drawing and model cannot drift.

:func:`architecture_graph` traces a module with ``torch.fx`` and runs an input through it
(``ShapeProp``) to get every operation, what feeds it and the shape it outputs; shape
plumbing (``size``, indexing) is left out, and element-wise steps that follow a layer
(batch norm, activations, dropout, reshapes) are folded into that layer's box, as papers
draw them. :func:`draw_architecture` draws the graph with matplotlib: a chain (LeNet,
AlexNet, VGG) as rows of boxes read left to right, a block with branches (Inception,
residual, squeeze-and-excitation) top to bottom, its long connections (the identity of a
residual block) as arcs.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

#: folded into the box of the layer before them
_FOLDED_MODULES = (nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Dropout,
                   nn.Dropout2d, nn.LocalResponseNorm, nn.Flatten, nn.Softmax)
_FOLDED_FUNCTIONS = {F.relu, torch.relu, torch.tanh, torch.sigmoid, F.softmax, torch.softmax,
                     torch.flatten, F.dropout, F.local_response_norm}
_FOLDED_METHODS = {"view", "reshape", "flatten", "expand_as", "relu", "sigmoid", "softmax"}
_MERGES = {operator.add: "+", torch.add: "+", operator.mul: "×", torch.mul: "×",
           torch.cat: "concat"}


@dataclass
class ArchNode:
    """One box of the drawing: a layer (with what was folded into it) or a merge."""

    name: str
    label: str
    kind: str  # "input", "conv", "pool", "linear", "merge", "other"
    shape: tuple  # output shape without the batch dimension
    inputs: list[str] = field(default_factory=list)


def _pair(v) -> str:
    v = v if isinstance(v, tuple) else (v, v)
    return f"{v[0]}×{v[1]}"


def _module_label(m: nn.Module) -> tuple[str, str]:
    if isinstance(m, nn.Conv2d):
        extra = [f"/{m.stride[0]}"] if m.stride != (1, 1) else []
        extra += [f"groups {m.groups}"] if m.groups > 1 else []
        return "conv", f"conv {_pair(m.kernel_size)}, {m.out_channels}" + "".join(
            f" {e}" for e in extra)
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
        stride = m.stride if m.stride is not None else m.kernel_size
        return "pool", f"{kind} pool {_pair(m.kernel_size)} /{_pair(stride).split('×')[0]}"
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        kind = "max" if isinstance(m, nn.AdaptiveMaxPool2d) else "avg"
        return "pool", f"global {kind} pool" if m.output_size in (1, (1, 1)) else \
            f"adaptive {kind} pool {_pair(m.output_size)}"
    if isinstance(m, nn.Linear):
        return "linear", f"dense {m.in_features}→{m.out_features}"
    return "other", type(m).__name__


def _fold_label(target, m: nn.Module | None) -> str:
    if m is not None:
        return {nn.BatchNorm2d: "BN", nn.BatchNorm1d: "BN", nn.LocalResponseNorm: "LRN",
                nn.Flatten: "flatten", nn.Dropout: "dropout", nn.Dropout2d: "dropout"}.get(
            type(m), type(m).__name__)
    name = getattr(target, "__name__", str(target))
    return {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "softmax",
            "flatten": "flatten", "dropout": "dropout", "local_response_norm": "LRN"}.get(name, "")


def _shape(node) -> tuple | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape)[1:] if hasattr(meta, "shape") else None


def architecture_graph(model: nn.Module, x: torch.Tensor) -> list[ArchNode]:
    """The boxes of ``model``'s drawing, in execution order, for the input ``x``."""
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    traced = fx.symbolic_trace(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ShapeProp(traced).propagate(x)
    finally:
        model.train(was_training)
    modules = dict(traced.named_modules())
    boxes: dict[str, ArchNode] = {}
    alias: dict[str, str] = {}  # fx node -> the box that stands for it

    def sources(node) -> list[str]:
        out = []
        for a in node.all_input_nodes:
            if a.name in alias and alias[a.name] not in out:
                out.append(alias[a.name])
        return out

    users: dict[str, int] = {}
    for node in traced.graph.nodes:
        for a in node.all_input_nodes:
            if _shape(a) is not None and _shape(node) is not None:
                users[a.name] = users.get(a.name, 0) + 1
    for node in traced.graph.nodes:
        shape = _shape(node)
        if node.op == "output" or shape is None:
            continue
        if node.op == "placeholder":
            boxes[node.name] = ArchNode(node.name, "input", "input", shape)
            alias[node.name] = node.name
            continue
        m = modules.get(node.target) if node.op == "call_module" else None
        ins = sources(node)
        folds = ((m is not None and isinstance(m, _FOLDED_MODULES))
                 or (node.op == "call_function" and node.target in _FOLDED_FUNCTIONS)
                 or (node.op == "call_method" and node.target in _FOLDED_METHODS))
        if folds and len(ins) >= 1 and boxes[ins[0]].kind not in ("input", "merge") \
                and users.get(_producer(node, alias), 1) == 1:
            box = boxes[ins[0]]
            extra = _fold_label(node.target, m)
            if extra and extra not in ("flatten",) + tuple(box.label.split(" · ")[1:]):
                box.label += f" · {extra}"
            box.shape = shape
            alias[node.name] = box.name
            continue
        if node.op == "call_function" and node.target in _MERGES:
            kind, label = "merge", _MERGES[node.target]
        elif m is not None:
            kind, label = _module_label(m)
        else:
            kind, label = "other", getattr(node.target, "__name__", str(node.target))
        boxes[node.name] = ArchNode(node.name, label, kind, shape, ins)
        alias[node.name] = node.name
    return list(boxes.values())


def _producer(node, alias) -> str:
    """The fx name of the tensor input a foldable node takes (its users decide the fold)."""
    for a in node.all_input_nodes:
        if a.name in alias:
            return a.name
    return ""


_COLOURS = {"input": "#9e9e9e", "conv": "#4c78a8", "pool": "#f58518", "linear": "#54a24b",
            "merge": "#b279a2", "other": "#9e9e9e"}


def _shape_text(shape: tuple) -> str:
    if len(shape) == 3:
        return f"{shape[0]}@{shape[1]}×{shape[2]}"
    return "×".join(map(str, shape))


def _depths(nodes: list[ArchNode]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for n in nodes:
        depth[n.name] = 1 + max((depth[i] for i in n.inputs), default=-1)
    return depth


def _lanes(nodes: list[ArchNode]) -> dict[str, float]:
    """A column for each box: the branches leaving a box side by side under it, a chain in
    its box's column, a merge in the middle of what it merges."""
    children: dict[str, list[ArchNode]] = {}
    for n in nodes:
        for i in n.inputs:
            children.setdefault(i, []).append(n)
    lane: dict[str, float] = {}
    width: dict[str, float] = {}  # how many columns the boxes below a box need

    def need(name: str) -> float:
        if name not in width:
            kids = [k for k in children.get(name, []) if len(k.inputs) == 1]
            width[name] = max(1.0, sum(need(k.name) for k in kids))
        return width[name]

    for n in nodes:
        if not n.inputs:
            lane[n.name] = 0.0
        elif len(n.inputs) > 1:
            lane[n.name] = sum(lane[i] for i in n.inputs) / len(n.inputs)
        if n.name not in lane:
            continue
        kids = [k for k in children.get(n.name, []) if len(k.inputs) == 1]
        total = sum(need(k.name) for k in kids)
        left = lane[n.name] - total / 2
        for k in kids:
            lane[k.name] = left + need(k.name) / 2
            left += need(k.name)
    return lane


def draw_architecture(model: nn.Module, x: torch.Tensor, title: str | None = None,
                      per_row: int = 4):
    """Draw ``model`` (see the module's docstring); returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    nodes = architecture_graph(model, x)
    depth = _depths(nodes)
    chain = all(len(n.inputs) <= 1 for n in nodes) and len(set(depth.values())) == len(nodes)
    step_x, step_y, box_w, box_h = 2.35, 1.15, 1.95, 0.66
    pos: dict[str, tuple[float, float]] = {}
    if chain:  # rows of per_row boxes, left to right, top to bottom
        for i, n in enumerate(nodes):
            pos[n.name] = ((i % per_row) * step_x, -(i // per_row) * (step_y + 0.25))
    else:  # top to bottom by depth, branches side by side
        lanes = _lanes(nodes)
        for n in nodes:
            pos[n.name] = (lanes[n.name] * step_x, -depth[n.name] * step_y)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    width, height = max(xs) - min(xs) + step_x + 0.4, max(ys) - min(ys) + step_y
    fig, ax = plt.subplots(figsize=(max(4.0, width * 0.8), max(1.2, height * 0.8)))
    arrow = dict(arrowstyle="-|>", mutation_scale=9, linewidth=0.9, color="#808080")
    for n in nodes:
        cx, cy = pos[n.name]
        colour = _COLOURS[n.kind]
        if n.kind == "merge":
            ax.add_patch(plt.Circle((cx, cy), 0.24, facecolor=colour, edgecolor=colour))
            ax.text(cx, cy, n.label if n.label != "concat" else "∥", ha="center", va="center",
                    color="white", fontsize=11, fontweight="bold")
            ax.text(cx + 0.22, cy - 0.3, ("concat, " if n.label == "concat" else "")
                    + _shape_text(n.shape), ha="left", va="top", fontsize=8)
            continue
        for face, edge, alpha in ((colour, colour, 0.18), ("none", colour, 1.0)):
            ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.02,rounding_size=0.08",
                                        facecolor=face, edgecolor=edge, alpha=alpha,
                                        linewidth=1.2))
        label = n.label.replace(" · ", "\n", 1) if len(n.label) > 17 else n.label
        ax.text(cx, cy + 0.08, label, ha="center", va="center", fontsize=8.5)
        ax.text(cx, cy - box_h / 2 + 0.1, _shape_text(n.shape), ha="center", va="center",
                fontsize=7.5, alpha=0.85)

    def edge_of(name: str, side: str) -> tuple[float, float]:
        cx, cy = pos[name]
        half = 0.24 if _kind(nodes, name) == "merge" else box_h / 2
        half_w = 0.24 if _kind(nodes, name) == "merge" else box_w / 2
        return {"top": (cx, cy + half), "bottom": (cx, cy - half), "left": (cx - half_w, cy),
                "right": (cx + half_w, cy)}[side]

    for n in nodes:
        for src in n.inputs:
            (x0, y0), (x1, y1) = pos[src], pos[n.name]
            if chain and abs(y0 - y1) < 1e-6:  # along a row
                ax.add_patch(FancyArrowPatch(edge_of(src, "right"), edge_of(n.name, "left"), **arrow))
            elif chain:  # from the end of a row down to the start of the next
                (bx, by), (tx, ty) = edge_of(src, "bottom"), edge_of(n.name, "top")
                mid = (by + ty) / 2
                ax.plot([bx, bx, tx], [by, mid, mid], color="#808080", linewidth=0.9)
                ax.add_patch(FancyArrowPatch((tx, mid), (tx, ty), **arrow))
            elif abs(x0 - x1) < 1e-6 and depth[n.name] - depth[src] > 1:  # a skip: around
                ax.add_patch(FancyArrowPatch(edge_of(src, "right"), edge_of(n.name, "right"),
                                             connectionstyle="arc3,rad=-0.5", **arrow))
            elif depth[n.name] - depth[src] > 1:  # down its own column, then across
                (bx, by) = edge_of(src, "bottom")
                side = "left" if x0 < x1 else "right"
                (tx, ty) = edge_of(n.name, side)
                ax.plot([bx, bx], [by, ty], color="#808080", linewidth=0.9)
                ax.add_patch(FancyArrowPatch((bx, ty), (tx, ty), **arrow))
            else:
                ax.add_patch(FancyArrowPatch(edge_of(src, "bottom"), edge_of(n.name, "top"), **arrow))
    ax.set_xlim(min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 1.2)
    ax.set_ylim(min(ys) - box_h / 2 - 0.2, max(ys) + box_h / 2 + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _kind(nodes: list[ArchNode], name: str) -> str:
    return next(n.kind for n in nodes if n.name == name)


__all__ = ["ArchNode", "architecture_graph", "draw_architecture"]
