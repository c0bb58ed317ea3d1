"""Benchmark: one training pass in the default (N, C, H, W) layout against channels-last.

    .venv/bin/python tools/benchmark_training_layout.py
    ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=AVX MKL_CBWR=COMPATIBLE \\
        .venv/bin/python tools/benchmark_training_layout.py      # the portable kernels

``cnncourse.training`` trains in channels-last (its docstring says why). This trains the
book's MNIST networks -- the CNN chapter's (``book/part1/06_cnn.ipynb``: two blocks of
convolution, max pooling, BatchNorm and ReLU, then two dense layers) and the LeNet-5
chapter's two -- for one pass over 6,400 digits in each layout, on one thread, the layouts
interleaved, and prints the median seconds of each and their ratio. Not a test: the figures
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncourse.architectures.lenet import LeNet5, lenet5_modern  # noqa: E402
from cnncourse.data import MNIST_MEAN, MNIST_STD, mnist_tensor_dataset  # noqa: E402
from cnncourse.training import loader, subset, train_classifier  # noqa: E402


def chapter6_cnn() -> nn.Sequential:
    """The CNN chapter's network, built by the chapter's own cell (the one defining
    ``make_cnn``), so that the benchmark and the chapter cannot drift apart."""
    import nbformat

    chapter = nbformat.read(ROOT / "book" / "part1" / "06_cnn.ipynb", as_version=4)
    source = next(c.source for c in chapter.cells
                  if c.cell_type == "code" and "def make_cnn(" in c.source)
    definitions = source.split("\n\n\nseed_everything", 1)[0]  # the defs, not the cell's prints
    namespace = {"nn": nn}
    exec(compile(definitions, "06_cnn.ipynb", "exec"), namespace)
    return namespace["make_cnn"]()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=6400, help="training digits per pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="batch size (the chapters': 64)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    mnist = mnist_tensor_dataset("train")
    x, y = mnist[subset(mnist, args.n).indices]
    digits = torch.utils.data.TensorDataset(x, y)
    padded = torch.utils.data.TensorDataset(F.pad(x, (2, 2, 2, 2), value=-MNIST_MEAN / MNIST_STD), y)
    nets = {"CNN chapter": (chapter6_cnn, None, digits),  # LeNet-5 reads 32×32: padded as there
            "LeNet-5": (lambda: LeNet5(10), lambda out: out[0], padded),
            "LeNet-5, modern": (lambda: lenet5_modern(10), lambda out: out[0], padded)}
    print(f"one pass over {args.n} digits, batch {args.batch}, one thread, median of {args.repeats} "
          f"(ATEN_CPU_CAPABILITY={torch.backends.cpu.get_cpu_capability()})")
    for name, (make, logits_of, data) in nets.items():
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for channels_last in (False, True):
                torch.manual_seed(0)
                history = train_classifier(make(), loader(data, args.batch, shuffle=True), epochs=1,
                                           device="cpu", logits_of=logits_of,
                                           channels_last=channels_last)
                times[channels_last].append(history.seconds)
        nchw, nhwc = statistics.median(times[False]), statistics.median(times[True])
        print(f"{name:<17} NCHW {nchw:6.2f} s   channels-last {nhwc:6.2f} s   "
              f"ratio {nchw / nhwc:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
