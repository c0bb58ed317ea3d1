"""The course widgets render and react in the static book (headless Chromium, no kernel).

Every page of the built book (``_build/html``, or ``$CNNCOURSE_BOOK_HTML``) that embeds
widgets is opened; every course widget on it must have rendered, and changing one control of
each must change what it displays. The widget gallery (book/widgets.ipynb) shows them all;
on it, each widget must react to the arrow keys, refuse an invalid entry with a visible
message (changing nothing else), fit a 390 px screen, and keep its text at a contrast of
4.5:1 or more in the light and the dark theme.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from book_browser import CONTRAST, PageLog, book_html, changes, settle, widget_pages

#: The kinds of course widget (their root's CSS class) that the gallery must show.
KINDS = ("cnnw-conv-arithmetic", "cnnw-kernel-playground", "cnnw-pooling", "cnnw-conv-matrix",
         "cnnw-receptive-field", "cnnw-pixel-explorer")

#: Per kind: the control to change (a CSS selector inside the widget) and the new value
#: (None: click it). Widgets of another kind get their first select or number input changed.
CONTROLS = {
    "cnnw-conv-arithmetic": ('input[data-trait="stride_h"]', "3"),
    "cnnw-kernel-playground": ('select[data-trait="preset"]', "blur"),
    "cnnw-pooling": ('select[data-trait="kind"]', None),
    "cnnw-conv-matrix": ('input[data-trait="transposed"]', None),
    "cnnw-receptive-field": ('input[data-layer="0"][data-key="kernel"]', "5"),
    "cnnw-pixel-explorer": ("select", None),
}

#: An animation's pause button while it plays (whatever the page's language).
PLAYING = 'button[data-role="play"][aria-pressed="false"]'

# What a widget shows: its text and the pixels of its canvases.
SNAPSHOT = """el => [el.innerText, ...Array.from(el.querySelectorAll('canvas')).map(c => c.toDataURL())].join('\\n')"""


def test_gallery_embeds_every_widget():
    pages = dict(widget_pages())
    assert pages.get("book/widgets.html", 0) >= len(KINDS), pages


def _change(page, widget, kind: str) -> str:
    """Change one control of ``widget``; returns a description of what was changed."""
    selector, value = CONTROLS.get(kind, ("select, input[type=number]", None))
    control = widget.locator(selector).first
    assert control.count(), f"{kind}: no control {selector}"
    control.scroll_into_view_if_needed()
    tag = control.evaluate("c => c.tagName.toLowerCase() + ':' + (c.type || '')")
    if tag.startswith("select"):
        options = control.evaluate("s => Array.from(s.options).map(o => o.value)")
        current = control.input_value()
        if value is None:
            others = [o for o in options if o != current]
            assert others, f"{kind}: the select has one option"
            value = others[0]
        control.select_option(value)
    elif tag == "input:checkbox":
        control.click()
        value = "clicked"
    else:
        if value is None:
            value = str(int(control.input_value() or 0) + 1)
        control.fill(value)
        control.press("Enter")
        control.dispatch_event("change")
    return f"{selector} -> {value}"


#: Two animation frames: what a click (a pause) started has been drawn.
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))"


def _pointing_problems(page) -> list[str]:
    """On the gallery: the widgets whose highlight pointing at an output cell or unit does not
    move."""
    problems = []
    checks = [(".cnnw-receptive-field", "canvas.cnnw-output"), (".cnnw-pooling", "table.cnnw-out td"),
              (".cnnw-conv-matrix", "table.cnnw-out td")]
    for root, target in checks:
        widget = page.locator(root).first
        before = widget.evaluate(SNAPSHOT)
        spot = widget.locator(target).last
        spot.scroll_into_view_if_needed()
        box = spot.bounding_box()
        page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4)
        if not changes(widget, before, SNAPSHOT):
            problems.append(f"{root}: pointing at {target} changed nothing")
    return problems


@pytest.fixture(scope="module")
def widget_walk(browser) -> dict[str, dict]:
    """Every page with course widgets (both editions), opened once each as a file (as a reader
    who double-clicks index.html does), in one tab: per page, how many course widgets it shows
    of how many it embeds, its failed requests and errors, the kinds of its widgets and, for
    each widget, what went wrong when one of its controls was changed (its animations paused
    first); on the gallery, then, what pointing did not move. Over http the same pages are
    opened by test_book_offline.py (widgets counted, requests and errors checked)."""
    html = book_html()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    log = PageLog(page, html.as_uri())
    out = {}
    for rel, expected in widget_pages():
        log.clear()
        page.goto((html / rel).as_uri())
        shown = settle(page, expected)
        kinds, problems = [], []
        widgets = page.locator(".cnnw")
        for k in range(shown):
            widget = widgets.nth(k)
            kind = next((c for c in widget.get_attribute("class").split() if c != "cnnw"), "?")
            kinds.append(kind)
            # Stop animations, so that only the control can change the display.
            paused = False
            for button in widget.locator(PLAYING).all():
                button.click()
                paused = True
            if paused:
                page.evaluate(FRAMES)
            before = widget.evaluate(SNAPSHOT)
            if widget.evaluate(SNAPSHOT) != before:
                problems.append(f"{rel}: {kind} #{k} changes by itself")
                continue
            what = _change(page, widget, kind)
            if not changes(widget, before, SNAPSHOT, timeout=3000):
                problems.append(f"{rel}: {kind} #{k}: changing {what} did not change the display")
        out[rel] = {"widgets": (shown, expected), "kinds": kinds, "problems": problems}
        if rel == "book/widgets.html":
            out[rel]["pointing"] = _pointing_problems(page)
        out[rel]["failures"] = list(log.failures)
    page.close()
    return out


def test_widgets_render_when_the_book_is_opened_as_a_file(widget_walk):
    """Double-clicking index.html opens the book as file://: every widget still renders
    (a crossorigin attribute on the widget manager's script made Chromium block it there)."""
    problems = [f"{rel}: {seen['widgets'][0]} of {seen['widgets'][1]} widgets rendered; {seen['failures'][:3]}"
                for rel, seen in widget_walk.items() if seen["widgets"][0] != seen["widgets"][1]]
    assert not problems, "\n".join(problems)


def test_every_widget_renders_and_reacts(widget_walk):
    """Every widget of every page (opened as a file) renders, and changing one of its controls
    changes what it displays; no failed request or page error."""
    assert widget_walk, "no page of the book embeds a course widget"
    missing = set(KINDS) - set(widget_walk.get("book/widgets.html", {}).get("kinds", []))
    assert not missing, f"the gallery does not show {sorted(missing)}"
    problems = [f"{rel}: {seen['widgets'][0]} of {seen['widgets'][1]} widgets rendered"
                for rel, seen in widget_walk.items() if seen["widgets"][0] != seen["widgets"][1]]
    problems += [p for seen in widget_walk.values() for p in seen["problems"]]
    problems += [f"{rel}: {f}" for rel, seen in widget_walk.items() for f in seen["failures"]]
    assert not problems, "\n".join(problems)


def test_pointing_moves_the_highlight(widget_walk):
    """Pointing at an output cell or unit changes the highlighted window / field (on the
    gallery, as the walk left it: animations paused, one control of each widget changed)."""
    assert "pointing" in widget_walk.get("book/widgets.html", {}), "the gallery was not walked"
    problems = widget_walk["book/widgets.html"]["pointing"]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- keyboard, validation, contrast, phone
# One page of the gallery, opened once for the tests below.

#: Per kind: a field and a value it must refuse with a visible message (None: the widget has no
#: field to type in, only a select).
BAD_INPUT = {
    "cnnw-conv-arithmetic": ('input[data-trait="stride_h"]', "0"),
    "cnnw-kernel-playground": ("table.cnnw-kernel input", "1/9x"),
    "cnnw-pooling": ('input[data-trait="kernel_h"]', "7"),
    "cnnw-conv-matrix": ("table.cnnw-kernel input", "one"),
    "cnnw-receptive-field": ('input[data-layer="0"][data-key="kernel"]', "0"),
    "cnnw-pixel-explorer": None,
}


@pytest.fixture(scope="module")
def gallery(browser, base_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base_url}/book/widgets.html")
    assert settle(page, len(KINDS)) >= len(KINDS), "the gallery did not render"
    for button in page.locator(f".cnnw {PLAYING}").all():
        button.click()
    yield page, errors
    page.close()


def test_every_widget_reacts_to_the_arrow_keys(gallery):
    page, errors = gallery
    for kind in KINDS:
        widget = page.locator(f".{kind}").first
        target = widget.locator('[tabindex="0"]').first
        assert target.count(), f"{kind}: nothing to focus for the arrow keys"
        target.scroll_into_view_if_needed()
        target.focus()
        for key in ("ArrowRight", "ArrowDown"):
            before = widget.evaluate(SNAPSHOT)
            page.keyboard.press(key)
            assert changes(widget, before, SNAPSHOT), f"{kind}: {key} changed nothing"
    assert not errors, errors


def test_invalid_input_is_refused_with_a_message(gallery):
    page, errors = gallery
    for kind, bad in BAD_INPUT.items():
        if bad is None:
            continue
        widget = page.locator(f".{kind}").first
        selector, value = bad
        field = widget.locator(selector).first
        field.scroll_into_view_if_needed()
        before = widget.evaluate(SNAPSHOT)
        old = field.input_value()
        field.fill(value)
        field.press("Enter")
        field.dispatch_event("change")
        message = widget.locator(".cnnw-msg:visible")
        assert message.count() == 1 and value in message.inner_text(), f"{kind}: no message for {value!r}"
        assert field.get_attribute("aria-invalid") == "true", kind
        # Nothing else changed: the text without the message, and every canvas.
        after = widget.evaluate(SNAPSHOT).replace(message.inner_text(), "")
        assert [line for line in after.split("\n") if line] == [line for line in before.split("\n") if line], kind
        field.fill(old)
        field.dispatch_event("change")
        assert widget.locator(".cnnw-msg:visible").count() == 0, f"{kind}: the message stays after a valid value"
    assert not errors, errors


def test_kernel_entries_take_fractions(gallery):
    """'1/9' is one ninth (it was silently 0): the field keeps '1/9', and so does the
    arithmetic of the selected pixel, whose first product is its input value / 9."""
    page, errors = gallery
    widget = page.locator(".cnnw-kernel-playground").first
    field = widget.locator("table.cnnw-kernel input").first
    field.fill("1/9")
    field.dispatch_event("change")
    assert field.input_value() == "1/9"
    assert widget.locator(".cnnw-msg:visible").count() == 0
    arith = widget.locator(".cnnw-arith")
    assert arith.locator("table.cnnw-arith-k td").first.inner_text() == "1/9"
    value = float(arith.locator("table.cnnw-arith-in td").first.inner_text())
    product = float(arith.locator("table.cnnw-arith-p td").first.inner_text())
    assert abs(product - value / 9) <= 5e-4, (value, product)
    assert "(1/9)·" in arith.locator(".cnnw-arith-sum").inner_text()
    assert not errors, errors


def test_the_pooling_legend_names_only_what_is_drawn(gallery):
    """Max pooling outlines each window's maximum and its legend says so; average pooling
    outlines nothing, and the legend's "maximum" entry goes (it used to stay)."""
    page, errors = gallery
    widget = page.locator(".cnnw-pooling").first
    kind = widget.locator('select[data-trait="kind"]')
    kind.scroll_into_view_if_needed()
    shown = "el => Array.from(el.querySelectorAll('.cnnw-key')).filter(k => k.offsetParent).length"
    seen = {}
    for mode in ("max", "avg", "max"):
        kind.select_option(mode)
        page.evaluate(FRAMES)
        seen[mode] = (widget.locator("td.cnnw-max").count(), widget.evaluate(shown))
        if mode == "max":
            assert seen[mode][0] == 1, f"max pooling outlines {seen[mode][0]} cells, not the 1 maximum"
    assert seen["avg"][0] == 0, "average pooling outlines a maximum"
    assert seen["avg"][1] == seen["max"][1] - 1, f"legend entries shown (outlined, keys): {seen}"
    assert not errors, errors


def test_kernel_playground_shows_the_arithmetic_of_the_pointed_pixel(gallery):
    page, errors = gallery
    widget = page.locator(".cnnw-kernel-playground").first
    out = widget.locator("canvas.cnnw-output")
    out.scroll_into_view_if_needed()
    box = out.bounding_box()
    page.mouse.move(box["x"] + 10.5 * box["width"] / 96, box["y"] + 4.5 * box["height"] / 64)
    arith = widget.locator(".cnnw-arith")
    pointed = "Output pixel (row 4, column 10)"
    try:
        arith.filter(has_text=pointed).wait_for(timeout=5000)
    except PlaywrightTimeoutError:
        pass  # the assertion below says what it shows
    assert pointed in arith.inner_text()
    values = [[float(td) for td in row] for row in arith.locator("table.cnnw-arith-in").evaluate(
        "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText))")]
    kernel = [[float(Fraction(td)) for td in row] for row in arith.locator("table.cnnw-arith-k").evaluate(
        "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText))")]
    total = sum(v * k for vr, kr in zip(values, kernel) for v, k in zip(vr, kr))
    shown = arith.locator(".cnnw-arith-sum").inner_text()
    assert abs(float(shown.split(" = ")[-1].split(" →")[0]) - total) <= 1e-4 * max(1, abs(total)), (shown, total)
    assert not errors, errors


def test_widgets_fit_a_phone_and_read_well_in_both_themes(gallery):
    page, errors = gallery
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        for kind in KINDS:
            widget = page.locator(f".{kind}").first
            widget.scroll_into_view_if_needed()
            wide = widget.evaluate("el => Array.from(el.querySelectorAll('*')).filter(e => e.getClientRects().length"
                                   " && e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className)")
            assert not wide, f"{kind}: wider than a 390 px screen: {wide[:5]}"
            for theme in ("light", "dark"):
                page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
                ratios = widget.evaluate(CONTRAST)
                assert len(ratios) >= 3, kind
                low = [(t, round(r, 2)) for t, r in ratios if r < 4.5]
                assert not low, f"{kind}, {theme} theme: text below 4.5:1 contrast: {low[:5]}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.evaluate("document.documentElement.dataset.theme = 'light'")
        page.set_viewport_size({"width": 1280, "height": 900})
    assert not errors, errors


# ---------------------------------------------------------------- the page's language
# The same widget code speaks the page's language: Russian in the Russian edition
# (<html lang="ru">), English elsewhere. Its words are its module's TEXT tables.

#: Everything a widget shows or says: its text, its options, its aria-labels and titles.
WORDS_SHOWN = """el => [el.innerText,
  ...Array.from(el.querySelectorAll('option')).map(o => o.textContent),
  ...Array.from(el.querySelectorAll('[aria-label]')).map(e => e.getAttribute('aria-label')),
  ...Array.from(el.querySelectorAll('[title]')).map(e => e.getAttribute('title'))].join('\\n')"""


def _english_left(page, kinds) -> list[str]:
    from widget_words import english_only, words

    problems = []
    for kind in kinds:
        widget = page.locator(f".{kind}").first
        assert widget.count(), f"{kind}: not rendered"
        shown = widget.evaluate(WORDS_SHOWN)
        # PyTorch calls shown as code keep their keyword arguments: Conv2d(…, stride=2, padding=1)
        left = words(re.sub(r"\b\w+=", "", shown)) & english_only(kind)
        if left:
            problems.append(f"{kind}: English words on a Russian page: {sorted(left)[:12]}")
        if not re.search("[а-яё]", shown, re.I):
            problems.append(f"{kind}: no Russian text")
    return problems


def test_widgets_speak_russian_in_the_russian_edition(browser, base_url):
    """On the Russian gallery every widget renders in Russian: no English word of its English
    texts in what it shows (text, options, aria-labels, titles), also after a refused entry,
    whose message is Russian; the network explorer too, on the Russian LeNet chapter."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, base_url)
    page.goto(f"{base_url}/ru/book/widgets.html")
    assert page.evaluate("document.documentElement.lang") == "ru"
    settle(page, len(KINDS))
    problems = _english_left(page, KINDS)
    widget = page.locator(".cnnw-conv-arithmetic").first
    field = widget.locator('input[data-trait="stride_h"]')
    field.fill("0")
    field.dispatch_event("change")
    message = widget.locator(".cnnw-msg:visible").inner_text()
    assert "0" in message and re.search("[а-яё]", message), message
    problems += _english_left(page, ["cnnw-conv-arithmetic"])
    page.goto(f"{base_url}/ru/book/part2/01_lenet.html")
    settle(page, 1)
    page.wait_for_selector(".cnnw-network .cnnw-prob", timeout=30000)
    page.locator(".cnnw-network canvas.cnnw-map").first.hover()  # the unit's text
    problems += _english_left(page, ["cnnw-network"])
    problems += log.failures
    page.close()
    assert not problems, "\n".join(problems)


def test_widgets_speak_english_in_the_english_book(gallery):
    """The English page shows the English texts (and no Russian)."""
    from widget_words import english_only, words

    page, errors = gallery
    assert page.evaluate("document.documentElement.lang") == "en"
    for kind in KINDS:
        shown = page.locator(f".{kind}").first.evaluate(WORDS_SHOWN)
        assert not re.search("[а-яё]", shown, re.I), kind
        assert len(words(shown) & english_only(kind)) >= 5, kind
    assert not errors, errors
