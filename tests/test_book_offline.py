"""The built book is self-contained: no page loads anything from the network, math is
typeset by the local MathJax and widgets render with the local widget manager."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from book_browser import PageLog, book_html

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
    """The book's pages (the theme's template fragments under _static are not pages)."""
    html = book_html()
    return sorted(p for p in html.rglob("*.html") if p.relative_to(html).parts[0] != "_static")


def test_book_was_built_with_chapters():
    names = {p.name for p in pages()}
    assert "01_what_an_image_is.html" in names and "intro.html" in names


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


def test_mathjax_and_widget_manager_are_local():
    html = (book_html() / "book" / "part1" / "01_what_an_image_is.html").read_text()
    assert re.search(r'src="[./]*_static/mathjax/tex-chtml\.js', html)
    assert re.search(r'src="[./]*_static/widgets/embed-amd\.js', html)
    assert "application/vnd.jupyter.widget-state+json" in html


# Code cells and outputs that need horizontal scrolling: (first line, pixels hidden).
SCROLLING_CELLS = """() => [...document.querySelectorAll('div.cell_input pre, div.cell_output pre')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => [el.textContent.split('\\n')[0].slice(0, 60), el.scrollWidth - el.clientWidth])"""


def test_every_page_in_a_browser_requests_only_local_files(browser, base_url):
    """... and, on a 1280 px desktop, shows every code cell and output whole: nothing the
    text refers to is hidden behind a horizontal scroll bar (book/_static/cnncourse-book.css
    wraps long lines)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    offenders, broken, scrolling = [], [], []
    for path in pages():
        rel = path.relative_to(book_html()).as_posix()
        page = context.new_page()
        log = PageLog(page, base_url)
        page.goto(f"{base_url}/{rel}", wait_until="networkidle")
        offenders += [f"{rel}: {u}" for u in log.external()]
        broken += [f"{rel}: {f}" for f in log.failures]
        scrolling += [f"{rel}: {px} px hidden in {line!r}" for line, px in page.evaluate(SCROLLING_CELLS)]
        page.close()
    context.close()
    assert not offenders, "pages requested the network:\n" + "\n".join(offenders[:20])
    assert not broken, "pages had failed requests or errors:\n" + "\n".join(broken[:20])
    assert not scrolling, (f"{len(scrolling)} code cells or outputs scroll sideways at 1280 px:\n"
                           + "\n".join(scrolling[:20]))


def test_chapter_typesets_math_and_renders_a_reacting_widget(browser, base_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, base_url)
    page.goto(f"{base_url}/book/part1/01_what_an_image_is.html", wait_until="networkidle")
    page.wait_for_selector("mjx-container", timeout=20000)
    assert page.locator("mjx-container").count() >= 5
    # No TeX left untypeset in the prose.
    body = page.inner_text("article")
    assert "\\frac" not in body and "\\times" not in body
    widget = page.locator(".cnnw-pixel-explorer")
    widget.wait_for(timeout=20000)
    canvas = widget.locator("canvas")
    assert canvas.bounding_box()["width"] > 100
    before = widget.locator("table").inner_text()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.8)
    page.wait_for_timeout(300)
    after = widget.locator("table").inner_text()
    assert after != before, "moving the pointer over the picture did not change the numbers"
    assert not log.external() and not log.failures, (log.external(), log.failures)
    page.close()
