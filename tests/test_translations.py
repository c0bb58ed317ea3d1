"""The Russian edition is complete, fresh and uses the lecture's terms (issue #17).

* Every message of the English book has a Russian translation in locale/ru/LC_MESSAGES
  (not empty, not fuzzy), and no catalog holds a message the book no longer has. The book's
  messages are the ones `make book` recorded while building the Russian edition
  (_build/gettext/messages.json, tools/russian_edition.py): the messages Sphinx's gettext
  builder extracts for `make translations`, at no cost here.
* A translation keeps what is not prose: the inline math, the cross-references and the links
  of its English message.
* Terminology: wherever an English page uses a term of the glossary (book/glossary.md, which
  gives the Russian terms of the lecture), the same page of the Russian edition uses one of
  its Russian terms (compared word by word after Snowball stemming, so "свёртки" and
  "свёрткой" count as "свёртка").

The assignments' catalogs (locale/ru/LC_MESSAGES/solutions/<a>.po, issue #17: the Russian
release exercises/ru/) are held to the same rules: each holds exactly the messages of its
assignment's source notebook (cnncourse.notebook_translation extracts them, no build
needed), every one translated and none fuzzy, and a translation keeps its message's inline
math, inline code and {fields} (the printed words' format fields) exactly.

Each test lists what is missing per catalog or page.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import snowballstemmer
from babel.messages import pofile

from book_browser import book_html
from cnncourse import notebook_translation

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "locale" / "ru" / "LC_MESSAGES"
MESSAGES = ROOT / "_build" / "gettext" / "messages.json"
GLOSSARY = ROOT / "book" / "glossary.md"

# Terms of the lecture (../shared/lecture/000_8e0b3c9033e79c3d.txt) that the glossary must give.
LECTURE_TERMS = ["свёртка", "пулинг", "рецептивное поле", "шаг", "отступ", "ядро", "канал",
                 "карта признаков", "прокидывание связей", "узкое горло"]


def book_messages() -> dict[str, list[str]]:
    if not MESSAGES.is_file():
        raise FileNotFoundError(f"{MESSAGES.relative_to(ROOT)} is missing: run `make book` "
                                "(it records the messages while building the Russian edition)")
    return json.loads(MESSAGES.read_text())


@lru_cache(maxsize=None)
def catalogs() -> dict[str, list]:
    """Document name -> its catalog's messages (babel Message objects, header left out)."""
    result = {}
    for po in sorted(CATALOGS.rglob("*.po")):
        with po.open("rb") as f:
            result[po.relative_to(CATALOGS).with_suffix("").as_posix()] = [
                m for m in pofile.read_po(f) if m.id]
    return result


ASSIGNMENT_CATALOGS = "solutions/"  # the assignments' catalogs (not the book's)


def book_catalogs() -> dict[str, list]:
    return {name: messages for name, messages in catalogs().items()
            if not name.startswith(ASSIGNMENT_CATALOGS)}


def _report(problems: dict[str, list[str]], what: str, shown: int = 3) -> str:
    lines = [f"{sum(map(len, problems.values()))} {what} in {len(problems)} catalogs:"]
    for name, items in sorted(problems.items()):
        lines.append(f"  {name}: {len(items)}" + "".join(
            f"\n      {item[:110]!r}" for item in items[:shown]))
    return "\n".join(lines)


def test_every_document_has_a_catalog_and_every_catalog_a_document():
    book, cats = set(book_messages()), set(book_catalogs())
    assert not book - cats, f"documents without a catalog (make translations): {sorted(book - cats)}"
    assert not cats - book, f"catalogs of documents the book no longer has: {sorted(cats - book)}"


def test_catalogs_hold_exactly_the_books_messages():
    """A message of the book missing from its catalog, or a catalog message the book no
    longer has: the catalogs are stale; `make translations` updates them."""
    missing, stale = {}, {}
    for name, messages in book_messages().items():
        ids = {m.id for m in book_catalogs().get(name, [])}
        if gone := [m for m in messages if m not in ids]:
            missing[name] = gone
        if extra := sorted(ids - set(messages)):
            stale[name] = extra
    assert not missing and not stale, "\n".join(
        filter(None, [missing and _report(missing, "messages of the book not in the catalogs"),
                      stale and _report(stale, "catalog messages the book no longer has")])
    ) + "\n(run `make translations`)"


