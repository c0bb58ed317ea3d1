"""The output policy of the chapters and solution notebooks (README, "Output policy").

Every code cell's committed output is one of

- **exact**: integers, shapes, the lecture's numbers, symbolic results, anything that is
  the same on every machine. nbval compares it strictly (after the sanitizer in
  ``tests/nbval_sanitize.cfg``, which only hides memory addresses).
- **hardware-dependent**: round-off sizes, trained metrics, timings, anything CPU vs GPU
  or one CPU vs another may change. The cell carries the tag ``nbval-ignore-output`` (or,
  in an nbgrader test cell, the comment ``# NBVAL_IGNORE_OUTPUT``), so nbval runs it but
  does not compare what it prints, and the cell itself **asserts** the claim the text
  makes about it (``assert err < 1e-12``, ``assert accuracy > 0.985``, a ``check_*`` call
  that raises). The text never quotes a number that only one machine printed.

This module finds both kinds and the violations; ``tests/test_output_policy.py`` enforces
it, and ``python tests/output_policy.py`` lists every cell that is not compared exactly.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TAG = "nbval-ignore-output"
COMMENT = "# NBVAL_IGNORE_OUTPUT"
SKIP_TAGS = {"nbval-skip"}
SKIP_COMMENT = "# NBVAL_SKIP"
# A measured number worth checking in the text: a decimal, or an integer of two digits or
# more with a unit of time or a percent sign (integers alone are mostly shapes, and whole
# ratios like "10x" are bounds).
NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*\.\d+|\d{2,}(?= ?(?:%|s\b|ms\b|µs\b|min\b)))")


def notebooks() -> list[Path]:
    """What `make test` runs under nbval: every chapter and every solution notebook."""
    found = sorted((ROOT / "book").rglob("*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(str(out.get("text", "")))
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
        elif out.get("output_type") == "error":
            parts.append(str(out.get("evalue", "")))
    return "".join(parts)


def _python(source: str) -> str:
    """The cell's source with IPython magics and shell escapes blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def assertions(source: str) -> list[str]:
    """The statements of a cell that fail when its claim does not hold: ``assert``
    statements and calls of ``check_*`` / ``assert_*`` functions (the course's checks raise
    on failure)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name.startswith(("check_", "assert_")):
                found.append(ast.unparse(node))
    return found


@dataclass
class Cell:
    path: Path
    index: int          # position among all cells of the notebook
    code_index: int     # position among code cells (nbval's "Cell N")
    source: str
    output: str
    inexact: bool       # its output is not compared digit by digit
    skipped: bool
    asserts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}::Cell {self.code_index}"


def cells(path: Path) -> list[Cell]:
    nb = nbformat.read(path, as_version=4)
    found, code_index = [], 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        src = cell.source
        inexact = TAG in tags or COMMENT in src
        skipped = bool(tags & SKIP_TAGS) or SKIP_COMMENT in src
        found.append(Cell(path, index, code_index, src, output_text(cell), inexact, skipped,
                          assertions(src) if inexact else []))
        code_index += 1
    return found


def markdown(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def numbers(text: str) -> set[str]:
    return {m.group(1).rstrip(",") for m in NUMBER.finditer(text)}


def quoted_machine_numbers(path: Path) -> list[tuple[str, Cell]]:
    """Numbers the text of ``path`` quotes that only a hardware-dependent output printed:
    they appear in such an output, in the markdown, and nowhere in the notebook's code or
    exact outputs (which is where a bound the text may quote, like 0.99, is written)."""
    all_cells = cells(path)
    stable = set()
    for c in all_cells:
        stable |= numbers(c.source)
        if not c.inexact:
            stable |= numbers(c.output)
    text = numbers(markdown(path))
    found = []
    for c in all_cells:
        if c.inexact:
            for number in sorted(numbers(c.output) & text - stable):
                found.append((number, c))
    return found


def main() -> int:
    total = 0
    for path in notebooks():
        for c in cells(path):
            if c.inexact:
                total += 1
                first = c.asserts[0] if c.asserts else "NO ASSERTION"
                print(f"{c.name:<60} {first[:90]}")
    print(f"{total} cells not compared exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
