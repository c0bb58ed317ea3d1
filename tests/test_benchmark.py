"""cnncourse.benchmark: medians of interleaved timings."""

from __future__ import annotations

import time

import torch
import torch.nn as nn

from cnncourse.benchmark import median_times_ms


class Sleep(nn.Module):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        time.sleep(self.seconds)
        return x


def test_median_times_order_counts_and_threads():
    fast, slow = Sleep(0.001), Sleep(0.02)
    before = torch.get_num_threads()
    t_fast, t_slow = median_times_ms([fast, slow], torch.zeros(1), repeats=5, threads=1, warmup=2)
    assert fast.calls == slow.calls == 7  # 2 warm-up + 5 timed rounds each
    assert 20.0 <= t_slow < 200.0 and 1.0 <= t_fast < t_slow
    assert torch.get_num_threads() == before
