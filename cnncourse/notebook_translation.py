"""The assignments in another language from their one nbgrader source (issue #17).

A Russian course (``CNNCOURSE_LANG=ru``, nbgrader_config.py) releases the notebooks of
``solutions/`` with their words in Russian: nbgrader's ``generate_assignment`` runs
:class:`TranslateNotebook` first, before it locks the cells, computes their checksums and
saves them to the gradebook, so that the gradebook holds the Russian cells too (autograde
restores locked cells from it; feedback shows them). Code and nbgrader metadata stay as
they are; what a student reads is translated:

* markdown cells, one message per paragraph, heading, list item or table cell (as the
  book's gettext catalogs: the lines of a paragraph joined by spaces, inline math and code
  kept in the message);
* in code cells, the comments (the test cells' "# Test (10 points). ..." lines, the hints
  in the stubs) and the string literals given to ``print``;
* the setup cell (grade_id ``setup``) gets two lines that make the checks speak the
  language (:func:`cnncourse.i18n.set_language`).

Solution and hidden-test regions (``### BEGIN SOLUTION`` ... ``### END HIDDEN TESTS``) are
not translated: nbgrader removes them from the release. A piece of text is a message when
it has an English word (letters, lower case after the first) outside inline code, math and
``{fields}``: ``LeNet-5``, ``# NBVAL_IGNORE_OUTPUT`` or ``# 3 -> (3, 3)`` are not.

The translations come from gettext catalogs, one per assignment:
``locale/<lang>/LC_MESSAGES/solutions/<assignment>.po``; ``tools/translations.py update``
extracts the messages (:func:`assignment_catalog`) and merges them into the catalogs.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = REPO_ROOT / "locale"
SOURCE_DIR = REPO_ROOT / "solutions"
#: gettext domain of an assignment's catalog, under locale/<lang>/LC_MESSAGES/
DOMAIN = "solutions/{assignment}"

#: Lines put at the top of the setup cell of a release in ``{language}``.
LANGUAGE_LINES = ('from cnncourse.i18n import set_language\n'
                  'set_language("{language}")\n\n')
#: What a stub says where a solution was removed (nbgrader's ClearSolutions.code_stub).
CODE_STUBS = {"en": "# YOUR CODE HERE\nraise NotImplementedError()",
              "ru": "# ВАШ КОД ЗДЕСЬ\nraise NotImplementedError()"}
TEXT_STUBS = {"en": "YOUR ANSWER HERE", "ru": "ВАШ ОТВЕТ ЗДЕСЬ"}

_MD = MarkdownIt("commonmark").enable("table").use(dollarmath_plugin)

# What is not prose inside a message: inline code, math, {fields} of f-strings and formats
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$|\$\$.+?\$\$")
FIELD = re.compile(r"\{[^{}]*\}")
# An English word: letters, lower case after the first ("Speed", "convolution"), not a name
# written in code style (LeNet, ReLU, im2col, VGG)
PROSE_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][a-z]+(?![A-Za-z0-9_])")
REGION = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\b")


def prose(text: str) -> str:
    """``text`` without its inline code, math and {fields}."""
    return FIELD.sub(" ", MATH.sub(" ", CODE_SPAN.sub(" ", text)))


def is_message(text: str) -> bool:
    """Whether ``text`` has a word to translate (outside code, math and fields)."""
    return bool(PROSE_WORD.search(prose(text)))


# --- markdown ---------------------------------------------------------------------------

_PREFIX = re.compile(r"^(\s*(?:#{1,6}\s+|(?:[-*+]|\d{1,9}[.)])\s+)?)")


def _markdown_pieces(source: str):
    """(first line, end line, prefix, message) of each paragraph or heading, and
    (line, None, None, [cell texts]) of each table row, in order."""
    lines = source.split("\n")
    tokens = _MD.parse(source)
    for i, tok in enumerate(tokens):
        if tok.type in ("paragraph_open", "heading_open") and tok.map:
            inline = tokens[i + 1]
            start, end = tok.map
            prefix = _PREFIX.match(lines[start]).group(1)
            text = " ".join(line.strip() for line in inline.content.split("\n"))
            yield start, end, prefix, text
        elif tok.type == "tr_open" and tok.map:
            cells, j = [], i + 1
            while tokens[j].type != "tr_close":
                if tokens[j].type == "inline":
                    cells.append(tokens[j].content)
                j += 1
            yield tok.map[0], None, None, cells


def markdown_messages(source: str) -> list[str]:
    out = []
    for _start, end, _prefix, text in _markdown_pieces(source):
        for piece in ([text] if end is not None else text):
            if is_message(piece):
                out.append(piece)
    return out


def translate_markdown(source: str, gettext) -> str:
    """``source`` with each message replaced by ``gettext(message)`` (None: kept)."""
    lines = source.split("\n")
    replaced: list[tuple[int, int, str]] = []
    for start, end, prefix, text in _markdown_pieces(source):
        if end is not None:
            if is_message(text) and (tr := gettext(text)):
                # inside a paragraph paragraph-level breaks are gone: the continuation
                # lines of a list item are joined into its first line
                replaced.append((start, end, prefix + tr))
        else:
            cells = [(gettext(c) or c) if is_message(c) else c for c in text]
            if cells != text:
                replaced.append((start, start + 1, "| " + " | ".join(cells) + " |"))
    for start, end, line in sorted(replaced, reverse=True):
        lines[start:end] = [line]
    return "\n".join(lines)


# --- code -------------------------------------------------------------------------------

def _skipped_lines(source: str) -> set[int]:
    """1-based numbers of the lines in solution and hidden-test regions, markers included."""
    skipped, inside = set(), False
    for n, line in enumerate(source.split("\n"), 1):
        m = REGION.match(line)
        if m and m.group(1) == "BEGIN":
            inside = True
        if inside:
            skipped.add(n)
        if m and m.group(1) == "END":
            inside = False
    return skipped


def _code_pieces(source: str):
    """(line, start column, end column, message) of each translatable comment and
    ``print`` string literal outside solution and hidden-test regions (columns in
    characters of that line); nothing for a cell Python cannot read (magics)."""
    skipped = _skipped_lines(source)
    lines = source.split("\n")
    pieces = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        tree = ast.parse(source)
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return []
    for tok in tokens:
        if tok.type == tokenize.COMMENT and tok.start[0] not in skipped:
            body = re.sub(r"^#+\s*", "", tok.string)
            if is_message(body):
                offset = len(tok.string) - len(body)
                pieces.append((tok.start[0], tok.start[1] + offset, tok.end[1], body.rstrip()))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print"):
            continue
        for arg in node.args:
            if not isinstance(arg, (ast.Constant, ast.JoinedStr)) or arg.lineno != arg.end_lineno:
                continue
            if isinstance(arg, ast.Constant) and not isinstance(arg.value, str):
                continue
            if arg.lineno in skipped:
                continue
            line = lines[arg.lineno - 1]
            raw = line.encode()
            start = len(raw[:arg.col_offset].decode())
            end = len(raw[:arg.end_col_offset].decode())
            literal = line[start:end]
            m = re.match(r"([rRbBuUfF]*)('''|\"\"\"|'|\")", literal)
            if not m or "b" in m.group(1).lower():
                continue
            body_start, body_end = start + m.end(), end - len(m.group(2))
            body = line[body_start:body_end]
            if "\\" not in body and is_message(body):
                pieces.append((arg.lineno, body_start, body_end, body))
    return sorted(pieces)


def code_messages(source: str) -> list[str]:
    return [p[3] for p in _code_pieces(source)]


def translate_code(source: str, gettext) -> str:
    lines = source.split("\n")
    for lineno, start, end, text in sorted(_code_pieces(source), reverse=True):
        if tr := gettext(text):
            line = lines[lineno - 1]
            lines[lineno - 1] = line[:start] + tr + line[end:]
    return "\n".join(lines)


# --- notebooks and catalogs ---------------------------------------------------------------

def notebook_messages(nb) -> list[str]:
    """The messages of a notebook, in order, each once."""
    out: dict[str, None] = {}
    for cell in nb.cells:
        found = markdown_messages(cell.source) if cell.cell_type == "markdown" else \
            code_messages(cell.source) if cell.cell_type == "code" else []
        out.update(dict.fromkeys(found))
    return list(out)


def translate_notebook(nb, translations: dict[str, str], language: str) -> list[str]:
    """Translate ``nb`` in place from ``translations`` (message -> translation); add the
    language lines to its setup cell. Returns the messages that had no translation."""
    missing: dict[str, None] = {}

    def gettext(message: str) -> str | None:
        if translations.get(message):
            return translations[message]
        missing[message] = None
        return None

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, gettext)
        elif cell.cell_type == "code":
            cell.source = translate_code(cell.source, gettext)
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
                cell.source = LANGUAGE_LINES.format(language=language) + cell.source
    return list(missing)


def catalog_path(assignment: str, language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / (DOMAIN.format(assignment=assignment) + ".po")


def load_translations(assignment: str, language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """message -> translation from the assignment's catalog: translated, not fuzzy ones."""
    from babel.messages import pofile

    path = catalog_path(assignment, language, locale_dir)
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = pofile.read_po(f)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def assignment_messages(assignment: str, source_dir: Path = SOURCE_DIR) -> list[str]:
    """Every message of the assignment's source notebooks, in order, each once."""
    import nbformat

    out: dict[str, None] = {}
    for path in sorted((source_dir / assignment).glob("*.ipynb")):
        out.update(dict.fromkeys(notebook_messages(nbformat.read(path, as_version=4))))
    return list(out)


