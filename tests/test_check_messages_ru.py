"""The checks' messages in Russian (issue #17): the catalog, and what a student reads.

* The catalog cnncourse/locale/ru/LC_MESSAGES/cnncourse.po is complete: the messages
  extracted from cnncourse/ now (babel, tools/message_catalog.py) are exactly its messages,
  each translated, none fuzzy, none obsolete; each translation keeps its message's
  ``{fields}``; the committed .mo is the .po compiled; a message with English words has
  Russian words in its translation, and the lecture's terms where the English has them.
* cnncourse.i18n chooses the language from set_language, else CNNCOURSE_LANG.
* End to end, for every assignment: a wrong answer fails with a Russian message carrying the
  same numbers as the English one (with set_language("ru") and with CNNCOURSE_LANG=ru), and
  a right answer prints the Russian "passed" line with the plural form of its count.
* A real sandboxed nbgrader autograde of a Russian course (CNNCOURSE_LANG=ru in the
  grader's environment) writes Russian feedback: for a wrong value (the grader replays the
  check in its own process, in its language) and for a forbidden call (the message is made
  in the student's kernel, whose setup cell sets Russian). The sandbox's kernels also get
  the grader's language in their (filtered) environment.
* The grader's own messages (cnncourse/sandbox/execute.py, replay.py) are in its language:
  a submission whose function loops forever, graded with a 3 s cell limit, gets the
  wall-time limit, "not called again" and "no result for case" in Russian in a Russian
  course and in English (the texts as before) in an English one; the notes on a cell's
  limits and a dead kernel's reasons likewise, and the note is recognised in both.
"""

from __future__ import annotations

import html
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from cnncourse import i18n
from cnncourse import nbgrader_course as harness
from cnncourse.checks.core import CheckFailure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import message_catalog  # noqa: E402

CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]{3,}")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


DOMAINS = {d.name: d for d in message_catalog.DOMAINS}


@pytest.fixture(scope="module", params=sorted(DOMAINS))
def domain(request):
    return DOMAINS[request.param]


@pytest.fixture(scope="module")
def catalog(domain):
    return message_catalog.read(domain)


@pytest.fixture(autouse=True)
def _language_from_environment(monkeypatch):
    """Every test starts with no language set in the process and no CNNCOURSE_LANG."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def _strings(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


# --- the catalog ---------------------------------------------------------------------------

def test_catalog_has_exactly_the_code_messages_all_translated(domain, catalog):
    template = message_catalog.extract(domain)
    # the checks' messages: 438 in the package's catalog, 59 in the grader's when written
    assert len(template) > (400 if domain is message_catalog.MAIN else 50)
    assert message_catalog.problems(catalog, template) == []


def test_the_hidden_cases_names_stay_out_of_the_students_catalog():
    """The students' wheel ships cnncourse/locale but not cnncourse/checks/hidden (where
    the grader's catalog is, tools/student_dist.py): the package's catalog must not hold a
    message only the hidden cases' generators use (their names tell what the grader tries)."""
    from student_dist import HIDDEN_CASES

    grader = message_catalog.GRADER
    assert grader.mo.relative_to(message_catalog.PACKAGE).parts[:2] == HIDDEN_CASES.parts
    main_ids = {m.id for m in message_catalog.read(message_catalog.MAIN) if m.id}
    hidden_only = {m.id for m in message_catalog.read(grader) if m.id} - main_ids
    assert "padding (0, -2)" in hidden_only and "random {topic} #{number}" in hidden_only
    assert not hidden_only & main_ids
    assert b"padding (0, -2)" not in message_catalog.MAIN.mo.read_bytes()