def test_every_message_is_translated():
    untranslated, fuzzy = {}, {}
    for name, messages in catalogs().items():
        if todo := [m.id for m in messages if not m.string]:
            untranslated[name] = todo
        if todo := [m.id for m in messages if m.string and m.fuzzy]:
            fuzzy[name] = todo
    assert not untranslated and not fuzzy, "\n".join(
        filter(None, [untranslated and _report(untranslated, "untranslated messages"),
                      fuzzy and _report(fuzzy, "fuzzy messages (to review, then drop '#, fuzzy')")]))


# What a translation must keep from its message: inline math, roles with their targets
# ({doc}`x`, {ref}`text <label>`: the label), link targets, and substitutions.
MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")
ROLE_TARGET = re.compile(r"\{(doc|ref|numref|eq|term|download)\}`(?:[^`<]*<)?([^`>]+)>?`")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
SUBSTITUTION = re.compile(r"\{\{[^}]+\}\}")
NEVER_TRANSLATED_ROLES = ("doc", "ref", "numref", "eq", "download")


TEXT_IN_MATH = re.compile(r"\\(text|textrm|mathrm|mbox)\{[^{}]*\}")


def kept(text: str) -> Counter:
    """What must stay: the math (its words in \\text{...} may be translated), the targets."""
    items = Counter(("math", TEXT_IN_MATH.sub(r"\\\1{…}", m.strip())) for m in MATH.findall(text))
    items.update(("role", r, t.strip()) for r, t in ROLE_TARGET.findall(text)
                 if r in NEVER_TRANSLATED_ROLES)
    items.update(("link", t) for t in LINK_TARGET.findall(text))
    items.update(("substitution", s) for s in SUBSTITUTION.findall(text))
    return items


def test_translations_keep_math_references_and_links():
    broken = {}
    for name, messages in catalogs().items():
        for m in messages:
            if m.string and not m.fuzzy and kept(m.id) != kept(m.string):
                lost, added = kept(m.id) - kept(m.string), kept(m.string) - kept(m.id)
                broken.setdefault(name, []).append(
                    f"{m.id[:60]!r}: lost {sorted(lost)[:3]}, added {sorted(added)[:3]}")
    assert not broken, _report(broken, "translations that change math, references or links")


# --- terminology ------------------------------------------------------------------------

RU_STEM = snowballstemmer.stemmer("russian")
# A word: letters only, so a hyphen separates words on both sides of the comparison
# ("max-пулинг" uses "пулинг", "батч-нормализации" the term "батч-нормализация").
WORD = re.compile(r"[^\W\d_]+")
# A quoted title in the English text (a paper's, kept in English in the Russian edition too):
# its words are not the book's use of a term.
QUOTED = re.compile(r"\u201c[^\u201d]*\u201d|\"[^\"]*\"")


def stems(text: str, stemmer, only: frozenset[str] | None = None) -> str:
    """The text as space-separated word stems (lower case, ё as е), framed by spaces.

    With ``only`` (3-letter beginnings of the stems looked for), the other words are not
    stemmed (Snowball in pure Python is slow) but written as "·": a stem begins as its
    word does, so they cannot match."""
    words = WORD.findall(text.lower().replace("ё", "е"))
    unique = sorted({w for w in words if only is None or w[:3] in only or len(w) < 3})
    stem = dict(zip(unique, stemmer.stemWords(unique)))
    return " " + " ".join(stem.get(w, "·") for w in words) + " "


def english_term(term: str) -> re.Pattern:
    """An English term, singular or plural, as whole words: "convolution" is not found in
    "convolutional" (whose Russian is another word, свёрточный)."""
    words = [re.escape(w) + "(?:e?s)?" for w in term.lower().split()]
    return re.compile(r"(?<![\w-])" + r"\s+".join(words) + r"(?![\w-])")


