"""Measuring how long a forward pass takes, as fairly as a shared machine allows.

Timings depend on the machine and on what else runs on it, so chapters print them in
cells that the tests do not compare, and assert only claims with a wide margin.
:func:`median_times_ms` runs the candidates *interleaved* (a, b, a, b, …) so that a burst
of background load slows all of them alike, and reports the median of each.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn as nn


def median_times_ms(modules: list[nn.Module], x: torch.Tensor, repeats: int = 11,
                    threads: int | None = None, warmup: int = 1) -> list[float]:
    """Median wall-clock milliseconds of ``module(x)`` for each module, batch as given.

    The modules run in turn, ``repeats`` rounds after ``warmup`` untimed rounds, under
    ``torch.no_grad()``. ``threads`` sets ``torch.set_num_threads`` for the measurement
    (restored afterwards). On CUDA the device is synchronised around every call.
    """
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    times: list[list[float]] = [[] for _ in modules]
    try:
        with torch.no_grad():
            for _ in range(warmup):
                for m in modules:
                    m(x)
            for _ in range(repeats):
                for i, m in enumerate(modules):
                    sync()
                    start = time.perf_counter()
                    m(x)
                    sync()
                    times[i].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old_threads)
    return [1000.0 * statistics.median(t) for t in times]
