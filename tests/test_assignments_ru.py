"""The assignments in Russian, from the one nbgrader source of each (issue #17).

* The committed Russian release (exercises/ru/) is the English release (exercises/) with its
  words translated: the same cells, cell types, nbgrader ids, flags and points, the same code
  token for token apart from comments, the strings given to ``print`` and the two lines that
  set the checks' language in the setup cell; every code cell still parses; the inline
  math, inline code and display math of every markdown cell are the English cell's.
* No English is left: every message (paragraph, heading, list item, table cell, comment,
  printed words; cnncourse.notebook_translation's definition) has Cyrillic in it.
* A real Russian course (nbgrader_config.py with CNNCOURSE_LANG=ru, in a throwaway root)
  releases exactly the committed exercises/ru/, and grades a correct and a wrong a1
  (sandboxed autograde, feedback, export) with the scores, cell by cell, of an English
  course; its feedback shows the Russian statements and the Russian check messages.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
import tokenize
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse import notebook_translation as nt
from cnncourse.nbgrader_course import (A1_SUBMISSION_MIX, REPO_ROOT, Course, release_notebook,
                                       solved_notebook)

ASSIGNMENTS = nt.assignments()
A1 = "a1_conv_forward"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LANGUAGE_LINES = nt.LANGUAGE_LINES.format(language="ru")


def pairs():
    for name in ASSIGNMENTS:
        en, ru = release_notebook(name), release_notebook(name, "ru")
        assert len(en.cells) == len(ru.cells), f"{name}: the cells differ"
        yield name, list(zip(en.cells, ru.cells))


def test_every_assignment_has_a_russian_release():
    assert len(ASSIGNMENTS) == 6
    released = sorted(p.name for p in (REPO_ROOT / "exercises" / "ru").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, "run `make exercises` and commit exercises/ru/"


def test_same_cells_ids_and_points():
    for name, cells in pairs():
        for en, ru in cells:
            assert en.cell_type == ru.cell_type
            meta_en, meta_ru = dict(en.metadata.get("nbgrader", {})), dict(ru.metadata.get("nbgrader", {}))
            meta_en.pop("checksum", None), meta_ru.pop("checksum", None)
            assert meta_en == meta_ru, f"{name}: nbgrader metadata of {meta_en.get('grade_id')}"
        assert sum(c.metadata.nbgrader.get("points", 0) for _, c in cells) == 100


def code_tokens(source: str) -> list[tuple[int, str, bool]]:
    """(type, text, inside the parentheses of a print call) of each token, comments and
    blank lines left out."""
    out, brackets, previous = [], [], None  # brackets: is each open one print's?
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if t.type in (tokenize.COMMENT, tokenize.NL):
            continue
        if t.string in "([{" and t.type == tokenize.OP:
            brackets.append(t.string == "(" and previous == "print")
        elif t.string in ")]}" and t.type == tokenize.OP:
            brackets.pop()
        out.append((t.type, t.string, any(brackets)))
        previous = t.string
    return out


def test_same_code_apart_from_comments_and_printed_words():
    differing_prints = 0
    for name, cells in pairs():
        for en, ru in cells:
            if en.cell_type != "code":
                continue
            grade_id = en.metadata.nbgrader.get("grade_id")
            source = ru.source
            if grade_id == "setup":
                assert source.startswith(LANGUAGE_LINES), f"{name}: setup cell without the language"
                source = source[len(LANGUAGE_LINES):]
            compile(ru.source, f"<{name} {grade_id}>", "exec")
            en_tokens, ru_tokens = code_tokens(en.source), code_tokens(source)
            assert len(en_tokens) == len(ru_tokens), f"{name} {grade_id}: the code differs"
            for (t_en, s_en, in_print), (t_ru, s_ru, _) in zip(en_tokens, ru_tokens):
                if s_en != s_ru:
                    # only a string literal given to print may differ
                    assert t_en == t_ru == tokenize.STRING and in_print, \
                        f"{name} {grade_id}: {s_en!r} became {s_ru!r}"
                    differing_prints += 1
    assert differing_prints >= 3  # a4's FLOPs line and a5's parameter counts


def test_comments_and_stubs_are_russian():
    for name, cells in pairs():
        stubs = {"en": 0, "ru": 0}
        for en, ru in cells:
            if en.cell_type != "code":
                continue
            stubs["en"] += en.source.count(nt.CODE_STUBS["en"].split("\n")[0])
            stubs["ru"] += ru.source.count(nt.CODE_STUBS["ru"].split("\n")[0])
            left = [m for m in nt.code_messages(ru.source) if not CYRILLIC.search(m)]
            assert not left, f"{name}: English left in code: {left}"
        assert stubs["en"] == stubs["ru"] > 0, name


MATH_BLOCK = re.compile(r"\$\$.+?\$\$", re.S)


def untranslatable(markdown: str) -> Counter:
    """A markdown cell's display math, inline math and inline code (line breaks as spaces)."""
    markdown = " ".join(markdown.split())
    items = Counter(("block", m) for m in MATH_BLOCK.findall(markdown))
    rest = MATH_BLOCK.sub(" ", markdown)
    items.update(("math", m) for m in re.findall(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", rest))
    items.update(("code", m.group(0)) for m in nt.CODE_SPAN.finditer(rest))
    return items


def test_markdown_is_russian_and_keeps_math_and_code():
    count = 0
    for name, cells in pairs():
        for en, ru in cells:
            if en.cell_type != "markdown":
                continue
            # the pieces of the Russian text that have English words
            left = [m for m in nt.markdown_messages(ru.source) if not CYRILLIC.search(m)]
            assert not left, f"{name}: English left in markdown: {left[:3]}"
            count += len(nt.markdown_messages(en.source))
            lost = untranslatable(en.source) - untranslatable(ru.source)
            assert not lost, f"{name} {en.metadata.nbgrader.grade_id}: lost {sorted(lost)[:3]}"
            assert len(MATH_BLOCK.findall(en.source)) == len(MATH_BLOCK.findall(ru.source))
    assert count > 150


# --- the translation itself ---------------------------------------------------------------

SAMPLE_MD = """# Assignment 9: a title

Some text with $x^2$ and `code`,
on two lines.

1. `f(x)`: first item,
   continued;
2. `g`

| part | points |
|---|---|
| the part | 10 |

$$y = \\text{out}$$
"""


def test_markdown_messages_and_their_translation():
    messages = nt.markdown_messages(SAMPLE_MD)
    assert messages == ["Assignment 9: a title", "Some text with $x^2$ and `code`, on two lines.",
                        "`f(x)`: first item, continued;", "part", "points", "the part"]
    russian = {m: f"RU<{m}>" for m in messages}
    out = nt.translate_markdown(SAMPLE_MD, russian.get)
    assert out.startswith("# RU<Assignment 9: a title>\n\nRU<Some text with $x^2$ and `code`, "
                          "on two lines.>\n\n1. RU<`f(x)`: first item, continued;>\n2. `g`\n")
    assert "| RU<part> | RU<points> |\n|---|---|\n| RU<the part> | 10 |" in out
    assert out.endswith("$$y = \\text{out}$$\n")
    assert nt.translate_markdown(SAMPLE_MD, lambda m: None) == SAMPLE_MD


SAMPLE_CODE = '''# Test (5 points). Visible cases run now.
x = f("reflect")  # keep the mode
### BEGIN HIDDEN TESTS
# hidden comment
print("hidden words")
### END HIDDEN TESTS
print(f"{n:,} parameters", x, "and weights")  # NBVAL_IGNORE_OUTPUT
'''


def test_code_messages_are_comments_and_printed_words_outside_hidden_regions():
    assert nt.code_messages(SAMPLE_CODE) == [
        "Test (5 points). Visible cases run now.", "keep the mode", "{n:,} parameters", "and weights"]
    out = nt.translate_code(SAMPLE_CODE, lambda m: "ПЕРЕВОД" if "{" not in m else "{n:,} параметров")
    assert out.splitlines()[0] == "# ПЕРЕВОД"
    assert 'x = f("reflect")  # ПЕРЕВОД' in out
    assert "# hidden comment\nprint(\"hidden words\")" in out
    assert 'print(f"{n:,} параметров", x, "ПЕРЕВОД")  # NBVAL_IGNORE_OUTPUT' in out


# --- a real Russian course --------------------------------------------------------------

def normalised(path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return json.dumps(nb, sort_keys=True, indent=1)


WRONG = dict(A1_SUBMISSION_MIX)["wrong"]


def release_and_grade(course: Course) -> Course:
    """Release (every assignment of the course), submit a correct and a wrong a1, autograde
    them in the sandbox, write the feedback, export the grades."""
    start = time.perf_counter()
    course.nbgrader("generate_assignment", "*")
    course.submit("good", A1, solved_notebook(A1, language=course.language))
    course.submit("wrong", A1, solved_notebook(A1, edit=WRONG, language=course.language))
    course.autograde(A1)
    course.generate_feedback(A1)
    course.scores = course.export()
    course.seconds = time.perf_counter() - start
    return course


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """A Russian course with every assignment and an English one with a1, side by side
    (nbgrader and the sandboxed kernels are processes: the two overlap)."""
    ru = Course(tmp_path_factory.mktemp("course_ru"), ASSIGNMENTS, language="ru")
    en = Course(tmp_path_factory.mktemp("course_en"), [A1], language="en")
    with ThreadPoolExecutor(2) as pool:
        ru, en = pool.map(release_and_grade, [ru, en])
    print(f"\nrelease and grading: Russian course {ru.seconds:.0f} s, English {en.seconds:.0f} s")
    return ru, en


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_russian_release_is_what_generate_assignment_makes(courses, assignment):
    ru, _ = courses
    made = ru.root / "exercises" / "ru" / assignment
    committed = REPO_ROOT / "exercises" / "ru" / assignment
    assert sorted(p.name for p in made.iterdir()) == sorted(
        p.name for p in committed.iterdir() if p.name != ".ipynb_checkpoints")
    assert normalised(made / f"{assignment}.ipynb") == normalised(committed / f"{assignment}.ipynb"), \
        f"exercises/ru/{assignment} is stale: run `make exercises`"
    assert not (ru.root / "exercises" / assignment).exists(), "the English release was written"


def cell_scores(course: Course) -> dict[str, dict[str, float]]:
    with Gradebook(f"sqlite:///{course.work / 'gradebook.db'}") as gb:
        return {student: {g.name: g.score for g in
                          gb.find_submission_notebook(A1, A1, student).grades}
                for student in ("good", "wrong")}


def test_russian_course_grades_as_the_english_one(courses):
    ru, en = courses
    assert (ru.root / "autograder" / "ru" / "gradebook.db").is_file()
    assert not (ru.root / "autograder" / "gradebook.db").exists(), "the courses share a folder"
    assert ru.scores[("good", A1)] == en.scores[("good", A1)] == 100.0
    assert ru.scores[("wrong", A1)] == en.scores[("wrong", A1)] < 100.0
    assert cell_scores(ru) == cell_scores(en)


def test_russian_gradebook_and_feedback_show_russian(courses):
    ru, en = courses
    with Gradebook(f"sqlite:///{ru.work / 'gradebook.db'}") as gb:
        sources = {c.name: c.source for c in gb.find_notebook(A1, A1).source_cells}
    assert sources["intro"].startswith("# Задание 1")
    assert sources["setup"].startswith(LANGUAGE_LINES)
    html_ru, html_en = ru.feedback_html("wrong", A1), en.feedback_html("wrong", A1)
    assert "Задание 1: прямой проход свёртки" in html_ru
    assert "Тест (20 баллов)" in html_ru and "Visible cases run now" not in html_ru
    assert "Assignment 1: the forward convolution" in html_en


def failing_messages(course: Course) -> list[str]:
    nb = nbformat.read(course.work / "autograded" / "wrong" / A1 / f"{A1}.ipynb", as_version=4)
    return [o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_the_wrong_submissions_check_messages_are_russian(courses):
    ru, en = courses
    messages_ru, messages_en = failing_messages(ru), failing_messages(en)
    assert messages_en and len(messages_ru) == len(messages_en)
    assert not any(CYRILLIC.search(m) for m in messages_en)
    assert all(CYRILLIC.search(m) for m in messages_ru), messages_ru
    # the same numbers: the case, the shapes, the largest error
    number = re.compile(r"\d+\.\d+(?:e[-+]?\d+)?")
    for m_ru, m_en in zip(messages_ru, messages_en):
        assert Counter(number.findall(m_en)) - Counter(number.findall(m_ru)) == Counter(), (m_ru, m_en)
    page = html.unescape(ru.feedback_html("wrong", A1))
    assert all(m.strip().split("\n")[0] in page for m in messages_ru)
