"""NetworkExplorer: a trained LeNet-5 running in the page (lecture L19).

The reader draws a digit (or picks an MNIST test digit) and sees every layer of the network
the chapter trained: the feature maps, pooling, the dense layers and the ten class
probabilities, recomputed in the widget's JavaScript from the weights exported here
(float32, base64, in the widget's state), so the static book needs no kernel.

:func:`preprocess_drawing` is the Python twin of the JavaScript's preprocessing of a drawing
(MNIST's own recipe: a 20×20 box, centred by centre of mass in 28×28); the parity tests
compare the two, and the JavaScript forward pass with PyTorch's.
"""

from __future__ import annotations

import base64

import numpy as np
import traitlets

from cnncourse.widgets._base import HERE, CourseWidget

#: The parameters the widget needs, in the order it reads them.
PARAMETERS = ("feature_extractor.0.weight", "feature_extractor.0.bias",
              "feature_extractor.3.weight", "feature_extractor.3.bias",
              "feature_extractor.6.weight", "feature_extractor.6.bias",
              "classifier.0.weight", "classifier.0.bias",
              "classifier.2.weight", "classifier.2.bias")


def architecture(model) -> dict:
    """The activation and pooling of a :class:`~cnncourse.architectures.lenet.LeNet5`."""
    import torch.nn as nn

    layers = model.feature_extractor
    if not isinstance(layers[1], (nn.Tanh, nn.ReLU)) or not isinstance(layers[2], (nn.AvgPool2d, nn.MaxPool2d)):
        raise ValueError("the widget runs LeNet-5 with tanh or ReLU and average or max pooling")
    return {"activation": "relu" if isinstance(layers[1], nn.ReLU) else "tanh",
            "pool": "max" if isinstance(layers[2], nn.MaxPool2d) else "avg"}


def export_weights(model) -> str:
    """The model's parameters as one base64 string of little-endian float32 numbers."""
    state = model.state_dict()
    flat = np.concatenate([state[name].detach().cpu().float().numpy().ravel() for name in PARAMETERS])
    return base64.b64encode(flat.astype("<f4").tobytes()).decode()


def import_weights(model, b64: str):
    """Load weights exported by :func:`export_weights` into ``model`` (returns it)."""
    import torch

    flat = np.frombuffer(base64.b64decode(b64), dtype="<f4")
    state, at = model.state_dict(), 0
    with torch.no_grad():
        for name in PARAMETERS:
            n = state[name].numel()
            state[name].copy_(torch.from_numpy(flat[at:at + n].copy()).reshape(state[name].shape))
            at += n
    if at != len(flat):
        raise ValueError(f"expected {at} numbers, got {len(flat)}")
    return model


def _area_weights(n: int, m: int) -> np.ndarray:
    r = n / m
    w = np.zeros((m, n))
    for a in range(m):
        lo, hi = a * r, (a + 1) * r
        for s in range(int(np.floor(lo)), min(n, int(np.ceil(hi)))):
            w[a, s] = (min(hi, s + 1) - max(lo, s)) / r
    return w


def preprocess_drawing(ink: np.ndarray) -> np.ndarray:
    """A drawing (R×R ink in [0, 1]) -> a 28×28 digit in [0, 1], as MNIST's digits were
    made: the ink's bounding box scaled by area averaging (aspect kept) so that its longer
    side is 20 pixels, placed in 28×28 with its centre of mass at pixel (14, 14)."""
    ink = np.asarray(ink, dtype=np.float64)
    out = np.zeros((28, 28))
    rows, cols = np.nonzero(ink > 0)
    if len(rows) == 0:
        return out
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    hh, ww = box.shape
    side = max(hh, ww)
    js_round = lambda v: int(np.floor(v + 0.5))  # JavaScript's Math.round for v >= 0
    th, tw = max(1, js_round(20 * hh / side)), max(1, js_round(20 * ww / side))
    small = _area_weights(hh, th) @ box @ _area_weights(ww, tw).T
    mass = ci = cj = 0.0  # summed in the JavaScript's order: a tie rounds the same way
    for a in range(th):
        for b in range(tw):
            v = float(small[a, b])
            mass += v; ci += v * a; cj += v * b
    oi, oj = js_round(14 - ci / mass), js_round(14 - cj / mass)
    for a in range(th):
        for b in range(tw):
            if 0 <= a + oi < 28 and 0 <= b + oj < 28:
                out[a + oi, b + oj] = min(1.0, max(0.0, small[a, b]))
    return out


def mnist_test_digits(n: int = 20, seed: int = 0):
    """``n`` MNIST test digits, two of each class where n allows (uint8 N×28×28, labels)."""
    from cnncourse.data import load_mnist

    images, labels = load_mnist("test")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    picked, counts = [], {}
    for k in order:
        c = int(labels[k])
        if counts.get(c, 0) < (n + 9) // 10:
            picked.append(int(k)); counts[c] = counts.get(c, 0) + 1
        if len(picked) == n:
            break
    picked.sort(key=lambda k: (int(labels[k]), k))
    return images[picked, 0].numpy(), [int(labels[k]) for k in picked]


class NetworkExplorer(CourseWidget):
    """A trained LeNet-5 (``cnncourse.architectures.lenet.LeNet5``, tanh or ReLU, average or
    max pooling) in the page: draw a digit, or pick one of ``n_digits`` MNIST test digits,
    and see every layer. ``mean`` and ``std`` are the standardisation used in training."""

    _name = "network_explorer"

    arch = traitlets.Dict().tag(sync=True)
    weights = traitlets.Unicode("").tag(sync=True)
    digits = traitlets.Unicode("").tag(sync=True)
    labels = traitlets.List(traitlets.Int()).tag(sync=True)
    digit = traitlets.Int(0).tag(sync=True)
    noise = traitlets.Float(0.0).tag(sync=True)
    shift = traitlets.List(traitlets.Int(), default_value=[0, 0]).tag(sync=True)

    def __init__(self, model, mean: float, std: float, n_digits: int = 20, digit: int = 0, **kwargs):
        images, labels = mnist_test_digits(n_digits)
        arch = dict(architecture(model), mean=float(mean), std=float(std))
        super().__init__(arch=arch, weights=export_weights(model),
                         digits=base64.b64encode(images.astype(np.uint8).tobytes()).decode(),
                         labels=labels, digit=digit, **kwargs)

    def page_weight(self) -> dict:
        """Bytes of the widget's state in the page: the weights, the digits, the code."""
        return {"weights": len(self.weights), "digits": len(self.digits),
                "code": len(self._esm) + len(self._css)}


NetworkExplorer._css += (HERE / "network_explorer.css").read_text()
