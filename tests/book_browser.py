"""Serve the built book on 127.0.0.1 and open it in headless Chromium (playwright).

Used by the browser tests. The book folder is ``_build/html`` (built by ``make book``,
which ``make test`` runs first) or ``$CNNCOURSE_BOOK_HTML``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--disable-extensions"]


def book_html() -> Path:
    path = Path(os.environ.get("CNNCOURSE_BOOK_HTML", ROOT / "_build" / "html"))
    if not (path / "index.html").is_file():
        raise FileNotFoundError(f"no built book in {path}: run `make book` first")
    return path


def chromium_executable() -> str:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    raise FileNotFoundError("Chromium is not installed: `apt-get install -y chromium`")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        # The built book does not change while it is served: Chromium may keep what it loaded
        # (every request is still made, and seen by PageLog, the cached ones included).
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium():
    """A headless Chromium browser (playwright), offline-friendly flags."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageLog:
    """Every request a page makes, and every failed response or page error."""

    def __init__(self, page, base_url: str):
        self.base_url = base_url
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.pending: set = set()
        page.on("request", lambda r: (self.requests.append(r.url), self.pending.add(r)))
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", lambda r: (self.failures.append(f"failed {r.url}"), self.pending.discard(r)))
        page.on("response", lambda r: r.status >= 400 and self.failures.append(f"HTTP {r.status} {r.url}"))
        page.on("pageerror", lambda e: self.failures.append(f"page error: {e}"))

    def clear(self):
        """Forget what was recorded (before the tab opens the next page)."""
        self.requests.clear()
        self.failures.clear()
        self.pending.clear()

    def wait_answered(self, page, timeout: float = 30000):
        """Wait until every request made so far has finished or failed."""
        for _ in range(int(timeout / 20)):
            if not self.pending:
                return
            page.wait_for_timeout(20)
        raise TimeoutError(f"requests still open after {timeout} ms: {[r.url for r in self.pending][:5]}")

    def external(self) -> list[str]:
        local = (self.base_url, "data:", "blob:", "about:")
        return [u for u in self.requests if not u.startswith(local)]


# Every font the page's style sheets declare (@font-face), as absolute URLs: a font the browser
# has not needed yet is not requested, so a wrong address shows here before it shows as a 404.
FONT_FACES = """() => { const out = [];
  for (const sheet of document.styleSheets) {
    let rules; try { rules = sheet.cssRules; } catch (e) { continue; }
    for (const rule of rules) if (rule instanceof CSSFontFaceRule) {
      const re = /url\\("?([^)"]+)"?\\)/g; const src = rule.style.getPropertyValue('src'); let m;
      while ((m = re.exec(src))) out.push(new URL(m[1], sheet.href || document.baseURI).href);
    } }
  return [...new Set(out)]; }"""


# The page has settled: loaded, its math typeset (the local MathJax, if the page loads it) and
# the fonts it uses loaded. What the page loads by itself has been requested by then; the
# widgets are waited for by count (settle).
_SETTLED = """async (ms) => {
  const late = new Promise((_, no) => setTimeout(() => no(new Error(`not settled in ${ms} ms`)), ms));
  return Promise.race([late, (async () => {
  if (document.readyState !== 'complete') await new Promise((r) => addEventListener('load', r, {once: true}));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  await frame(); document.body.offsetHeight; await frame();
  await document.fonts.ready;
  return true;
  })()]);
}"""


def settle(page, widgets: int = 0, timeout: float = 30000) -> int:
    """Wait until the page opened in ``page`` has settled (see _SETTLED) and shows at least
    ``widgets`` course widgets (``.cnnw``), or ``timeout`` ms have passed; returns how many
    course widgets it shows (the caller compares)."""
    for attempt in range(3):
        try:
            page.evaluate(_SETTLED, timeout)
            break
        except Exception as e:  # a page that redirects (index.html) settles once it has
            if "context was destroyed" not in str(e) or attempt == 2:
                raise AssertionError(f"{page.url} did not settle: {e}") from e
            page.wait_for_load_state("load")
    if widgets:
        try:
            page.wait_for_function(f"document.querySelectorAll('.cnnw').length >= {widgets}", timeout=timeout)
        except Exception:  # noqa: BLE001 - the caller reports the count
            pass
    return page.locator(".cnnw").count()


def changes(locator, before: str, read: str = "el => el.innerText", timeout: float = 5000) -> bool:
    """Whether what ``read`` (a JavaScript function of the element) reads from ``locator``
    differs from ``before`` within ``timeout`` ms (checked at once, then every 50 ms)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        locator.page.wait_for_function(f"([el, before]) => ({read})(el) !== before",
                                       arg=[locator.element_handle(), before], timeout=timeout, polling=50)
        return True
    except PlaywrightTimeoutError:
        return False


SCRIPT = re.compile(r'<script type="application/vnd\.jupyter\.widget-(state|view)\+json">(.*?)</script>', re.S)


def course_widget_views(html: str) -> int:
    """How many views of course widgets (anywidgets whose module uses the course's CSS) the
    page embeds."""
    from html import unescape

    state, views = {}, []
    for kind, body in SCRIPT.findall(html):
        data = json.loads(unescape(body))
        if kind == "state":
            state.update(data["state"])
        else:
            views.append(data["model_id"])
    return sum(1 for v in views
               if 'class: "cnnw' in state.get(v, {}).get("state", {}).get("_esm", "")
               or "cnnw cnnw-" in state.get(v, {}).get("state", {}).get("_esm", ""))


@functools.lru_cache(maxsize=None)
def _widget_pages(html: Path) -> tuple[tuple[str, int], ...]:
    out = []
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html)
        if rel.parts[0] == "_static":
            continue
        n = course_widget_views(path.read_text(encoding="utf-8", errors="replace"))
        if n:
            out.append((rel.as_posix(), n))
    return tuple(out)


def widget_pages() -> list[tuple[str, int]]:
    """The pages of the built book (both editions) that embed course widgets: (path, how many)."""
    return list(_widget_pages(book_html()))


# For each element under root with visible text of its own: its colour, the background behind
# it (the first opaque one up the tree) and the opacity it is drawn with -> contrast ratios.
CONTRAST = """root => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
  const out = [];
  for (const el of root.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent.trim()).join(' ');
    if (!own || !el.getClientRects().length) continue;
    // text nobody sees: hidden, transparent (a collapsed cell), or MathJax's copy for screen readers
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) || el.closest('mjx-assistive-mml')) continue;
    let alpha = 1; for (let e = el; e && e !== document.body; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
    const fg = rgba(getComputedStyle(el).color), bg = background(el);
    const a = alpha * fg[3], mix = [0, 1, 2].map((k) => a * fg[k] + (1 - a) * bg[k]);
    const [l1, l2] = [lum(mix), lum(bg)].sort((p, q) => q - p);
    out.push([own.slice(0, 40), (l1 + 0.05) / (l2 + 0.05)]);
  }
  return out;
}"""
