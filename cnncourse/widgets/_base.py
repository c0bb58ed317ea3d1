"""What every widget of the course shares: where its JavaScript and CSS live."""

from __future__ import annotations

from pathlib import Path

import anywidget

HERE = Path(__file__).parent


class CourseWidget(anywidget.AnyWidget):
    """An anywidget whose ES module is ``<name>.js`` beside this file (``_name``)."""

    _name: str = ""

    def __init_subclass__(cls, **kwargs):
        name = cls.__dict__.get("_name")
        if name:
            cls._esm = (HERE / f"{name}.js").read_text()
            cls._css = (HERE / "widgets.css").read_text()
        super().__init_subclass__(**kwargs)

    def __repr__(self) -> str:  # short and stable: the notebook's text output
        return f"<{type(self).__name__} widget>"
