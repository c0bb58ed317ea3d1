"""The printable book: the whole course as one PDF (`make pdf`).

Run as a script, it builds the LaTeX of the book with Jupyter Book's Sphinx (the `latex`
builder, `_config.yml`'s latex settings) into _build/latex and typesets it with XeLaTeX
(latexmk) into _build/latex/cnn-course.pdf, then copies the PDF beside the HTML book
(_build/html/cnn-course.pdf) when that exists, for its download menu. Its doctrees are its
own (_build/.doctrees-latex), so an HTML build running at the same time is not disturbed.

Loaded by Sphinx as an extension (`_config.yml`), it replaces every widget in the LaTeX
build -- where a widget cannot run -- by one line saying that the interactive version is in
the HTML book, followed by the widget's static figure: the figure of the next cell when
that cell shows the widget's `fallback()`, otherwise `fallback()` drawn here from the
widget's state stored in the notebook. The HTML builders are not affected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
LATEX_DIR = BUILD / "latex"
PDF_NAME = "cnn-course"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FIGURE_DIR = "widget-figures"  # under the LaTeX output folder


# --------------------------------------------------------------------------------------
# The Sphinx extension


def _is_container(node, element: str) -> bool:
    from docutils import nodes

    return isinstance(node, nodes.container) and node.get("nb_element") == element


def _widget_state(notebook: Path, model_id: str, cache: dict) -> dict | None:
    if notebook not in cache:
        meta = json.loads(notebook.read_text()).get("metadata", {})
        cache[notebook] = meta.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    entry = cache[notebook].get(model_id)
    return entry and entry.get("state")


def _network_explorer_figure(state: dict):
    """NetworkExplorer has no ``fallback()``: the digit the widget shows, LeNet-5's feature
    maps after each convolution and its ten class probabilities, computed as the widget's
    JavaScript does (the digit standardised, then padded by 2 pixels of background)."""
    import base64

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn as nn

    from cnncourse.architectures.lenet import LeNet5
    from cnncourse.widgets.network_explorer import import_weights

    arch = state["arch"]
    model = LeNet5(activation=nn.ReLU if arch.get("activation") == "relu" else nn.Tanh,
                   pool=nn.MaxPool2d if arch.get("pool") == "max" else nn.AvgPool2d)
    import_weights(model, state["weights"]).eval()
    digits = np.frombuffer(base64.b64decode(state["digits"]), dtype=np.uint8).reshape(-1, 28, 28)
    k = int(state.get("digit", 0))
    img = digits[k] / 255.0
    x = np.full((32, 32), (0 - arch["mean"]) / arch["std"])
    x[2:30, 2:30] = (img - arch["mean"]) / arch["std"]
    layers = model.feature_extractor
    with torch.no_grad():
        t = torch.tensor(x, dtype=torch.float32)[None, None]
        c1 = layers[1](layers[0](t))
        c2 = layers[4](layers[3](layers[2](c1)))
        _, probs = model(t)
    fig = plt.figure(figsize=(9, 3.6))
    grid = fig.add_gridspec(4, 12, width_ratios=[3, 0.3] + [1] * 8 + [0.3, 4])
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(img, cmap="gray_r")
    ax.set_title(f"test digit {k} (label {state['labels'][k]})", fontsize=9)
    ax.axis("off")
    for i in range(6):
        a = fig.add_subplot(grid[i // 3, 2 + i % 3])
        a.imshow(c1[0, i], cmap="RdBu_r"); a.axis("off")
        if i == 1:
            a.set_title("conv1 (6 maps)", fontsize=8)
    for i in range(16):
        a = fig.add_subplot(grid[2 + i // 8, 2 + i % 8])
        a.imshow(c2[0, i], cmap="RdBu_r"); a.axis("off")
        if i == 3:
            a.set_title("conv2 (16 maps)", fontsize=8)
    a = fig.add_subplot(grid[:, 11])
    p = probs[0].numpy()
    a.barh(range(10), p, color=["tab:orange" if c == p.argmax() else "tab:blue" for c in range(10)])
    a.set_yticks(range(10)); a.invert_yaxis(); a.set_xlim(0, 1)
    a.set_title("class probabilities", fontsize=9)
    a.tick_params(labelsize=8)
    return fig


def _draw_fallback(state: dict, path: Path) -> bool:
    """Draw the widget's ``fallback()`` from its stored state into ``path``; False when the
    widget has none."""
    import importlib

    import anywidget
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module, _, name = state.get("_anywidget_id", "").rpartition(".")
    if not module:
        return False
    cls = getattr(importlib.import_module(module), name)
    if hasattr(cls, "fallback"):
        synced = set(cls.class_trait_names(sync=True)) - set(anywidget.AnyWidget.class_trait_names())
        widget = cls.__new__(cls)
        # The widget as the notebook left it, without its constructor (which computes the
        # state from Python objects the notebook had, a model or a photo).
        anywidget.AnyWidget.__init__(widget, **{k: v for k, v in state.items() if k in synced})
        fig = widget.fallback()
        widget.close()
    elif name == "NetworkExplorer":
        fig = _network_explorer_figure(state)
    else:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return True


def _note(name: str, below: bool):
    from docutils import nodes

    text = (f"Widget {name}: interactive in the HTML book"
            + ("; its static figure follows." if below else "."))
    return nodes.paragraph("", "", nodes.emphasis(text=text), classes=["cnncourse-widget-note"])


def _make_transform():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class WidgetsToStaticFigures(SphinxPostTransform):
        """LaTeX only: each widget output -> a one-line note and its static figure."""

        default_priority = 3  # before myst-nb's SelectMimeType (4) drops the widget view
        builders = ("latex",)

        def run(self, **kwargs) -> None:
            from docutils import nodes
            from sphinx.util import logging

            logger = logging.getLogger(__name__)
            cache: dict = {}
            outdir = Path(self.app.builder.outdir)
            for bundle in list(self.document.findall(lambda n: _is_container(n, "mime_bundle"))):
                view = next((c for c in bundle.children if c.get("mime_type") == WIDGET_VIEW), None)
                if view is None:
                    continue
                model = re.search(r'"model_id":\s*"([0-9a-f]+)"', view.astext())
                source = Path(bundle.source or "")
                docname = self.env.path2doc(str(source)) or source.stem
                state = (_widget_state(source, model.group(1), cache)
                         if model and source.suffix == ".ipynb" and source.exists() else None)
                name = (state or {}).get("_anywidget_id", "widget").rpartition(".")[2]

                # Does the next cell show the widget's fallback figure?
                cell = bundle
                while cell is not None and not _is_container(cell, "cell_code"):
                    cell = cell.parent
                shown_next = False
                if cell is not None and cell.parent is not None:
                    siblings = cell.parent.children
                    i = siblings.index(cell)
                    following = siblings[i + 1] if i + 1 < len(siblings) else None
                    shown_next = (following is not None and _is_container(following, "cell_code")
                                  and ".fallback()" in following.astext())
                replacement = []
                if shown_next:
                    replacement.append(_note(name, True))
                else:
                    key = model.group(1)[:12] if model else "x"
                    png = outdir / FIGURE_DIR / f"{docname.replace('/', '-')}-{key}.png"
                    drawn = False
                    if state is not None:
                        try:
                            drawn = _draw_fallback(state, png)
                        except Exception as exc:  # a warning: an error under make pdf's -W
                            logger.warning(f"static figure of {name} failed: {exc!r}",
                                           location=bundle)
                    replacement.append(_note(name, drawn))
                    if drawn:
                        uri = png.relative_to(outdir).as_posix()
                        replacement.append(nodes.image(uri=uri, candidates={"*": uri},
                                                       width="85%", align="center"))
                    else:
                        logger.warning(f"widget {name} has no static figure for the PDF",
                                       location=bundle)
                bundle.replace_self(replacement)

    return WidgetsToStaticFigures


_TEXT_IN_MATH = re.compile(r"\\(text|textrm|textit|textbf|texttt|textsf|mbox)\{([^{}]*)\}")


def _make_math_transform():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class TextUnderscoresInMath(SphinxPostTransform):
        """LaTeX only: ``\\text{kernel_size}`` in a formula (MathJax takes it; TeX stops at
        a bare ``_`` in text) becomes ``\\text{kernel\\_size}``."""

        default_priority = 5
        builders = ("latex",)

        def run(self, **kwargs) -> None:
            from docutils import nodes

            fix = lambda m: "\\%s{%s}" % (m.group(1), re.sub(r"(?<!\\)_", r"\\_", m.group(2)))
            for node in list(self.document.findall(
                    lambda n: isinstance(n, (nodes.math, nodes.math_block)))):
                text = node.astext()
                fixed = _TEXT_IN_MATH.sub(fix, text)
                if fixed != text:
                    node[:] = [nodes.Text(fixed)]

    return TextUnderscoresInMath


def _make_parts_transform():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class PartCaptions(SphinxPostTransform):
        """LaTeX only: the toctree caption "Part I. Images and convolutions" becomes the
        part "Images and convolutions" (LaTeX numbers it "Part I" itself); the root page
        (book/intro), which sphinx-jupyterbook-latex sets after the table of contents with
        no heading, gets its title back as an unnumbered chapter listed in the contents."""

        default_priority = 650  # before sphinx-jupyterbook-latex makes parts of them (700)
        builders = ("latex",)

        def run(self, **kwargs) -> None:
            from docutils import nodes

            for node in self.document.findall(nodes.compound):
                if "toctree-wrapper" in node["classes"] and node.get("caption"):
                    node["caption"] = re.sub(r"^Part [IVX]+\.\s*", "", node["caption"])
            root = self.config.root_doc
            if self.env.docname == root and root in self.env.titles:
                from sphinx.util.texescape import escape

                title = escape(self.env.titles[root].astext())
                heading = (f"\\chapter*{{{title}}}\\addcontentsline{{toc}}{{chapter}}{{{title}}}"
                           f"\\markboth{{{title}}}{{{title}}}\n")
                self.document.insert(0, nodes.raw("", heading, format="latex"))

    return PartCaptions


def setup(app):
    app.add_post_transform(_make_transform())
    app.add_post_transform(_make_math_transform())
    app.add_post_transform(_make_parts_transform())
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------------------
# The build


def build_latex() -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    from jupyter_book.sphinx import build_sphinx

    return build_sphinx(
        ROOT, LATEX_DIR, use_external_toc=True, noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides={"external_toc_path": "_toc.yml", "latex_individualpages": False,
                       "nitpicky": True},
        builder="latex", doctreedir=BUILD / ".doctrees-latex", freshenv=True,
        warningiserror=True, keep_going=True, quiet=True,
    )


def typeset() -> int:
    # latexmk reruns XeLaTeX until the table of contents and references settle.
    cmd = ["latexmk", "-pdfxe", "-dvi-", "-ps-", "-interaction=nonstopmode", "-halt-on-error",
           "-file-line-error", "-silent", f"{PDF_NAME}.tex"]
    env = dict(os.environ, LATEXOPTS="", XINDYOPTS="")  # read by Sphinx's latexmkrc
    return subprocess.run(cmd, cwd=LATEX_DIR, env=env).returncode


def page_count(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def main() -> int:
    start = time.monotonic()
    shutil.rmtree(LATEX_DIR, ignore_errors=True)  # nothing stale (an old index, a figure)
    if build_latex():
        print("pdf: the LaTeX build failed (warnings are errors)", file=sys.stderr)
        return 1
    latex_s = time.monotonic() - start
    if typeset():
        print(f"pdf: XeLaTeX failed; see {LATEX_DIR / (PDF_NAME + '.log')}", file=sys.stderr)
        return 1
    pdf = LATEX_DIR / f"{PDF_NAME}.pdf"
    html = BUILD / "html"
    if html.is_dir():
        (html / pdf.name).write_bytes(pdf.read_bytes())
    total = time.monotonic() - start
    print(f"pdf: {pdf.relative_to(ROOT)}: {page_count(pdf)} pages, "
          f"{pdf.stat().st_size / 2**20:.1f} MiB, in {total:.0f} s "
          f"(LaTeX {latex_s:.0f} s, XeLaTeX {total - latex_s:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
