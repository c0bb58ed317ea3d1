"""The network explorer (cnncourse/widgets/network_explorer.*, chapter II-01): the trained
LeNet-5 running in the page.

Parity (Node): the widget's JavaScript forward pass, with the weights the chapter exported
into its widget state, gives PyTorch's activations and probabilities on 100 MNIST test
digits, layer by layer; its preprocessing of a drawing is the Python one's.
Browser (headless Chromium, the built book): it reacts to the mouse and the keyboard with no
kernel, a forward pass and redraw takes under 50 ms, it fits a 390 px wide screen, and its
text has a contrast of at least 4.5:1.
"""

from __future__ import annotations

import base64
import json
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book_browser import CONTRAST, settle
from cnncourse.architectures.lenet import LeNet5, lenet5_modern
from cnncourse.data import MNIST_MEAN, MNIST_STD, load_mnist, mnist_tensor_dataset
from cnncourse.widgets.network_explorer import (export_weights, import_weights,
                                                mnist_test_digits, preprocess_drawing)

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "cnncourse" / "widgets" / "network_explorer.js"
RUNNER = Path(__file__).with_name("widgets_js_runner.mjs")
CHAPTER = ROOT / "book" / "part2" / "01_lenet.ipynb"
PAGE = "book/part2/01_lenet.html"
LAYERS = ("conv1", "pool1", "conv2", "pool2", "conv3", "fc1", "logits", "probs")
N_DIGITS = 100
TOLERANCE = 1e-4


def js(calls: list) -> list:
    node = shutil.which("node")
    assert node, "node is not on PATH (the project's setup installs it)"
    proc = subprocess.run([node, str(RUNNER)], capture_output=True, text=True, timeout=120,
                          input=json.dumps({"module": str(MODULE), "calls": calls}), check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    errors = [r["error"] for r in results if not r["ok"]]
    assert not errors, errors[0]
    return [r["value"] for r in results]


def chapter_widget_state() -> dict:
    """The state of the chapter's NetworkExplorer, as `make execute` stored it."""
    nb = json.loads(CHAPTER.read_text())
    states = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    ids = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
           for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])
           if "<NetworkExplorer widget>" in "".join(o.get("data", {}).get("text/plain", ""))]
    assert len(ids) == 1, f"the chapter should show one NetworkExplorer, not {len(ids)}"
    return states[ids[0]]["state"]


def pytorch_layers(model, x: torch.Tensor) -> dict:
    fe, cl = model.feature_extractor, model.classifier
    with torch.no_grad():
        out = {"conv1": fe[1](fe[0](x))}
        out["pool1"] = fe[2](out["conv1"])
        out["conv2"] = fe[4](fe[3](out["pool1"]))
        out["pool2"] = fe[5](out["conv2"])
        out["conv3"] = fe[7](fe[6](out["pool2"])).flatten(1)
        out["fc1"] = cl[1](cl[0](out["conv3"]))
        out["logits"], out["probs"] = model(x)
    return {k: v.flatten(1).numpy() for k, v in out.items()}


def max_errors(model, arch: dict, weights_b64: str) -> dict:
    """Per layer, the largest |JS − PyTorch| over the first N_DIGITS test digits, each fed as
    the chapter feeds them (``padded``: standardised, padded by 2 with a black pixel's value)."""
    images, _ = load_mnist("test")
    digits = base64.b64encode(images[:N_DIGITS].numpy().tobytes()).decode()
    (got,) = js([["forwardDigits", weights_b64, digits, MNIST_MEAN, MNIST_STD, arch]])
    x = mnist_tensor_dataset("test").tensors[0][:N_DIGITS]
    x = F.pad(x, (2, 2, 2, 2), value=-MNIST_MEAN / MNIST_STD)  # the chapter's padded()
    want = pytorch_layers(model.eval(), x)
    return {name: float(np.abs(np.array([g[name] for g in got]) - want[name]).max()) for name in LAYERS}