def test_update_keeps_marks_fuzzy_adds_and_drops(tmp_path, capsys):
    """``tools/message_catalog.py update`` on a copy: a kept message keeps its translation,
    a changed one becomes fuzzy (its old translation as the suggestion, left out of the .mo),
    a new one is untranslated, a gone one is dropped; report lists what to do."""
    from babel.messages.catalog import Catalog

    source = tmp_path / "pkg"
    source.mkdir()
    domain = message_catalog.Domain("demo", source, tmp_path / "locale")
    catalog = Catalog(locale="ru", domain="demo")
    catalog.add("the kept message {n}", "сохранённое сообщение {n}")
    catalog.add("the changed message: {n} cases", "изменённое сообщение: {n} случаев")
    catalog.add("obsolete words", "устаревшие слова")
    domain.po.parent.mkdir(parents=True)
    domain.po.write_bytes(message_catalog.po_bytes(catalog))
    (source / "m.py").write_text('from cnncourse.i18n import _, N_\n'
                                 'A = _("the kept message {n}")\n'
                                 'B = _("the changed message: {n} visible cases")\n'
                                 'C = N_("pooling windows slide with their stride")\n')
    assert message_catalog.update((domain,)) == 0
    merged = {m.id: m for m in message_catalog.read(domain) if m.id}
    assert set(merged) == {"the kept message {n}", "the changed message: {n} visible cases",
                           "pooling windows slide with their stride"}
    assert merged["the kept message {n}"].string == "сохранённое сообщение {n}"
    assert not merged["the kept message {n}"].fuzzy
    changed = merged["the changed message: {n} visible cases"]
    assert changed.fuzzy and changed.string == "изменённое сообщение: {n} случаев"
    assert merged["pooling windows slide with their stride"].string == ""
    report = capsys.readouterr().out
    assert "3 messages, 2 to do" in report and "fuzzy: 'the changed message" in report
    assert "untranslated: 'pooling windows slide with their stride'" in report
    mo = message_catalog.mo_bytes(message_catalog.read(domain))
    assert "сохранённое".encode() in mo and "изменённое".encode() not in mo


def test_every_translation_keeps_its_fields(catalog):
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        want = message_catalog.fields(_strings(message.id)[0])
        wrong += [(message.id, s) for s in _strings(message.string)
                  if message_catalog.fields(s) != want]
    assert wrong == []


def test_committed_mo_is_the_compiled_po(domain, catalog):
    assert domain.mo.read_bytes() == message_catalog.mo_bytes(catalog)


def _english_words(text: str) -> list[str]:
    """Prose words of a message: no {fields}, no code (names with _ . ( ) = [ ] or digits)."""
    text = message_catalog.FIELD.sub(" ", text)
    tokens = [t.strip(",;:()'\"") for t in text.split()]
    return [t for t in tokens if re.fullmatch(r"[a-z]{3,}", t)]


def test_russian_text_is_russian(catalog):
    """A message of two or more English words is translated into Russian words; a message
    with a count has Russian's three plural forms."""
    english = []
    for message in catalog:
        if not message.id or len(_english_words(_strings(message.id)[0])) < 2:
            continue
        for s in _strings(message.string):
            if not CYRILLIC_WORD.search(s):
                english.append(s)
    assert english == []
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert all(len(_strings(m.string)) == 3 for m in plurals)
    assert catalog.num_plurals == 3


#: The lecture's Russian terms (book/glossary.md, locale/ru/LC_MESSAGES/book/glossary.po), as
#: the stem a translation must contain where its message uses one of the English words in
#: prose (a word the translation keeps as it is, such as ``bias`` or ``stride``, is code).
GLOSSARY = {("padding", "padded"): "отступ", ("stride", "strides"): "шаг",
            ("dilation", "dilated", "dilations"): "расширени", ("kernel", "kernels"): "ядр|ядер",
            ("channel", "channels"): "канал", ("batch",): "батч",
            ("convolution", "convolutions", "conv", "convs"): "свёрт",
            ("pooling", "pool"): "пулинг", ("gradient", "gradients"): "градиент",
            ("dropout",): "дропаут", ("transposed", "transpose"): "транспонир",
            ("bias", "biases"): "смещени", ("variance",): "дисперси", ("mean",): "средн"}


def test_the_lectures_terms(catalog):
    missing = []
    for message in catalog:
        if not message.id:
            continue
        words = set(_english_words(_strings(message.id)[0]))
        for terms, stem in GLOSSARY.items():
            if not words & set(terms):
                continue
            for s in _strings(message.string):
                if not re.search(stem, s, re.I) and \
                        not any(re.search(rf"\b{t}\b", s) for t in terms):
                    missing.append((terms[0], s))
    assert missing == []