def russian_term(term: str) -> re.Pattern:
    """A Russian term in any form: each word's Snowball stem as the beginning of a word
    ("канал" stems to "кана", "каналы" to "канал": both begin with "кана")."""
    words = [re.escape(w) + r"\S*" for w in stems(term, RU_STEM).split()]
    return re.compile(" " + " ".join(words) + " ")


def glossary() -> list[tuple[list[str], list[str]]]:
    """(English terms, Russian terms) of each glossary entry; a term in parentheses or
    after a comma is an alternative ("kernel, filter" -> ядро, фильтр)."""
    text = GLOSSARY.read_text()
    body = text[text.index("```{glossary}"):]
    entries = []
    for en, ru in re.findall(r"^(\S.*)\n  \*Russian:\*\s*(.*?)\.(?:\s|$)", body, re.M):
        en_terms = [t.strip() for t in re.sub(r"\s*\([^)]*\)", "", en).split(",")]
        en_terms += [p.strip() for p in re.findall(r"\(([^)]*[a-z][^)]*)\)", en)
                     if len(p) > 3 and not p.startswith(("of ", "to "))]
        ru_terms = [re.sub(r"\s*\([^)]*\)", "", t).replace("«", "").replace("»", "").strip()
                    for t in ru.split(",")]
        if len(en_terms) == len(ru_terms) > 1:  # pairwise: "running mean, running variance"
            entries += [([e], [r]) for e, r in zip(en_terms, ru_terms)]
        else:
            entries.append((en_terms, ru_terms))
    return entries


class _Prose(HTMLParser):
    """The prose of a page's article: no code cells, outputs, inline code, math, scripts,
    permalinks or the note the build adds."""

    SKIP_TAGS = {"script", "style", "pre", "code", "svg", "nav", "button", "mjx-container"}
    SKIP_CLASSES = {"cell_input", "cell_output", "math", "headerlink", "run-this-chapter",
                    "highlight", "toctree-wrapper"}
    VOID = {"br", "img", "input", "hr", "meta", "link", "wbr", "source", "col", "area"}

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []  # per open element: skipped (it or an ancestor)
        self.in_article = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "article":
            self.in_article += 1
        skip = bool(self.stack and self.stack[-1]) or tag in self.SKIP_TAGS \
            or bool(classes & self.SKIP_CLASSES)
        self.stack.append(skip)

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack:
            return
        self.stack.pop()
        if tag == "article":
            self.in_article -= 1

    def handle_data(self, data):
        if self.in_article and not (self.stack and self.stack[-1]):
            self.parts.append(data)


# scripts (the widgets' state) and code blocks, cut before parsing: most of a page's bytes
SCRIPT = re.compile(r"<script\b.*?</script>|<pre\b.*?</pre>", re.S | re.I)


def prose(page: Path) -> str:
    html = page.read_text(errors="replace")
    start, end = html.find("<article"), html.rfind("</article>")
    parser = _Prose()
    parser.feed(SCRIPT.sub("", html[max(start, 0):end + len("</article>")]))
    return " ".join(parser.parts)


def test_the_glossary_gives_the_lectures_terms():
    russian = {stems(t, RU_STEM) for _, ru in glossary() for t in ru}
    missing = [t for t in LECTURE_TERMS if stems(t, RU_STEM) not in russian]
    assert len(glossary()) > 50, "the glossary could not be read"
    assert not missing, f"lecture terms missing from the glossary's Russian terms: {missing}"


def test_russian_pages_use_the_glossarys_terms_where_english_pages_use_them():
    entries = [([english_term(t) for t in en], [russian_term(t) for t in ru], en, ru)
               for en, ru in glossary()]
    ru_only = frozenset(w[:3] for _, ru in glossary() for t in ru for w in stems(t, RU_STEM).split())
    missing: dict[str, list[str]] = {}
    for name in book_messages():
        en_page, ru_page = book_html() / f"{name}.html", book_html() / "ru" / f"{name}.html"
        assert en_page.is_file() and ru_page.is_file(), f"{name}: a page is missing (make book)"
        en_text = " ".join(QUOTED.sub(" ", prose(en_page)).lower().split())
        ru_text = stems(prose(ru_page), RU_STEM, ru_only)
        for en_terms, ru_terms, en, ru in entries:
            if any(t.search(en_text) for t in en_terms) and not any(t.search(ru_text) for t in ru_terms):
                missing.setdefault(name, []).append(f"{' / '.join(en)} -> {' / '.join(ru)}")
    assert not missing, _report(missing, "glossary terms of the English pages missing from "
                                "the Russian pages (English term -> Russian terms)", shown=40)


