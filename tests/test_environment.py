"""The environment `make setup` builds: consistent, and without imports that only cost time."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_slow_optional_imports_are_not_installed():
    """The Makefile removes them after the install (see SLOW_IMPORTS there)."""
    names = re.search(r"^SLOW_IMPORTS := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    for name in names.split():
        assert util.find_spec(name.replace("-", "_")) is None, f"{name} is installed"