# --- choosing the language -----------------------------------------------------------------

@pytest.mark.parametrize("value,language", [("ru", "ru"), ("ru_RU.UTF-8", "ru"), ("RU", "ru"),
                                            ("en_US.UTF-8", "en"), ("de", "en"), ("", "en")])
def test_language_from_the_environment(monkeypatch, value, language):
    monkeypatch.setenv(i18n.ENV_VAR, value)
    assert i18n.get_language() == language


def test_set_language_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(i18n.ENV_VAR, "ru")
    i18n.set_language("en")
    assert i18n.get_language() == "en"
    assert i18n._("hint: {hint}") == "hint: {hint}"
    i18n.set_language(None)
    assert i18n.get_language() == "ru"
    assert i18n._("hint: {hint}") == "подсказка: {hint}"
    with pytest.raises(ValueError):
        i18n.set_language("fr")
    assert i18n._("") == ""  # never the catalog's header


# --- end to end: each assignment's checks ---------------------------------------------------

def _wrap(fn, name: str, factor: float = 2.0):
    """``fn`` with its result times ``factor``, named ``name`` (what a message shows)."""
    def wrong(*args, **kwargs):
        return factor * fn(*args, **kwargs)
    wrong.__name__ = name
    return wrong


def _plus_one(fn):
    def count_params(model):
        return fn(model) + 1
    return count_params


def _forbidden_conv():
    import torch.nn.functional as F

    def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return conv2d_naive


def _ns(assignment, replace=()):
    return harness.solution_namespace(assignment, replace)


# assignment -> (failing check: () -> report, passing check: () -> report)
def _a1():
    from cnncourse.checks.conv import check_conv2d, check_conv_output_size
    ns = _ns("a1_conv_forward")
    return (lambda: check_conv2d(_wrap(ns["conv2d_naive"], "conv2d_naive"), "stride_padding"),
            lambda: check_conv_output_size(ns["conv_output_size"]))


def _a2():
    from cnncourse.checks.matmul import check_conv2d_im2col, check_conv_matrix
    ns = _ns("a2_conv_as_matmul")
    return (lambda: check_conv_matrix(_wrap(ns["conv_matrix"], "conv_matrix")),
            lambda: check_conv2d_im2col(ns["conv2d_im2col"], "groups"))


def _a3():
    from cnncourse.checks.backprop import check_avg_pool, check_max_pool
    ns = _ns("a3_backprop", [("index = cols.argmax(dim=1, keepdim=True)",
                              "index = cols.shape[1] - 1 - cols.flip(1).argmax(dim=1, keepdim=True)")])
    return (lambda: check_max_pool(ns["MaxPool2dFunction"], "ties"),
            lambda: check_avg_pool(ns["AvgPool2dFunction"], "forward"))


def _a4():
    from cnncourse.checks.receptive import check_conv2d_flops, check_count_params
    ns = _ns("a4_receptive_fields")
    return (lambda: check_count_params(_plus_one(ns["count_params"])),
            lambda: check_conv2d_flops(ns["conv2d_flops"]))


def _a5():
    from cnncourse.checks.architectures import check_architecture
    ns = _ns("a5_architectures", [("nn.Conv2d(1, 6, kernel_size=5), nn.Tanh()",
                                   "nn.Conv2d(1, 6, kernel_size=5), nn.ReLU()")])
    return (lambda: check_architecture(ns["LeNet5"], "lenet"),
            lambda: check_architecture(ns["DepthwiseSeparableConv"], "depthwise"))


def _a6():
    from cnncourse.checks.norm_dropout import check_batchnorm, check_dropout2d
    ns = _ns("a6_norm_dropout", [("var = x.var(dim=dims, correction=0)",
                                  "var = x.var(dim=dims, correction=1)")])
    return (lambda: check_batchnorm(ns["BatchNorm2d"], "train"),
            lambda: check_dropout2d(ns["Dropout2d"], "masks"))


ASSIGNMENTS = {"a1": _a1, "a2": _a2, "a3": _a3, "a4": _a4, "a5": _a5, "a6": _a6}


def _failure(check) -> str:
    with pytest.raises(CheckFailure) as info:
        check()
    return str(info.value)


