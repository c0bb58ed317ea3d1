"""What every widget of the course shares: where its JavaScript and CSS live.

A widget's module ``<name>.js`` may import helpers from ``./_common.js`` (so that Node can
import it as it is, for the parity tests); the browser gets one self-contained module:
``_common.js`` followed by the widget's code without that import line.
"""

from __future__ import annotations

import re
from pathlib import Path

import anywidget

HERE = Path(__file__).parent
_COMMON_IMPORT = re.compile(r'^import \{[^}]*\} from "\./_common\.js";\n', re.M)


def esm_source(name: str) -> str:
    """The ES module the browser gets for widget ``name`` (see the module docstring)."""
    code = (HERE / f"{name}.js").read_text()
    if _COMMON_IMPORT.search(code):
        code = (HERE / "_common.js").read_text() + "\n" + _COMMON_IMPORT.sub("", code)
    return code


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
