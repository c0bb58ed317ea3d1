"""Device choice and seeding, so that every chapter runs the same on CPU and CUDA."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device chapters run on: ``cuda`` when available, else ``cpu``.

    ``CNNCOURSE_DEVICE=cpu`` in the environment (or ``prefer="cpu"``) forces the CPU.
    """
    choice = prefer or os.environ.get("CNNCOURSE_DEVICE")
    if choice:
        return torch.device(choice)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA), ask for deterministic kernels, and
    turn TF32 off so that CUDA prints the same numbers as the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    # TF32 rounds float32 matmuls and convolutions on recent GPUs; printed numbers must not
    # depend on the device a chapter ran on.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
