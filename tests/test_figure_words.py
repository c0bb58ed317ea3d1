"""No English word in a figure of the Russian edition (issue #17, item 4).

The chapters' figures are drawn once per language when the chapters are executed
(cnncourse.figure_text, installed by use_book_style); each figure output records, in its
metadata, the texts drawn in each language and carries the other languages' images. These
tests read the committed chapters (no kernel, no training): every figure of the book has a
Russian image, its Russian texts have no English word (names and notation aside), and each
edition's copy of a notebook (what tools/russian_edition.py hands to Sphinx) shows that
edition's image. They also draw the figures of the shared drawing code (architecture
drawings, the widgets' static figures) in Russian, here.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from cnncourse.figure_text import KEY, english_words, figure_texts, drawn_in, translate

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PNG = b"\x89PNG\r\n\x1a\n"


def figure_outputs(path: Path):
    """(code cell number, output) of every image output of the notebook at ``path``."""
    nb = json.loads(path.read_text())
    code = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                yield code, out
        code += 1


def problems(path: Path) -> list[str]:
    """What is wrong with the figures of one notebook, for the Russian edition."""
    found = []
    for cell, out in figure_outputs(path):
        where = f"{path.relative_to(ROOT)}, code cell {cell}"
        record = out.get("metadata", {}).get("image/png", {}).get(KEY)
        if record is None:
            found.append(f"{where}: a figure drawn in one language only (no {KEY} record: "
                         "not drawn through cnncourse.figure_text; re-execute the chapter)")
            continue
        if record["language"] != "en":
            found.append(f"{where}: the committed image is in {record['language']!r}, not English")
        ru = record["images"].get("ru")
        if ru is None or not base64.b64decode(ru).startswith(PNG):
            found.append(f"{where}: no Russian image")
        for text in record["texts"].get("ru", []):
            if english_words(text):
                found.append(f"{where}: English in the Russian figure: {text!r} "
                             f"({', '.join(english_words(text))})")
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_russian_figures_have_no_english_words(path):
    found = problems(path)
    assert not found, "\n".join(found)


def test_the_book_has_figures_drawn_per_language():
    """The check above is not vacuous: the book's chapters have figures, all recorded."""
    counted = [out for p in CHAPTERS for _, out in figure_outputs(p)]
    assert len(counted) >= 50, len(counted)
    english = [t for out in counted
               for t in out.get("metadata", {}).get("image/png", {}).get(KEY, {}).get("texts", {}).get("en", [])]
    assert sum(bool(english_words(t)) for t in english) >= 50  # the English figures have words


def test_a_figure_that_keeps_english_is_found():
    """The word check itself: English left in a figure fails, names and notation do not."""
    assert english_words("training loss") == ["training", "loss"]
    assert english_words("потери на обучении") == []
    assert english_words("свёртка 3×3, 64 · ReLU") == []
    assert english_words(r"$\alpha$ (шаг) VGG-16, top-5, nn.Dropout2d(0.5)") == []
    assert english_words("ядро: sharpen") == ["sharpen"]


def test_each_edition_keeps_its_own_image():
    """What Sphinx reads: tools/russian_edition.py's ``source-read`` handler gives each
    edition (its ``language``) the notebook with that edition's images and no other."""
    import sys
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT / "tools"))
    from russian_edition import figures_in_edition

    path = ROOT / "book" / "part1" / "06_cnn.ipynb"
    source = path.read_text()
    _, out = next(figure_outputs(path))
    record = out["metadata"]["image/png"][KEY]
    assert record["images"]["ru"] != out["data"]["image/png"]
    for language, image in (("en", out["data"]["image/png"]), ("ru", record["images"]["ru"])):
        app = SimpleNamespace(config=SimpleNamespace(language=language),
                              env=SimpleNamespace(doc2path=lambda docname: str(path)))
        read = [source]
        figures_in_edition(app, "book/part1/06_cnn", read)
        assert KEY not in read[0]
        edition = json.loads(read[0])
        images = [o["data"]["image/png"] for c in edition["cells"] for o in c.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        assert images[0] == image
        assert len(images) == len(list(figure_outputs(path)))


def _russian_words(fig) -> list[str]:
    fig.canvas.draw()
    with drawn_in(fig, "ru"):
        fig.canvas.draw()
        texts = figure_texts(fig)
    fig.canvas.draw()
    return [f"{t!r}: {w}" for t in texts for w in english_words(t)]


def test_shared_drawings_in_russian():
    """The shared drawing code, drawn here: the book's architecture drawings and the widgets'
    static figures have no English word in Russian, and are English again afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    from cnncourse.architecture_drawing import draw_architecture
    from cnncourse.architectures import lenet
    from cnncourse.architectures.resnet import Bottleneck
    from cnncourse.architectures.senet import SELayer
    from cnncourse.widgets import ConvArithmetic, ConvMatrix, PoolingExplorer

    figs = [draw_architecture(lenet.LeNet5(), torch.zeros(1, 1, 32, 32),
                              title="LeNet-5 (the slide's listing)"),
            draw_architecture(lenet.lenet5_modern(), torch.zeros(1, 1, 32, 32)),
            draw_architecture(Bottleneck(256, 64), torch.zeros(1, 256, 56, 56)),
            draw_architecture(SELayer(64), torch.zeros(1, 64, 56, 56)),
            draw_architecture(nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, groups=1), nn.ReLU(),
                                            nn.Dropout(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                            nn.Linear(8, 10)), torch.zeros(1, 3, 16, 16)),
            ConvArithmetic(input_hw=4, kernel_size=2, transposed=True).fallback(),
            ConvMatrix().fallback(),
            PoolingExplorer(kind="max", kernel_size=3, stride=2, padding=1).fallback(),
            PoolingExplorer(kind="avg").fallback()]
    try:
        english = 0
        for fig in figs:
            fig.canvas.draw()
            before = figure_texts(fig)
            english += any(english_words(t) for t in before)
            assert _russian_words(fig) == []
            assert figure_texts(fig) == before
        assert english >= 6  # most of them have English words to translate
    finally:
        for fig in figs:
            plt.close(fig)


def test_untranslated_text_is_left_as_is():
    assert translate("a sentence nobody translated", "ru") == "a sentence nobody translated"
    assert translate("kernel: top sobel", "ru") == "ядро: Собель сверху"
    assert translate("conv 5×5, 6 · ReLU\nmax pool 2×2 /2", "ru") == "свёртка 5×5, 6 · ReLU\nmax-пулинг 2×2 /2"
    assert copy.deepcopy(translate("input", "en")) == "input"
