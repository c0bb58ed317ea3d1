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

In a course that is not in English (``CNNCOURSE_LANG``), :func:`feedback_template_dir` gives
the page's own words (score lines, cell kinds, comments) in the course's language.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from cnncourse.i18n import N_, _, translations

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.S | re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class HideHiddenTests(NbGraderPreprocessor):
    #: What stands where the hidden tests were (default: this line in the course's language).
    placeholder = Unicode(None, allow_none=True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or "HIDDEN TESTS" not in cell.source:
            return cell, resources
        placeholder = self.placeholder
        if placeholder is None:
            placeholder = "# " + _("(hidden tests: the autograder ran more cases here)") + "\n"
        cell.source = _HIDDEN.sub(lambda _m: placeholder, cell.source)
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



# -- the feedback page's own words in the course's language ------------------------------------
def _nbgrader_feedback_template() -> Path:
    import nbgrader
    return (Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
            / "feedback" / "index.html.j2")


#: nbgrader's feedback template writes its frame's words (score lines, cell kinds, comments)
#: as literal English. Each pattern of its source -> the message whose translation replaces
#: the English word in it (``{}``). Every pattern must be found: a new nbgrader whose
#: template changed fails loudly (tests/test_check_messages_ru.py) instead of staying English.
FEEDBACK_WORDS = (
    (re.compile(r"\bScore: "), N_("Score"), "{}: "),
    (re.compile(r">Test cell</a>"), N_("Test cell"), ">{}</a>"),
    (re.compile(r">Coding free-response</a>"), N_("Coding free-response"), ">{}</a>"),
    (re.compile(r">Written response</a>"), N_("Written response"), ">{}</a>"),
    (re.compile(r">Task</a>"), N_("Task"), ">{}</a>"),
    (re.compile(r">Comment</a>"), N_("Comment"), ">{}</a>"),
    (re.compile(r"<b>Comments:</b>"), N_("Comments"), "<b>{}:</b>"),
    (re.compile(r"\(Top\)</a>"), N_("Top"), "({})</a>"),
    (re.compile(r">Grade cell: <code>"), N_("Grade cell"), ">{}: <code>"),
)


def translated_feedback_template(language: str) -> str:
    """nbgrader's feedback template with its words in ``language`` (from the course's
    catalog, :mod:`cnncourse.i18n`)."""
    source = _nbgrader_feedback_template().read_text(encoding="utf-8")
    catalog = translations(language)
    for pattern, message, form in FEEDBACK_WORDS:
        word = catalog.gettext(message)
        source, found = pattern.subn(lambda _m: form.format(word), source)
        if not found:
            raise LookupError(f"nbgrader's feedback template has no {pattern.pattern!r}: "
                              f"update cnncourse.sandbox.feedback.FEEDBACK_WORDS")
    return source


def feedback_template_dir(language: str) -> str:
    """A folder whose ``feedback/index.html.j2`` is nbgrader's feedback page in ``language``
    (made anew in a temporary folder, removed when the process ends). nbgrader_config.py puts
    it first in ``HTMLExporter.extra_template_basedirs`` for a course that is not in English;
    nbgrader's template extends nbconvert's classic one under another name, so nothing
    recurses, and the offline MathJax macro is still found in the next folder."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="cnncourse-feedback-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "feedback"))
    with open(os.path.join(folder, "feedback", "index.html.j2"), "w", encoding="utf-8") as f:
        f.write(translated_feedback_template(language))
    return folder