def _numbers(text: str) -> Counter:
    return Counter(NUMBER.findall(text))


def _russian_cases(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "случай"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "случая"
    return "случаев"


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_wrong_and_right_answers_in_russian(monkeypatch, assignment):
    failing, passing = ASSIGNMENTS[assignment]()
    i18n.set_language("en")
    english, english_pass = _failure(failing), repr(passing())
    i18n.set_language("ru")
    russian, russian_pass = _failure(failing), repr(passing())
    i18n.set_language(None)
    monkeypatch.setenv(i18n.ENV_VAR, "ru_RU.UTF-8")
    assert _failure(failing) == russian  # the environment's choice, the same text

    assert russian != english
    assert not re.search(r"\b(?:of|cases|failed|case|hint|expected|returned)\b", russian), russian
    assert len(CYRILLIC_WORD.findall(russian)) >= 5, russian
    assert re.match(r".+: не пройден\S* \d+ видим\S+ случа\S+ из \d+\.\n", russian), russian
    assert "\nслучай «" in russian and "\nподсказка: " in russian, russian
    assert _numbers(russian) == _numbers(english), (english, russian)

    n = int(re.search(r"all (\d+) visible cases passed\.$", english_pass).group(1))
    assert russian_pass.endswith(f": все видимые случаи пройдены ({n} {_russian_cases(n)}).")
    assert russian_pass.startswith(english_pass.split(":")[0].split(",")[0].split(" ")[0])


def test_forbidden_call_in_russian():
    from cnncourse.checks.conv import check_conv2d
    i18n.set_language("ru")
    message = _failure(lambda: check_conv2d(_forbidden_conv(), "basic"))
    assert ("ваш код вызвал torch.nn.functional.conv2d, что запрещено в этом упражнении: "
            "реализуйте свёртку сами, циклами по выходу.") in message


@pytest.mark.parametrize("n,form", [(1, "случай"), (2, "случая"), (4, "случая"), (5, "случаев"),
                                    (11, "случаев"), (12, "случаев"), (21, "случай"),
                                    (22, "случая"), (111, "случаев")])
def test_passed_line_plural_forms(n, form):
    from cnncourse.checks.core import CheckReport
    i18n.set_language("ru")
    assert repr(CheckReport("f", "hidden", n)) == f"f: все скрытые случаи пройдены ({n} {form})."
    i18n.set_language("en")
    assert repr(CheckReport("f", "hidden", n)) == f"f: all {n} hidden cases passed."


# --- a real sandboxed autograde of a Russian course -------------------------------------------

def test_kernels_get_the_graders_language(monkeypatch):
    """The sandbox gives kernels a fixed environment (cnncourse.sandbox.manager.base_env):
    it carries the grader's language, from set_language or CNNCOURSE_LANG."""
    from cnncourse.sandbox.manager import base_env, jail_env
    assert base_env()["CNNCOURSE_LANG"] == jail_env()["CNNCOURSE_LANG"] == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "ru_RU.UTF-8")
    assert jail_env()["CNNCOURSE_LANG"] == "ru"
    monkeypatch.delenv(i18n.ENV_VAR)
    i18n.set_language("ru")
    assert base_env()["CNNCOURSE_LANG"] == "ru"


