"""Re-run notebooks in place and store their outputs and widget state (`make execute`).

By default: every chapter listed in _toc.yml and every solution notebook. Chapters run on
CUDA when it is available (the code picks the device itself). Afterwards
`pytest --nbval` checks that the committed outputs still match the code.

    python tools/execute_chapters.py [NOTEBOOK ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                path = ROOT / f"{entry['file']}.ipynb"
                if path.exists():
                    files.append(path)
            walk(entry.get("chapters", []) + entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def default_notebooks() -> list[Path]:
    return toc_files() + sorted(ROOT.glob("solutions/*/*.ipynb"))


def execute(path: Path, timeout: int = 1800) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:  # keep diffs small: no per-cell timing metadata
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or default_notebooks()
    for path in paths:
        seconds = execute(path)
        print(f"{seconds:7.1f} s  {path.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
