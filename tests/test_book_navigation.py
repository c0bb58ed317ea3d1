"""The built book's navigation works where readers open it: on a phone (390 px) the table of
contents opens, on a desktop (1280 px) it collapses and comes back, over http and opened
as a file (pydata-sphinx-theme #2451: the visible toggle had no handler;
book/_static/cnncourse-book.js), in both editions (the Russian one in _build/html/ru)."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from book_browser import book_html

PAGE = "book/part1/03_convolution.html"
TOC_LINK = "a.reference.internal[href*='04_conv_layer']"


# The Russian edition as a file only: its pages run the same code, and a file is where a
# relative link to its own _static would break.
@pytest.fixture(params=[("http", ""), ("file", ""), ("file", "ru/")], ids=["http", "file", "ru-file"])
def page_url(request, base_url):
    scheme, edition = request.param
    page = edition + PAGE
    return f"{base_url}/{page}" if scheme == "http" else (book_html() / page).as_uri()


def _visible_toggle(page, kind: str):
    toggles = [t for t in page.locator(f".{kind}-toggle").all() if t.is_visible()]
    assert toggles, f"no visible .{kind}-toggle"
    return toggles[0]


def _becomes(locator, state: str) -> bool:
    """Whether ``locator`` becomes ``state`` ("visible", "hidden") within 5 s (the theme's
    transition takes .25 s)."""
    try:
        locator.wait_for(state=state, timeout=5000)
        return True
    except PlaywrightTimeoutError:
        return False


def test_on_a_phone_the_table_of_contents_opens_and_closes(browser, page_url):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(page_url, wait_until="load")
    dialog = page.locator("#pst-primary-sidebar-modal")
    assert not dialog.evaluate("d => d.open")
    assert not page.locator(TOC_LINK).first.is_visible()
    _visible_toggle(page, "primary").click()
    page.wait_for_function("document.querySelector('#pst-primary-sidebar-modal').open", timeout=5000)
    assert dialog.locator(TOC_LINK).first.is_visible(), "the dialog opened without the contents"
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#pst-primary-sidebar-modal').open", timeout=5000)
    page.close()


def test_on_a_desktop_the_sidebar_collapses_and_comes_back(browser, page_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_url, wait_until="load")
    link = page.locator("#pst-primary-sidebar").locator(TOC_LINK).first
    assert link.is_visible()
    toggle = _visible_toggle(page, "primary")
    toggle.click()
    assert _becomes(link, "hidden"), "the sidebar did not collapse"
    toggle.click()
    assert _becomes(link, "visible"), "the sidebar did not come back"
    page.close()