def test_sandboxed_autograde_writes_russian_feedback(tmp_path, monkeypatch):
    """Two wrong a1 submissions graded in the sandbox with CNNCOURSE_LANG=ru: a wrong value
    (the message is the grader's, replayed) and a forbidden call (the message is made in the
    student's kernel and recorded; that submission also prints the kernel's CNNCOURSE_LANG)."""
    monkeypatch.setenv(i18n.ENV_VAR, "ru")
    a = "a1_conv_forward"
    course = harness.Course(tmp_path, [a])
    assert course.language == "ru"
    course.release(a)
    forbidden = ("import os\nimport torch.nn.functional as F\n\n"
                 "print('kernel language:', os.environ.get('CNNCOURSE_LANG'))\n\n"
                 "def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, "
                 "groups=1):\n    return F.conv2d(x, weight, bias, stride, padding, dilation, "
                 "groups)\n")
    course.submit("halved", a, harness.solved_notebook(a, edit=harness._a1_wrong, language="ru"))
    course.submit("forbidden", a, harness.solved_notebook(a, replace={"conv2d_naive": forbidden},
                                                          language="ru"))
    course.autograde(a)
    course.generate_feedback(a)

    from cnncourse.checks.conv import check_conv2d
    i18n.set_language("ru")
    ns = _ns(a)
    halved = _wrap(ns["conv2d_naive"], "conv2d_naive", 0.5)
    head = _failure(lambda: check_conv2d(halved, "basic")).splitlines()[0]
    assert head.startswith("conv2d_naive, основы: не пройдены ")
    text = html.unescape(course.feedback_html("halved", a))
    assert "CheckFailure: " + head in text
    assert "visible cases failed" not in text
    text = html.unescape(course.feedback_html("forbidden", a))
    assert "ваш код вызвал torch.nn.functional.conv2d" in text
    assert "your code called" not in text
    assert "kernel language: ru" in text  # the sandbox passed the grader's language on
    # the page's own frame (nbgrader's template) is Russian too: score lines and cell kinds
    assert "Баллы: " in text and "Тестовая ячейка" in text and "(Наверх)" in text
    assert "Score" not in text and "Test cell" not in text and "Grade cell" not in text
    assert "скрытые тесты: здесь автопроверка запустила ещё случаи" in text
    assert "hidden tests: the autograder" not in text


def test_the_feedback_pages_own_words_come_from_the_catalog():
    """nbgrader's feedback template, with its literal English words replaced: unchanged in
    English, every word replaced in Russian (a pattern nbgrader's template no longer has
    raises, so a new nbgrader cannot leave the Russian page English unnoticed)."""
    from cnncourse.sandbox import feedback

    english = feedback.translated_feedback_template("en")
    assert english == feedback._nbgrader_feedback_template().read_text(encoding="utf-8")
    russian = feedback.translated_feedback_template("ru")
    for pattern, _message, _form in feedback.FEEDBACK_WORDS:
        assert pattern.search(english) and not pattern.search(russian), pattern.pattern
    assert "Баллы: " in russian and "<b>Комментарии:</b>" in russian
    folder = Path(feedback.feedback_template_dir("ru"))
    assert (folder / "feedback" / "index.html.j2").read_text(encoding="utf-8") == russian



# --- the grader's own messages: limits, a dead kernel, a function not called again -----------

def _hangs(grade_id: str, source: str) -> str:
    """An a1 submission whose conv2d_naive never returns (on every call)."""
    return source + "\n\ndef conv2d_naive(*args, **kwargs):\n    while True:\n        pass\n" \
        if grade_id == "conv2d_naive" else source


