"""Feedback without the hidden tests.

``nbgrader generate_feedback`` renders the autograded notebook, whose test cells hold the
hidden tests again (nbgrader restores them from the gradebook to grade). This
preprocessor, first in ``GenerateFeedback.preprocessors``, removes from every cell the
region between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (replaced by one
comment line), and reduces the error outputs of those cells to their message: the case
messages of a failing check, without the traceback that would quote the hidden source.

:func:`offline_mathjax` is the template filter behind the feedback page's math
(``cnncourse/sandbox/templates/feedback/mathjax.html.j2``): nbgrader's page loads
MathJax 2 from a CDN, so a student offline saw raw TeX. The page now carries MathJax 3
(SVG output, no font files) in itself and typesets with no network.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.S | re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class HideHiddenTests(NbGraderPreprocessor):
    placeholder = Unicode("# (hidden tests: the autograder ran more cases here)\n").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or "HIDDEN TESTS" not in cell.source:
            return cell, resources
        cell.source = _HIDDEN.sub(self.placeholder, cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = _ANSI.sub("", str(output.get("evalue", "")))
                output.traceback = [f"{output.ename}: {message}"]
        return cell, resources


# MathJax 3's single-file TeX-to-SVG build, installed by `make setup` (npm, package.json).
MATHJAX_JS = (Path(__file__).resolve().parents[2] / "node_modules" / "mathjax" / "es5"
              / "tex-svg.js")
MATHJAX_ENV = "CNNCOURSE_MATHJAX_JS"
_MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: "global"},
  options: {enableMenu: false}
};"""


@lru_cache(maxsize=None)
def _mathjax_source(path: str) -> str | None:
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    return source.replace("</script", "<\\/script")  # cannot end the inline script early


def offline_mathjax(_url: str = "") -> str:
    """The ``<script>`` elements that typeset the page's math with no network."""
    source = _mathjax_source(os.environ.get(MATHJAX_ENV) or str(MATHJAX_JS))
    if source is None:
        return ("<!-- MathJax is not installed (run `make setup`): math is shown as TeX -->")
    return (f"<script>\n{_MATHJAX_CONFIG}\n</script>\n"
            f"<script id=\"MathJax-script\">\n{source}\n</script>")
