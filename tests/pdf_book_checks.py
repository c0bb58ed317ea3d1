"""The printable book (`make pdf`, tools/pdf_book.py): the whole course as one PDF.

Slow (the LaTeX build and XeLaTeX, about 2 minutes), so not part of `make test`: the file's
name is not one pytest collects by itself. `make test-pdf` builds the HTML book and the
PDF and runs this file by name (checking _build/latex/cnn-course.pdf, or the PDF that
CNNCOURSE_PDF names; CNNCOURSE_PDF=build makes it build the PDF first). CI runs
`make test-pdf` after `make test` (.ci/run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WHERE = os.environ.get("CNNCOURSE_PDF", "_build/latex/cnn-course.pdf")

PAGES = (120, 450)        # a sane range: 199 pages when this test was written
OVERFULL_PT = 5.0         # no line may stick out of the text block by more than this
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def pdf() -> Path:
    if WHERE == "build":
        subprocess.run([sys.executable, str(ROOT / "tools" / "pdf_book.py")], cwd=ROOT,
                       check=True, timeout=1200)
        return ROOT / "_build" / "latex" / "cnn-course.pdf"
    path = (ROOT / WHERE).resolve()
    assert path.is_file(), f"{path}: no PDF; run `make pdf`"
    return path


@pytest.fixture(scope="module")
def text(pdf) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.fixture(scope="module")
def log(pdf) -> str:
    return pdf.with_suffix(".log").read_text(errors="replace")


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u00ad", "")).strip()


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    out = []
    for f in files:
        path = next(p for p in (ROOT / f"{f}.ipynb", ROOT / f"{f}.md") if p.exists())
        out.append(path)
    return out


def title_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        source = re.sub(r"\A---\n.*?\n---\n", "", path.read_text(), flags=re.S)
    heading = re.search(r"^# (.+)$", source, re.M).group(1)
    return squash(re.sub(r"[`*_]", "", heading))


def test_page_count_is_sane(pdf):
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    assert PAGES[0] <= pages <= PAGES[1], pages


def test_every_chapter_title_is_in_the_text(text):
    flat = squash(text)
    missing = [(p.relative_to(ROOT).as_posix(), title_of(p)) for p in chapters()
               if title_of(p) not in flat]
    assert not missing, missing


def test_no_unresolved_reference(text, log):
    assert "??" not in text, [line for line in text.splitlines() if "??" in line][:10]
    undefined = re.findall(r"LaTeX Warning: (?:Reference|Citation) .* undefined.*", log)
    assert not undefined, undefined[:10]
    assert "There were undefined references" not in log


def test_no_line_sticks_out_of_the_page(log):
    over = [(float(pt), where) for pt, where in
            re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) (.*)", log)]
    assert not [o for o in over if o[0] > OVERFULL_PT], sorted(over, reverse=True)[:10]


def test_every_character_has_a_glyph(text, log):
    missing = sorted(set(re.findall(r"Missing character: There is no (.*)", log)))
    assert not missing, missing
    assert "текстура" in text  # the glossary's Russian terms, in a Cyrillic font


def test_every_widget_is_a_note_and_a_figure(text):
    widgets = 0
    for path in chapters():
        if path.suffix == ".ipynb":
            for cell in json.loads(path.read_text())["cells"]:
                widgets += sum(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", []))
    assert widgets > 0
    flat = squash(text)
    notes = re.findall(r"Widget (\w+): interactive in the HTML book; its static figure follows",
                       flat)
    assert len(notes) == widgets, (len(notes), widgets)
    assert not re.search(r"<\w+ widget>", flat)  # the widget's text/plain stand-in


def test_every_widget_figure_was_drawn(pdf):
    # the figures drawn from the widgets' stored state (no fallback cell after them)
    drawn = list((pdf.parent / "widget-figures").glob("*.png"))
    assert drawn and all(p.stat().st_size > 2000 for p in drawn), drawn


def test_the_html_book_offers_it(pdf):
    # "Whole book (.pdf)" in every page's download menu (book/_static/cnncourse-book.js)
    # points at the root of the HTML book, where `make pdf` copies the PDF.
    html = ROOT / "_build" / "html"
    assert (html / "index.html").is_file(), "no HTML book: run `make book` (make test-pdf does)"
    assert "cnn-course.pdf" in (html / "_static" / "cnncourse-book.js").read_text()
    copy = html / "cnn-course.pdf"
    assert copy.is_file() and copy.read_bytes() == pdf.read_bytes()
