"""The built book is self-contained: no page loads anything from the network, math is
typeset by the local MathJax and widgets render with the local widget manager. Both
editions: the English book (_build/html) and the Russian one (_build/html/ru), with a
language switch on every page to the same page of the other, and a Russian search."""

from __future__ import annotations

import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from book_browser import CONTRAST, FONT_FACES, PageLog, book_html, changes, settle, widget_pages

# The editions: the folder of each under the built book (tools/translations.py).
EDITIONS = {"en": "", "ru": "ru/"}

REMOTE = re.compile(r"^(https?:)?//", re.I)
CSS_REMOTE = re.compile(r"(@import\s+(url\()?\s*['\"]?|url\(\s*['\"]?)(https?:)?//", re.I)


class _Loads(HTMLParser):
    """Collect the URLs a page loads by itself (not the links a reader may follow)."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed", "track") and a.get("src"):
            self.urls.append((tag, a["src"]))
        if tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "preload", "icon", "modulepreload", "prefetch", "manifest")):
                self.urls.append((f"link rel={rel}", a["href"]))
        if tag == "object" and a.get("data"):
            self.urls.append((tag, a["data"]))
        if a.get("style"):
            self.inline_css.append(a["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append(data)


def pages() -> list[Path]:
    """The pages of both editions (the theme's template fragments under _static are not
    pages)."""
    html = book_html()
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


def test_book_was_built_with_chapters_in_both_editions():
    names = {p.relative_to(book_html()).as_posix() for p in pages()}
    for edition in EDITIONS.values():
        assert {f"{edition}book/part1/01_what_an_image_is.html", f"{edition}book/intro.html"} <= names
    english = {n for n in names if not n.startswith("ru/")}
    assert {f"ru/{n}" for n in english} == names - english, "the editions have different pages"


SWITCH = re.compile(r'<a class="[^"]*cnncourse-language-switch[^"]*" href="([^"]+)"\s+hreflang="(\w+)"')


def test_every_page_links_the_same_page_in_the_other_edition():
    """The language switch (tools/russian_edition.py): one per page, a relative link that
    works offline and as a file, to the same page of the other edition."""
    html, wrong = book_html(), []
    for page in pages():
        rel = page.relative_to(html).as_posix()
        text = page.read_text(errors="replace")
        if text.startswith('<meta http-equiv="Refresh"'):  # index.html: a redirect
            continue
        links = SWITCH.findall(text)
        english = rel.removeprefix("ru/")
        expected = (english, "en") if rel.startswith("ru/") else (f"ru/{english}", "ru")
        if len(links) != 1:
            wrong.append(f"{rel}: {len(links)} language switches")
            continue
        href, lang = links[0]
        target = (page.parent / href).resolve()
        if REMOTE.match(href) or href.startswith("/") or (lang, target) != (
                expected[1], (html / expected[0]).resolve()) or not target.is_file():
            wrong.append(f"{rel}: switch to {href!r} ({lang}), expected {expected}")
    assert not wrong, "\n".join(wrong[:20])


def test_no_page_loads_anything_from_the_network():
    offenders = []
    for page in pages():
        parser = _Loads()
        parser.feed(page.read_text(errors="replace"))
        offenders += [f"{page.relative_to(book_html())}: <{tag}> {url}"
                      for tag, url in parser.urls if REMOTE.match(url.strip())]
        offenders += [f"{page.relative_to(book_html())}: inline CSS loads {m.group(0)}"
                      for css in parser.inline_css for m in CSS_REMOTE.finditer(css)]
    for css in book_html().rglob("*.css"):
        offenders += [f"{css.relative_to(book_html())}: {m.group(0)}"
                      for m in CSS_REMOTE.finditer(css.read_text(errors="replace"))]
    assert not offenders, "\n".join(offenders[:20])


@pytest.mark.parametrize("edition", EDITIONS.values(), ids=EDITIONS.keys())
def test_mathjax_and_widget_manager_are_local(edition):
    html = (book_html() / f"{edition}book/part1/01_what_an_image_is.html").read_text()
    assert (book_html() / f"{edition}_static/mathjax/tex-chtml.js").is_file()
    assert re.search(r'src="[./]*_static/mathjax/tex-chtml\.js', html)
    assert re.search(r'src="[./]*_static/widgets/embed-amd\.js', html)
    assert "application/vnd.jupyter.widget-state+json" in html


# Code cells and outputs that need horizontal scrolling: (first line, pixels hidden).
SCROLLING_CELLS = """() => [...document.querySelectorAll('div.cell_input pre, div.cell_output pre')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => [el.textContent.split('\\n')[0].slice(0, 60), el.scrollWidth - el.clientWidth])"""


def test_every_local_file_a_page_loads_exists():
    """Both editions, without a browser: every script, stylesheet, image ... a page loads by
    itself is a relative path to a file of the build (the Russian pages to ru/_static)."""
    html, missing = book_html(), []
    for page in pages():
        parser = _Loads()
        parser.feed(page.read_text(errors="replace"))
        for tag, url in parser.urls:
            path = url.split("#")[0].split("?")[0]
            if REMOTE.match(url) or url.startswith(("data:", "blob:")) or not path:
                continue
            if url.startswith("/") or not (page.parent / path).resolve().is_file():
                missing.append(f"{page.relative_to(html)}: <{tag}> {url}")
    assert not missing, "\n".join(missing[:20])


# The Russian edition's pages run the same code and show the same cells as the English ones
# (checked by the test above without a browser): in the browser, a few of them, and every
# Russian page with widgets.
RUSSIAN_IN_BROWSER = ["ru/book/intro.html", "ru/book/part1/03_convolution.html",
                      "ru/book/part2/01_lenet.html", "ru/book/widgets.html", "ru/search.html"]


CHAPTER = "book/part1/01_what_an_image_is.html"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# The page's width at the screen's (arg), and what in the article reaches past the screen.
WIDER_THAN_THE_SCREEN = """(screen) => [document.documentElement.scrollWidth,
  Array.from(document.querySelectorAll('article *'))
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > screen + 1)
    .slice(0, 3).map(e => `${e.tagName}.${e.className} ${(e.textContent || '').slice(0, 50)}`)]"""


def _math_and_a_reacting_widget(page) -> str:
    """What is wrong on the chapter's page ('' if nothing): its math typeset (no TeX left in
    the prose) and its pixel explorer changing its numbers when the pointer moves over the
    picture."""
    try:
        page.wait_for_selector("mjx-container", timeout=20000)
        assert page.locator("mjx-container").count() >= 5, "fewer than 5 typeset formulas"
        body = page.inner_text("article")
        assert "\\frac" not in body and "\\times" not in body, "TeX left untypeset in the prose"
        widget = page.locator(".cnnw-pixel-explorer")
        widget.wait_for(timeout=20000)
        canvas = widget.locator("canvas")
        assert canvas.bounding_box()["width"] > 100, "the picture is narrower than 100 px"
        before = widget.locator("table").inner_text()
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.8)
        assert changes(widget.locator("table"), before), \
            "moving the pointer over the picture did not change the numbers"
    except (AssertionError, PlaywrightError) as e:  # a timeout waiting for the math or the widget
        return f"{type(e).__name__}: {e}"
    return ""


@pytest.fixture(scope="module")
def walk(browser, base_url) -> dict[str, dict]:
    """Every English page, the Russian pages of RUSSIAN_IN_BROWSER and every Russian page with
    widgets, each opened once over http on a 1280 px desktop, in one tab, until it has settled
    (book_browser.settle: loaded, math typeset, fonts and widgets there): per page, what it
    requested outside the book, its failed requests and errors, the fonts it declares, its code
    cells and outputs that scroll sideways, its text below 4.5:1 in the light and the dark theme,
    its width at 390 px, and how many course widgets it shows of how many it embeds; on the
    chapter CHAPTER (both editions), what is wrong with its math and its widget."""
    html = book_html()
    russian = [html / rel for rel in RUSSIAN_IN_BROWSER]
    assert all(p.is_file() for p in russian), "a Russian page of RUSSIAN_IN_BROWSER is missing"
    widgets = dict(widget_pages())
    russian += [html / rel for rel in widgets if rel.startswith("ru/") and rel not in RUSSIAN_IN_BROWSER]
    assert (html / "ru" / CHAPTER) in russian, "the Russian chapter is not opened"
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log = PageLog(page, base_url)
    out = {}
    for path in [p for p in pages() if p.relative_to(html).parts[0] != "ru"] + russian:
        rel = path.relative_to(html).as_posix()
        log.clear()
        page.goto(f"{base_url}/{rel}")
        shown = settle(page, widgets.get(rel, 0))
        out[rel] = {"scrolling": page.evaluate(SCROLLING_CELLS), "widgets": (shown, widgets.get(rel, 0))}
        if rel.removeprefix("ru/") == CHAPTER:
            out[rel]["chapter"] = _math_and_a_reacting_widget(page)
            log.wait_answered(page)
        out[rel].update(external=log.external(), failures=list(log.failures),
                        fonts=page.evaluate(FONT_FACES))
        # The same page in both themes (transitions off: colours are read at once) and on a
        # phone's width: text below 4.5:1, and how wide the page is at 390 px.
        page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
        for theme in ("light", "dark"):
            page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
            out[rel][f"low_contrast_{theme}"] = [
                (text, round(ratio, 2)) for text, ratio in page.evaluate(f"({CONTRAST})(document.body)")
                if ratio < 4.5]
        page.set_viewport_size(PHONE)
        out[rel]["phone_width"] = page.evaluate(WIDER_THAN_THE_SCREEN, PHONE["width"])
        page.set_viewport_size(DESKTOP)
    context.close()
    return out


def test_every_page_in_a_browser_requests_only_local_files(walk):
    """... and has no failed request or error (every English page, the Russian pages of
    RUSSIAN_IN_BROWSER and the Russian pages with widgets)."""
    offenders = [f"{rel}: {u}" for rel, seen in walk.items() for u in seen["external"]]
    broken = [f"{rel}: {f}" for rel, seen in walk.items() for f in seen["failures"]]
    assert not offenders, "pages requested the network:\n" + "\n".join(offenders[:20])
    assert not broken, "pages had failed requests or errors:\n" + "\n".join(broken[:20])


def test_every_font_the_pages_declare_is_in_the_book(walk):
    """Every @font-face of every page walked points at a file of the book, the fonts no glyph
    has needed yet too (the widget manager's icon fonts were once declared beside the page,
    .../book/@jupyter-widgets/*.woff2, and fetched only now and then: a 404 in 1 of 4 loads)."""
    html = book_html()
    missing, seen = [], 0
    for rel, visit in walk.items():
        for url in visit["fonts"]:
            if url.startswith("data:"):
                continue
            seen += 1
            path = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
            if not (html / path).is_file():
                missing.append(f"{rel}: {url}")
    assert seen, "no page declared a font: the check saw nothing"
    assert not missing, f"{len(missing)} declared fonts are not in the book:\n" + "\n".join(missing[:20])


def test_every_page_reads_well_in_both_themes(walk):
    """All text that shows (prose, code, outputs, navigation, the language switch and the
    "run this chapter" note) keeps a contrast of at least 4.5:1 in the light and the dark
    theme, on every page walked."""
    low = [f"{rel}, {theme}: {text!r} at {ratio}:1" for rel, seen in walk.items()
           for theme in ("light", "dark") for text, ratio in seen[f"low_contrast_{theme}"]]
    assert not low, f"{len(low)} texts below 4.5:1:\n" + "\n".join(low[:20])


def test_every_page_fits_a_phone(walk):
    """At 390 px no page is wider than the screen (long names in the text break)."""
    wide = [f"{rel}: {width} px ({culprits})" for rel, seen in walk.items()
            for width, culprits in [seen["phone_width"]] if width > PHONE["width"]]
    assert not wide, f"{len(wide)} pages wider than {PHONE['width']} px:\n" + "\n".join(wide[:20])


def test_every_code_cell_and_output_shows_whole_on_a_desktop(walk):
    """On a 1280 px desktop every code cell and output shows whole: nothing the text refers
    to is hidden behind a horizontal scroll bar (book/_static/cnncourse-book.css wraps long
    lines)."""
    scrolling = [f"{rel}: {px} px hidden in {line!r}" for rel, seen in walk.items()
                 for line, px in seen["scrolling"]]
    assert not scrolling, (f"{len(scrolling)} code cells or outputs scroll sideways at 1280 px:\n"
                           + "\n".join(scrolling[:20]))


def test_every_widget_renders_over_http(walk):
    """Every page with course widgets shows them all (in both editions; as a file:
    test_widgets_browser.py)."""
    assert set(rel for rel, _ in widget_pages()) <= set(walk), "a page with widgets was not opened"
    wrong = [f"{rel}: {shown} of {n} widgets rendered" for rel, seen in walk.items()
             for shown, n in [seen["widgets"]] if shown != n]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("edition", EDITIONS.values(), ids=EDITIONS.keys())
def test_chapter_typesets_math_and_renders_a_reacting_widget(walk, edition):
    """On the chapter's page, as the walk found it (and with no request outside the book, no
    failed request or error: the test above)."""
    problem = walk[f"{edition}{CHAPTER}"]["chapter"]
    assert not problem, problem


def test_the_language_switch_is_reached_and_followed_with_the_keyboard(browser):
    """Opened as a file: in the article header, Tab goes from the contents toggle to the
    switch, and Enter opens the same page in the other edition, and back."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    start = book_html() / "ru" / "book" / "glossary.html"
    page.goto(start.as_uri(), wait_until="domcontentloaded")
    for target in (book_html() / "book" / "glossary.html", start):
        page.locator(".bd-header-article .primary-toggle").first.focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert "cnncourse-language-switch" in focused, f"Tab went to {focused!r} on {page.url}"
        assert page.locator(".cnncourse-language-switch").is_visible()
        page.keyboard.press("Enter")
        page.wait_for_url(target.as_uri(), wait_until="domcontentloaded", timeout=10000)
    page.close()


@pytest.mark.parametrize("query", ["свёрткой", "свертки"])
def test_russian_search_finds_the_convolution_chapter(browser, base_url, query):
    """The Russian edition's search (Sphinx's Russian stemming, html_search_language)
    finds the chapter from other forms of the word (its title: Свёртка), with ё or е."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, base_url)
    page.goto(f"{base_url}/ru/search.html?q={query}")
    # searchtools.js lists the hits one by one, fetching each page for its summary (chapter
    # pages carry their widgets: megabytes each); on a loaded machine finishing took > 20 s.
    # Wait for the chapter's hit or for the search to finish, whichever comes first.
    page.wait_for_function("document.querySelector('#search-results a[href*=\"book/part1/03_convolution.html\"]')"
                           " || (typeof Search !== 'undefined' && Search._pulse_status === -1"
                           " && document.querySelector('#search-results ul.search li'))", timeout=90000)
    settle(page)
    log.wait_answered(page)  # the summaries of the results
    hits = page.eval_on_selector_all("#search-results ul.search li a",
                                     "els => els.map(e => e.getAttribute('href'))")
    assert any("book/part1/03_convolution.html" in h for h in hits), (query, hits[:10])
    assert not log.external() and not log.failures, (log.external(), log.failures)
    page.close()
