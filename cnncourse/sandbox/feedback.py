"""Feedback without the hidden tests.

``nbgrader generate_feedback`` renders the autograded notebook, whose test cells hold the
hidden tests again (nbgrader restores them from the gradebook to grade). This
preprocessor, first in ``GenerateFeedback.preprocessors``, removes from every cell the
region between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (replaced by one
comment line), and reduces the error outputs of those cells to their message: the case
messages of a failing check, without the traceback that would quote the hidden source.
"""

from __future__ import annotations

import re

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