def assignment_catalog(assignment: str, source_dir: Path = SOURCE_DIR):
    """The assignment's message template, a babel ``Catalog`` (written as a .pot)."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(project="cnn-course", version="", fuzzy=False)
    for message in assignment_messages(assignment, source_dir):
        catalog.add(message)
    return catalog


def assignments(source_dir: Path = SOURCE_DIR) -> list[str]:
    return sorted(p.name for p in source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def write_templates(outdir: Path, source_dir: Path = SOURCE_DIR) -> list[Path]:
    """One .pot per assignment: ``outdir/solutions/<assignment>.pot``."""
    from babel.messages import pofile

    written = []
    for name in assignments(source_dir):
        path = outdir / (DOMAIN.format(assignment=name) + ".pot")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            pofile.write_po(f, assignment_catalog(name, source_dir), width=0, omit_header=False)
        written.append(path)
    return written


class TranslateNotebook(Preprocessor):
    """nbgrader ``GenerateAssignment`` preprocessor: the notebook in :attr:`language`.

    Put first in ``GenerateAssignment.preprocessors`` (nbgrader_config.py does when
    ``CNNCOURSE_LANG`` asks for Russian), so that the cells nbgrader locks, checksums and
    saves to the gradebook are the translated ones. A message without a translation stays
    in English, with a warning (tests/test_translations.py fails on it)."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off by default
    language = Unicode("ru", help="the language to translate into").tag(config=True)
    locale_dir = Unicode(str(LOCALE_DIR), help="folder of the catalogs: "
                         "<locale_dir>/<language>/LC_MESSAGES/solutions/<assignment>.po"
                         ).tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        translations = load_translations(assignment, self.language, Path(self.locale_dir))
        missing = translate_notebook(nb, translations, self.language)
        if missing:
            self.log.warning("%s: %d messages have no %s translation (make translations), "
                             "e.g. %r", assignment, len(missing), self.language, missing[0][:80])
        return nb, resources
