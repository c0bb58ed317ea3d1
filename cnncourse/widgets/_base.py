"""What every widget of the course shares: where its JavaScript and CSS live.

A widget's module ``<name>.js`` may import helpers from ``./_common.js`` and the other
``./_<helper>.js`` files beside it (so that Node can import it as it is, for the parity tests);
the browser gets one self-contained module: the helpers it imports (each helper's own helpers
first, each once), then the widget's code, all without their import lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import anywidget

HERE = Path(__file__).parent
_HELPER_IMPORT = re.compile(r'^import \{[^}]*\} from "\./(_\w+)\.js";\n', re.M)


def esm_source(name: str) -> str:
    """The ES module the browser gets for widget ``name`` (see the module docstring)."""
    code = (HERE / f"{name}.js").read_text()
    helpers: list[str] = []

    def collect(source: str) -> None:
        for helper in _HELPER_IMPORT.findall(source):
            if helper not in helpers:
                collect((HERE / f"{helper}.js").read_text())
                helpers.append(helper)

    collect(code)
    parts = [_HELPER_IMPORT.sub("", (HERE / f"{h}.js").read_text()) for h in helpers]
    return "\n".join(parts + [_HELPER_IMPORT.sub("", code)])


class CourseWidget(anywidget.AnyWidget):
    """An anywidget whose ES module is ``<name>.js`` beside this file (``_name``)."""

    _name: str = ""

    def __init_subclass__(cls, **kwargs):
        name = cls.__dict__.get("_name")
        if name:
            cls._esm = esm_source(name)
            cls._css = (HERE / "widgets.css").read_text()
        super().__init_subclass__(**kwargs)

    def __repr__(self) -> str:  # short and stable: the notebook's text output
        return f"<{type(self).__name__} widget>"


def draw_number_grid(ax, matrix, title: str = "", marked=(), digits: int = 2) -> None:
    """Draw a matrix of numbers as a grid of cells on ``ax`` (for the static fallbacks);
    cells in ``marked`` ((row, col) pairs) are shaded."""
    from matplotlib.patches import Rectangle

    rows = len(matrix)
    cols = len(matrix[0]) if rows else 0
    for i in range(rows):
        for j in range(cols):
            shade = (i, j) in set(map(tuple, marked))
            ax.add_patch(Rectangle((j, -i), 1, 1, facecolor="tab:orange" if shade else "none",
                                   alpha=0.5 if shade else 1, edgecolor="0.5"))
            v = matrix[i][j]
            text = f"{v:.{digits}f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
            ax.text(j + 0.5, -i + 0.5, text, ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.1, max(cols, 1) + 0.1)
    ax.set_ylim(-rows + 0.9, 1.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
