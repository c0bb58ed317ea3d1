"""The widgets' words in English and Russian: each module's TEXT tables (see
cnncourse/widgets/_i18n.js), read by Node through tests/widgets_text.mjs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ROOT / "cnncourse" / "widgets"
SCRIPT = Path(__file__).with_name("widgets_text.mjs")

#: The modules with words: the shared controls and every widget, by the CSS class of a
#: widget's root (None: the controls, shared by all but the network explorer).
MODULES = {None: "_controls", "cnnw-pixel-explorer": "pixel_explorer",
           "cnnw-conv-arithmetic": "conv_arithmetic", "cnnw-kernel-playground": "kernel_playground",
           "cnnw-pooling": "pooling_explorer", "cnnw-conv-matrix": "conv_matrix",
           "cnnw-receptive-field": "receptive_field", "cnnw-network": "network_explorer"}

WORD = re.compile(r"[A-Za-z][A-Za-z_']*")


def words(text: str) -> set[str]:
    """The Latin words of ``text`` (3 letters or more), lower case."""
    return {w.lower().strip("'") for w in WORD.findall(text) if len(w.strip("'")) >= 3}


@lru_cache(maxsize=None)
def tables() -> dict:
    """{module name: {"keys": {lang: [...]}, "arity": {key: [en, ru]}, "texts": {lang: [...]}}}."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH (the project's setup installs it)")
    paths = [str(WIDGETS / f"{m}.js") for m in MODULES.values()]
    proc = subprocess.run([node, str(SCRIPT), *paths], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    return {Path(p).stem: v for p, v in got.items()}


def english_only(kind: str | None) -> set[str]:
    """The English words of a widget's texts (and the shared controls') that its Russian texts
    do not use: none of them may show on a Russian page (names such as Conv2d, RGB, ceil_mode
    appear in both and are left out)."""
    t = tables()
    mods = [MODULES[None]] if kind != "cnnw-network" else []
    mods.append(MODULES[kind])
    en = set().union(*(words(s) for m in mods for s in t[m]["texts"]["en"]))
    ru = set().union(*(words(s) for m in mods for s in t[m]["texts"]["ru"]))
    return en - ru