def test_the_terminology_check_reads_prose_and_word_forms():
    """The check itself: prose without code, math or outputs, Russian word forms."""
    page = ("<html><body><nav>kernel</nav><article><p>A <strong>свёрткой</strong> "
            "<span class=\"math\">\\(stride\\)</span> <code>padding=1</code></p>"
            "<div class=\"cell_output\"><pre>pooling</pre></div><p>карты<br>признаков</p>"
            "</article></body></html>")
    parser = _Prose()
    parser.feed(page)
    text = " ".join(parser.parts)
    ru_text = stems(text + " каналы", RU_STEM)
    for term in ("свёртка", "карта признаков", "канал"):
        assert russian_term(term).search(ru_text), term
    assert not russian_term("свёрточная нейронная сеть").search(ru_text)
    for word in ("kernel", "stride", "padding", "pooling"):
        assert word not in text
    assert english_term("feature map").search("two feature maps")
    assert not english_term("convolution").search("a convolutional layer")
    terms = dict((tuple(en), ru) for en, ru in glossary())
    assert terms[("running mean",)] == ["скользящее среднее"]
    assert terms[("kernel",)] == ["ядро"] and terms[("stride",)] == ["шаг"]


# --- the assignments' catalogs (the Russian release, exercises/ru/) ------------------------

def assignment_catalog(name: str):
    with notebook_translation.catalog_path(name, "ru").open("rb") as f:
        return pofile.read_po(f)


def test_every_assignment_has_a_catalog_with_exactly_its_messages():
    """A message of a source notebook missing from its catalog, a catalog message the
    notebook no longer has, or an obsolete (#~) entry: `make translations` updates them."""
    names = notebook_translation.assignments()
    assert len(names) == 6
    cats = {n[len(ASSIGNMENT_CATALOGS):] for n in catalogs() if n.startswith(ASSIGNMENT_CATALOGS)}
    assert cats == set(names), "one catalog per assignment (make translations)"
    missing, stale = {}, {}
    for name in names:
        messages = notebook_translation.assignment_messages(name)
        catalog = assignment_catalog(name)
        ids = {m.id for m in catalog if m.id}
        if gone := [m for m in messages if m not in ids]:
            missing[name] = gone
        if extra := sorted(ids - set(messages)) + [m.id for m in catalog.obsolete.values()]:
            stale[name] = extra
        assert len(messages) > 20, f"{name}: the messages could not be read"
    assert not missing and not stale, "\n".join(
        filter(None, [missing and _report(missing, "messages of the notebooks not in the catalogs"),
                      stale and _report(stale, "catalog messages the notebooks no longer have")])
    ) + "\n(run `make translations`)"


INLINE_CODE = notebook_translation.CODE_SPAN
FIELD = notebook_translation.FIELD


def assignment_kept(text: str) -> Counter:
    """What a translation of an assignment message keeps exactly: its inline math, inline
    code and {fields}."""
    items = Counter(("math", m.strip()) for m in MATH.findall(text))
    without_code = INLINE_CODE.sub(" ", text)
    items.update(("code", m.group(0)) for m in INLINE_CODE.finditer(text))
    items.update(("field", f) for f in FIELD.findall(MATH.sub(" ", without_code)))
    return items


def test_assignment_translations_keep_math_code_and_fields():
    """A translation has its message's math, code and fields, and no math or fields of its
    own (code it may add: **размер** (`size`))."""
    broken = {}
    for name, messages in catalogs().items():
        if not name.startswith(ASSIGNMENT_CATALOGS):
            continue
        for m in messages:
            if not m.string:
                continue
            lost = assignment_kept(m.id) - assignment_kept(m.string)
            added = [k for k in assignment_kept(m.string) - assignment_kept(m.id) if k[0] != "code"]
            if lost or added:
                broken.setdefault(name, []).append(
                    f"{m.id[:60]!r}: lost {sorted(lost)[:3]}, added {sorted(added)[:3]}")
    assert not broken, _report(broken, "translations that change inline math, code or fields")