#: What the feedback of that submission says, with a cell limit of 3 s: the cell that ran
#: past it (a cell of the student's that tries conv2d_naive), the function not called again
#: in every later cell that calls it, and the graded cases that got no result.
HANGS_FEEDBACK = {
    "en": ("SandboxLimit: the cell ran past the wall-time limit of 3 s per cell and was stopped",
           "NotCalledAgain: conv2d_naive is not called again: in ",
           ", the cell ran past the wall-time limit of 3 s per cell and was stopped; every "
           "later case that calls it fails",
           "no result for case '",
           "': your function did not return on it (it ran past a limit, stopped the kernel, "
           "or the test did not run)"),
    "ru": ("SandboxLimit: ячейка превысила лимит реального времени (3 с на ячейку) и была "
           "остановлена",
           "NotCalledAgain: conv2d_naive больше не вызывается: в ",
           " ячейка превысила лимит реального времени (3 с на ячейку) и была остановлена; все "
           "последующие случаи, которые её вызывают, не проходят",
           "нет результата для случая «",
           "»: ваша функция не вернула на нём результат (превысила лимит, остановила ядро "
           "Jupyter (kernel) или тест не запускался)"),
}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_sandboxed_autograde_says_the_limits_in_the_graders_language(tmp_path, monkeypatch,
                                                                      language):
    """An a1 submission whose conv2d_naive loops forever, graded in the sandbox with a 3 s
    cell limit and CNNCOURSE_LANG of the course: the grader's own messages in the feedback
    (the wall-time limit, the function not called again, the cases with no result) are in
    that language, and none of the other language's is there. (About 15 s each.)"""
    monkeypatch.setenv(i18n.ENV_VAR, language)
    monkeypatch.setenv("CNNCOURSE_LIMIT_CELL_SECONDS", "3")
    a = "a1_conv_forward"
    course = harness.Course(tmp_path, [a])
    assert course.language == language
    course.release(a)
    course.submit("hangs", a, harness.solved_notebook(a, edit=_hangs, language=language))
    course.autograde(a)
    course.generate_feedback(a)
    text = html.unescape(course.feedback_html("hangs", a))
    for phrase in HANGS_FEEDBACK[language]:
        assert phrase in text
    other = "en" if language == "ru" else "ru"
    for phrase in HANGS_FEEDBACK[other]:
        assert phrase.strip(" ,;:'«»") not in text
    assert ("[autograder]" in text) is False  # the kernel's line on planned cells is replaced
    assert text.count("NotCalledAgain: ") >= 2  # every later call, not one limit each


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_limit_notes_and_the_dead_kernels_reasons(language):
    """The sandbox's notes and reasons, made in the grader without a kernel: in English
    byte for byte the texts the tests and instructors know; in Russian, Russian; the note on
    a cell's limits is recognised (to keep it on a graded cell) in either language."""
    import signal
    from types import SimpleNamespace

    from nbformat import NotebookNode

    from cnncourse.sandbox import Limits
    from cnncourse.sandbox.execute import SandboxedExecute, _is_limit_note

    def grader(status=None, oom_kills=0):
        ex = SandboxedExecute.__new__(SandboxedExecute)  # no kernel, no traitlets config
        ex.__dict__.update(_limits=Limits(cell_seconds=3, cpu_seconds=60, memory_mb=1024,
                                          processes=64, sandbox_memory_mb=2048),
                           _oom_noted=0, _killed_for=None)
        ex.km = SimpleNamespace(exit_status=lambda: status, oom_kills=lambda: oom_kills)
        return ex

    i18n.set_language(language)
    cell = NotebookNode(outputs=[NotebookNode(output_type="error", evalue="MemoryError",
                                              traceback=["can't start new thread"])])
    grader(oom_kills=1)._annotate(cell)
    note = cell.outputs[-1].text
    cpu = grader(128 + signal.SIGXCPU)._death_reason()
    oom = grader(oom_kills=1)._death_reason()
    exited = grader(3)._death_reason()
    if language == "en":
        assert note == ("[autograder] this cell hit the memory limit (1024 MiB of address space "
                        "per process) and the process limit (64 processes and threads) and the "
                        "sandbox's memory limit (2048 MiB for all its processes together) (a "
                        "process was killed).\n")
        assert cpu == ("the kernel was killed by the CPU time limit of 60 s; this cell and the "
                       "cells after it did not finish")
        assert oom == ("the kernel was killed for going past the sandbox's memory limit (2048 MiB "
                       "for all its processes together); this cell and the cells after it did "
                       "not finish")
        assert exited == ("the Python process ended (os._exit, a crash, or a killed kernel), "
                          "exit status 3; this cell and the cells after it did not finish")
    else:
        assert note == ("[автопроверка] эта ячейка упёрлась в лимит памяти (1024 МиБ адресного "
                        "пространства на процесс) и лимит числа процессов (процессов и потоков "
                        "вместе: 64) и лимит памяти песочницы (2048 МиБ на все её процессы "
                        "вместе) (один из процессов был принудительно завершён).\n")
        assert cpu.startswith("ядро Jupyter (kernel) было принудительно завершено, причина: "
                              "лимит процессорного времени (60 с); эта ячейка и ячейки после")
        assert oom.startswith("ядро Jupyter (kernel) было принудительно завершено, так как "
                              "превысило лимит памяти песочницы (2048 МиБ")
        assert "код завершения 3; эта ячейка" in exited
    for now in ("en", "ru"):
        i18n.set_language(now)
        assert _is_limit_note(note)
        assert not _is_limit_note("[autograder] this cell printed more than the output limit")
