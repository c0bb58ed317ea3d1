"""Serve the built book on 127.0.0.1 and open it in headless Chromium (playwright).

Used by the browser tests. The book folder is ``_build/html`` (built by ``make book``,
which ``make test`` runs first) or ``$CNNCOURSE_BOOK_HTML``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
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
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failures.append(f"failed {r.url}"))
        page.on("response", lambda r: r.status >= 400 and self.failures.append(f"HTTP {r.status} {r.url}"))
        page.on("pageerror", lambda e: self.failures.append(f"page error: {e}"))

    def external(self) -> list[str]:
        local = (self.base_url, "data:", "blob:", "about:")
        return [u for u in self.requests if not u.startswith(local)]


# For each element of a widget with text of its own: its colour, the background behind it
# (the first opaque one up the tree) and the opacity it is drawn with -> contrast ratios.
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
    let alpha = 1; for (let e = el; e && e !== document.body; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
    const fg = rgba(getComputedStyle(el).color), bg = background(el);
    const a = alpha * fg[3], mix = [0, 1, 2].map((k) => a * fg[k] + (1 - a) * bg[k]);
    const [l1, l2] = [lum(mix), lum(bg)].sort((p, q) => q - p);
    out.push([own.slice(0, 40), (l1 + 0.05) / (l2 + 0.05)]);
  }
  return out;
}"""