def test_the_assignment_check_finds_lost_math_code_and_fields():
    assert assignment_kept("a `x` and $y$ with {n:,}") == Counter(
        {("code", "`x`"): 1, ("math", "y"): 1, ("field", "{n:,}"): 1})
    assert assignment_kept("a `x` and $y$") - assignment_kept("a `х` and $y$")  # Cyrillic х
    assert assignment_kept("{n:,} parameters") - assignment_kept("{n} параметров")


def test_make_translations_merges_the_assignments(tmp_path):
    """`tools/translations.py update`'s merge of the assignments' catalogs, on a copy of a1
    whose text changed: kept translations stay, a changed message becomes fuzzy (with the old
    translation to review), a new one is untranslated, a gone one is dropped."""
    import shutil
    import sys

    import nbformat

    root = Path(__file__).resolve().parent.parent
    name = "a1_conv_forward"
    source = tmp_path / "solutions"
    (source / name).mkdir(parents=True)
    nb = nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4)
    intro = nb.cells[0]
    old_heading = intro.source.split("\n")[0][2:]
    gone = "Try your function on the lecture's second worked example before you run the tests:"
    for cell in nb.cells:
        if cell.source == gone:
            cell.source = "A brand new sentence to translate."
    intro.source = intro.source.replace(old_heading, old_heading + " in loops")
    nbformat.write(nb, source / name / f"{name}.ipynb")
    locale = tmp_path / "locale"
    target = notebook_translation.catalog_path(name, "ru", locale)
    target.parent.mkdir(parents=True)
    shutil.copy(notebook_translation.catalog_path(name, "ru"), target)

    pots = notebook_translation.write_templates(tmp_path / "pot", source)
    assert [p.relative_to(tmp_path) for p in pots] == [Path(f"pot/solutions/{name}.pot")]
    sys.path.insert(0, str(root / "tools"))
    import translations
    assert translations.update_catalogs(tmp_path / "pot", locale) == 0
    with target.open("rb") as f:
        merged = {m.id: m for m in pofile.read_po(f) if m.id}
    before = {m.id: m for m in assignment_catalog(name) if m.id}
    changed = merged[old_heading + " in loops"]
    assert changed.fuzzy and changed.string == before[old_heading].string
    assert merged["A brand new sentence to translate."].string == ""
    assert gone not in merged and old_heading not in merged
    kept = [m for m in before if m in merged]
    assert len(kept) == len(before) - 2
    assert all(merged[m].string == before[m].string and not merged[m].fuzzy for m in kept)


def test_russian_assignments_use_the_glossarys_terms_where_english_ones_use_them():
    """As for the book's pages: a glossary term in an assignment's English text (its
    messages, without code, math or quoted titles) -> one of its Russian terms in the
    Russian text."""
    entries = [([english_term(t) for t in en], [russian_term(t) for t in ru], en, ru)
               for en, ru in glossary()]
    ru_only = frozenset(w[:3] for _, ru in glossary() for t in ru for w in stems(t, RU_STEM).split())
    missing: dict[str, list[str]] = {}
    for name in notebook_translation.assignments():
        messages = [m for m in assignment_catalog(name) if m.id]
        en_text = " ".join(" ".join(QUOTED.sub(" ", notebook_translation.prose(m.id)).lower().split())
                           for m in messages)
        ru_text = stems(" ".join(notebook_translation.prose(m.string) for m in messages),
                        RU_STEM, ru_only)
        for en_terms, ru_terms, en, ru in entries:
            if any(t.search(en_text) for t in en_terms) and not any(t.search(ru_text) for t in ru_terms):
                missing.setdefault(name, []).append(f"{' / '.join(en)} -> {' / '.join(ru)}")
    assert not missing, _report(missing, "glossary terms of the English assignments missing "
                                "from the Russian ones (English term -> Russian terms)", shown=40)
