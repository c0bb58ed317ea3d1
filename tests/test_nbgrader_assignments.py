"""Every assignment end to end through nbgrader, as an instructor runs it (the repository's
nbgrader_config.py, sandbox included), in one throwaway course folder.

For each assignment: the committed release is exactly what `nbgrader generate_assignment`
makes from solutions/ today; the reference solution scores 100; the untouched release
scores 0 with every graded test failing; a plausible mistake loses exactly the graded part
that targets it. For a1 also: a notebook with a syntax error scores 0 without disturbing
the others, and the feedback names the failing case but never shows hidden tests.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import REPO_ROOT, Course, release_notebook, solved_notebook

ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "solutions").iterdir()
                     if p.is_dir() and any(p.glob("*.ipynb")))


def mistake(grade_id: str, *replacements: tuple[str, str]):
    """An ``edit`` for solved_notebook: each (old, new) must apply exactly once."""
    def edit(cell_id: str, source: str) -> str:
        if cell_id != grade_id:
            return source
        for old, new in replacements:
            assert source.count(old) == 1, f"mutation target not found once in {grade_id}: {old!r}"
            source = source.replace(old, new)
        return source
    return edit


# assignment -> (student name, edit, graded parts that must score 0)
MISTAKES = {
    "a1_conv_forward": ("nodilation", mistake("conv2d_naive", ("as_pair(dilation)", "(1, 1)")),
                        {"test_conv2d_dilation", "test_conv2d_errors"}),
    "a2_conv_as_matmul": ("wronggroups", mistake(
        "conv2d_im2col", ("(s_n, c_group * s_c, s_c, dh * s_h", "(s_n, s_c, s_c, dh * s_h")),
        {"test_im2col_groups"}),
    "a3_backprop": ("tiestoall", mistake(
        "MaxPool2dFunction",
        ("ctx.save_for_backward(index)\n",
         "ctx.save_for_backward(index, (cols == cols.gather(1, index)).to(cols.dtype))\n"),
        ("index, = ctx.saved_tensors", "index, mask = ctx.saved_tensors"),
        ('grad_cols.scatter_(1, index, grad_out.reshape(g["n"] * g["c"], 1, -1))',
         'grad_cols = mask * grad_out.reshape(g["n"] * g["c"], 1, -1)')),
        {"test_max_ties"}),
    "a4_receptive_fields": ("nodilation", mistake(
        "receptive_field", ('d = as_pair(getattr(layer, "dilation", 1))', "d = (1, 1)")),
        {"test_rf_dilation"}),
    "a5_architectures": ("stride1x1", mistake(
        "bottleneck", ("self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)",
                       "self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)")),
        {"test_bottleneck"}),
    "a6_norm_dropout": ("biasedvar", mistake(
        "batchnorm", ("self.momentum * unbiased", "self.momentum * var")),
        {"test_batchnorm_running_stats"}),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    # nbgrader takes a glob for the assignment: one command each for all six assignments
    # (each nbgrader command costs seconds of start-up, and autograde a warm-kernel server)
    course.nbgrader("generate_assignment", "*")
    for name in ASSIGNMENTS:
        course.submit("good", name, solved_notebook(name))
        course.submit("untouched", name, release_notebook(name))
        student, edit, _ = MISTAKES[name]
        course.submit(student, name, solved_notebook(name, edit=edit))
    course.submit("broken", "a1_conv_forward", solved_notebook(
        "a1_conv_forward", edit=lambda gid, src: src.replace("):", ")", 1)))
    start = time.perf_counter()
    course.autograde("*")
    n = len(list((course.root / "autograder" / "submitted").glob("*/*")))
    print(f"\nautograde: {n} submissions, {(time.perf_counter() - start) / n:.1f} s each")
    course.generate_feedback("a1_conv_forward")
    course.scores = course.export()
    return course


def cell_scores(course: Course, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{course.root / 'autograder' / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in nb.grades}


def normalised(path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return json.dumps(nb, sort_keys=True, indent=1)


def test_every_assignment_has_a_mistake_to_grade():
    assert "a1_conv_forward" in ASSIGNMENTS and set(MISTAKES) == set(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_match_generate_assignment(course, assignment):
    made_dir = course.root / "exercises" / assignment
    committed_dir = REPO_ROOT / "exercises" / assignment
    made = sorted(p.relative_to(made_dir) for p in made_dir.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(committed_dir) for p in committed_dir.rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert made == committed, "run `make exercises` and commit exercises/"
    for rel in made:
        if rel.suffix == ".ipynb":
            assert normalised(made_dir / rel) == normalised(committed_dir / rel), \
                f"{rel} is stale: run `make exercises`"
        else:
            assert (made_dir / rel).read_bytes() == (committed_dir / rel).read_bytes()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_gets_full_marks(course, assignment):
    assert course.scores[("good", assignment)] == 100.0
    cells = cell_scores(course, assignment, "good")
    assert sum(m for _, m in cells.values()) == 100, "an assignment totals 100 points"
    assert all(s == m for s, m in cells.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_fails_every_graded_test(course, assignment):
    assert course.scores[("untouched", assignment)] == 0.0
    passing = {k: s for k, (s, _) in cell_scores(course, assignment, "untouched").items() if s}
    assert not passing, f"graded tests pass on the untouched release: {passing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plausible_mistake_loses_exactly_its_parts(course, assignment):
    student, _, expected = MISTAKES[assignment]
    cells = cell_scores(course, assignment, student)
    lost = {k for k, (s, m) in cells.items() if s < m}
    assert lost == expected
    assert all(cells[k][0] == 0 for k in expected)
    assert course.scores[(student, assignment)] == 100 - sum(cells[k][1] for k in expected)


def test_syntax_error_scores_zero_and_leaves_the_others_alone(course):
    assert course.scores[("broken", "a1_conv_forward")] == 0.0
    assert course.scores[("good", "a1_conv_forward")] == 100.0


def test_feedback_names_the_failing_case_but_hides_hidden_tests(course):
    html = course.feedback_html("nodilation", "a1_conv_forward")
    assert "case &#39;dilation 2&#39;" in html or "case 'dilation 2'" in html
    assert "expected (1, 1, 3, 3)" in html
    assert "BEGIN HIDDEN TESTS" not in html and 'family="hidden"' not in html
    assert 'family=&quot;hidden&quot;' not in html


def test_feedback_typesets_its_math_offline(course):
    """nbgrader's feedback page loads MathJax from a CDN; ours carries it (nbgrader_config.py,
    cnncourse/sandbox/templates/feedback/mathjax.html.j2): opened from disk in a browser with no
    network, it requests nothing remote and its TeX is typeset."""
    import re

    from book_browser import chromium
    html = course.feedback_html("nodilation", "a1_conv_forward")
    assert not re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["']?(?:https?:)?//""", html)
    tex = sum(len(re.findall(r"\$[^$\n]+\$", "".join(c.source)))
              for c in nbformat.read(course.root / "exercises" / "a1_conv_forward" /
                                     "a1_conv_forward.ipynb", 4).cells
              if c.cell_type == "markdown")
    assert tex >= 10, tex
    page_file = next((course.root / "autograder" / "feedback" / "nodilation" /
                      "a1_conv_forward").glob("*.html"))
    with chromium() as browser:
        page = browser.new_page()
        remote = []
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(page_file.as_uri())
        page.wait_for_function(f"document.querySelectorAll('mjx-container').length >= {tex}",
                               timeout=30_000)
        text = page.evaluate("document.body.innerText")
    assert remote == []
    assert not re.search(r"\\(frac|lfloor|cdot|times|sum)\b", text), "raw TeX left on the page"