def test_chapter_weights_forward_matches_pytorch(record_property):
    """The trained LeNet-5 the chapter exported: JS and PyTorch agree on every layer."""
    state = chapter_widget_state()
    arch = state["arch"]
    assert (arch["mean"], arch["std"]) == (MNIST_MEAN, MNIST_STD)
    model = LeNet5(10) if arch["activation"] == "tanh" else lenet5_modern(10)
    import_weights(model, state["weights"])
    assert export_weights(model) == state["weights"]  # the export round-trips exactly
    errors = max_errors(model, arch, state["weights"])
    record_property("max_abs_error_per_layer", errors)
    print("JS vs PyTorch, max |error| per layer over", N_DIGITS, "digits:",
          ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    assert all(e <= TOLERANCE for e in errors.values()), errors
    # The weights are trained ones: the embedded network reads the test digits.
    x = F.pad(mnist_tensor_dataset("test").tensors[0][:N_DIGITS], (2, 2, 2, 2), value=-MNIST_MEAN / MNIST_STD)
    with torch.no_grad():
        accuracy = (model(x)[0].argmax(1) == load_mnist("test")[1][:N_DIGITS]).float().mean().item()
    assert accuracy >= 0.9, accuracy
    # The test digits in the page are MNIST's, with their labels.
    images, labels = mnist_test_digits(len(state["labels"]))
    assert state["labels"] == labels
    assert base64.b64decode(state["digits"]) == images.astype(np.uint8).tobytes()


def test_relu_max_pool_variant_matches_pytorch():
    """The other code path (ReLU, max pooling: lenet5_modern), with seeded random weights."""
    torch.manual_seed(0)
    model = lenet5_modern(10)
    errors = max_errors(model, {"activation": "relu", "pool": "max"}, export_weights(model))
    assert all(e <= TOLERANCE for e in errors.values()), errors


def _drawings() -> list[np.ndarray]:
    """Drawings at the widget's resolution (112 × 112): strokes of random shapes and sizes,
    MNIST digits scaled up, and the edge cases (empty, one pixel, a line)."""
    rng = np.random.default_rng(0)
    out = [np.zeros((112, 112))]
    one = np.zeros((112, 112)); one[50, 60] = 0.7; out.append(one)
    line = np.zeros((112, 112)); line[10:100, 40:43] = 1.0; out.append(line)
    flat = np.zeros((112, 112)); flat[70:73, 5:110] = 0.5; out.append(flat)
    for _ in range(12):
        ink = np.zeros((112, 112))
        for _ in range(rng.integers(1, 5)):  # thick segments with soft edges
            (r0, c0), (r1, c1) = rng.integers(0, 112, (2, 2))
            for t in np.linspace(0, 1, 80):
                r, c = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
                rr, cc = np.mgrid[0:112, 0:112]
                d = np.hypot(rr - r, cc - c)
                ink = np.maximum(ink, np.clip(5 - d, 0, 1))
        out.append(np.round(ink * 255) / 255)  # as a canvas's alpha channel gives it
    images, _ = load_mnist("test")
    for k in range(4):
        out.append(np.kron(images[k, 0].numpy() / 255, np.ones((4, 4))))
    return out


def test_drawing_preprocessing_matches_python():
    drawings = _drawings()
    got = js([["preprocessDrawing", d.ravel().tolist(), 112] for d in drawings])
    for d, g in zip(drawings, got):
        want = preprocess_drawing(d)
        assert np.abs(np.array(g).reshape(28, 28) - want).max() < 1e-12
        if d.any():  # MNIST's format: a 20-pixel box, centre of mass at (14, 14)
            rows, cols = np.nonzero(want)
            assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21
            com = [(want.sum(1 - axis) * np.arange(28)).sum() / want.sum() for axis in (0, 1)]
            assert all(abs(c - 14) <= 0.5 + 1e-9 for c in com), com


def test_preprocessed_drawings_are_read_like_mnist():
    """Test digits drawn 4 times larger and preprocessed as the widget does are classified as
    well as the originals by a LeNet-5 with the chapter's weights."""
    state = chapter_widget_state()
    model = import_weights(LeNet5(10) if state["arch"]["activation"] == "tanh" else lenet5_modern(10),
                           state["weights"]).eval()
    images, labels = load_mnist("test")
    big = [np.kron(images[k, 0].numpy() / 255, np.ones((4, 4))) for k in range(N_DIGITS)]
    x = torch.tensor(np.stack([preprocess_drawing(b) for b in big]), dtype=torch.float32)[:, None]
    x = F.pad((x - MNIST_MEAN) / MNIST_STD, (2, 2, 2, 2), value=-MNIST_MEAN / MNIST_STD)
    with torch.no_grad():
        accuracy = (model(x)[0].argmax(1) == labels[:N_DIGITS]).float().mean().item()
    assert accuracy >= 0.9, accuracy


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def explorer(browser, base_url):
    """The chapter's page, opened once (1280 px wide): (page, the widget, page errors)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base_url}/{PAGE}")
    settle(page, 1)
    page.wait_for_selector(".cnnw-network .cnnw-prob", timeout=30000)
    yield page, page.locator(".cnnw-network").first, errors
    page.close()


def test_explorer_reacts_with_no_kernel(explorer, record_property):
    page, widget, errors = explorer
    verdict = widget.locator(".cnnw-status")
    assert "the label is" in verdict.inner_text()
    seen = widget.locator("canvas.cnnw-seen")
    picture = lambda: seen.evaluate("c => c.toDataURL()")
    probs = lambda: widget.locator(".cnnw-probs").inner_text()
    # Draw with the mouse: a vertical stroke.
    widget.locator("button", has_text="clear").click()
    assert "Draw a digit" in verdict.inner_text()
    pad = widget.locator("canvas.cnnw-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for t in np.linspace(0.15, 0.85, 12):
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + t * box["height"])
    page.mouse.up()
    assert "The network says" in verdict.inner_text() and "label" not in verdict.inner_text()
    drawn, drawn_probs = picture(), probs()
    # The keyboard pen adds a bar on top: the input and the probabilities change.
    pad.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert picture() != drawn and probs() != drawn_probs
    # Shift and noise change the input too.
    before = picture()
    widget.get_by_role("button", name="shift right").click()
    assert picture() != before and "1 right" in widget.inner_text()
    before = picture()
    widget.locator('input[data-role="noise"]').fill("0.5")
    assert picture() != before
    # Pointing at a unit of conv2 outlines its 14 × 14 field and shows its 6 kernels.
    cv = widget.locator('canvas[data-layer="conv2"]').nth(3)
    b = cv.bounding_box()
    cv.hover(position={"x": 0.95 * b["width"], "y": 0.05 * b["height"]})
    text = widget.locator(".cnnw-unit-text").inner_text()
    assert text.startswith("conv2 map 3, unit (0, 9)") and "(14×14" in text, text
    assert widget.locator(".cnnw-kernels canvas").count() == 6
    assert widget.locator(".cnnw-field").evaluate("e => e.style.height") == "43.75%"
    # The keyboard reaches the units as well: focus a map, move with the arrows.
    widget.locator('canvas[data-layer="conv1"]').first.focus()
    page.keyboard.press("ArrowDown")
    assert widget.locator(".cnnw-unit-text").inner_text().startswith("conv1 map 0, unit (1, 9)")
    # Timing: a forward pass of the whole network and the redraw of every layer (to layout).
    times = widget.evaluate("el => { const t = el.cnnwBench(41); el.offsetHeight; return t; }")
    median = statistics.median(times)
    record_property("median_forward_redraw_ms", median)
    print(f"forward pass + redraw: median {median:.2f} ms over {len(times)} updates")
    assert median < 50, times
    assert not errors, errors


def test_explorer_fits_a_phone_and_reads_well(explorer):
    page, widget, errors = explorer
    page.set_viewport_size({"width": 390, "height": 844})
    widget.scroll_into_view_if_needed()
    right = widget.evaluate("el => el.getBoundingClientRect().right")
    assert right <= 390, right
    overflow = widget.evaluate("el => Array.from(el.querySelectorAll('*')).filter(e => e.getClientRects().length"
                               " && e.getBoundingClientRect().right > 391).map(e => e.className || e.tagName)")
    assert not overflow, overflow
    for theme in ("light", "dark"):
        page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
        ratios = widget.evaluate(CONTRAST)
        assert len(ratios) > 20
        low = [(t, round(r, 2)) for t, r in ratios if r < 4.5]
        assert not low, f"{theme} theme: text below 4.5:1 contrast: {low[:5]}"
    # Every control and map can be reached with the keyboard.
    focusable = widget.evaluate("el => Array.from(el.querySelectorAll('canvas[tabindex], button, select, input')).length")
    assert focusable >= 6 + 6 + 16 + 16 + 3 + 1 + 6
    assert not errors, errors
