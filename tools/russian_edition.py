"""Sphinx extension: the two editions of the book, English and Russian (issue #17).

Both HTML builds load it (``_config.yml``); ``tools/translations.py`` builds the Russian one
(``language = "ru"``, ``locale_dirs``) into ``_build/html/ru``. It

* puts a language switch in every page's header (sphinx-book-theme's article header, before
  its buttons): a link to the same page in the other edition, relative, so that it works
  offline and under file://;
* translates the table of contents' part captions (``_toc.yml``): sphinx-external-toc
  inserts the toctrees after Sphinx's own translation transform has run, so their captions
  are translated here from the same catalog (they are extracted by the gettext builder as
  any other message);
* in the Russian build, records every English message of every document, just before
  Sphinx replaces them by their translations, into ``_build/gettext/messages.json``: the
  messages the gettext builder extracts (``make translations``), at no extra cost, for
  tests/test_translations.py;
* gives the Russian edition the strings of its own that are not in the chapters (title,
  author, search box text);
* keeps, in every notebook it reads, only the edition's image of each figure: the chapters'
  figures are drawn once per language (``cnncourse.figure_text``), the other languages'
  images wait in the output's metadata (the English edition and the PDF get English).

The theme's and Sphinx's own interface strings come from their translations.
"""

from __future__ import annotations

import json
import posixpath
import sys
from os import path
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import extract_messages

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # cnncourse, when Sphinx runs from elsewhere
    sys.path.insert(0, str(ROOT))

from cnncourse.figure_text import select_language_in_source  # noqa: E402
TEMPLATES = Path(__file__).resolve().parent / "templates"
MESSAGES = ROOT / "_build" / "gettext" / "messages.json"

# The editions: language -> (folder under _build/html, the switch's label in that language)
EDITIONS = {"en": ("", "English"), "ru": ("ru/", "Русский")}

# The Russian edition's own strings (the chapters' text is in locale/ru/LC_MESSAGES).
RUSSIAN = {
    "html_title": "Свёрточные нейронные сети: открытый курс",
    "author": "Авторы курса CNN",
    "search_bar_text": "Искать в курсе…",
    "switch_title": "Эта страница по-английски",
}
ENGLISH_SWITCH_TITLE = "This page in Russian"
GENERATED_TITLES = {"exercise_title", "solution_title"}


def edition(config) -> str:
    return "ru" if (config.language or "en").startswith("ru") else "en"


class RecordMessages(SphinxTransform):
    """The Russian build: each document's English messages, before Sphinx's ``Locale``
    transform (priority 20) replaces them; after ``PreserveTranslatableMessages`` (10)."""

    default_priority = 15

    def apply(self, **kwargs) -> None:
        if edition(self.config) != "ru":
            return
        messages = self.env.cnncourse_messages.setdefault(self.env.docname, [])
        for node, msg in extract_messages(self.document):
            # sphinx-exercise's generated titles ("Exercise", "Solution to") come from its
            # own translations, and the gettext builder does not extract them
            if type(node).__name__ in GENERATED_TITLES:
                continue
            if msg not in messages:
                messages.append(msg)


class TranslateTocCaptions(SphinxTransform):
    """The toctrees of ``_toc.yml`` (inserted by sphinx-external-toc at priority 100):
    their captions, recorded and translated from the document's catalog."""

    default_priority = 150

    def apply(self, **kwargs) -> None:
        if edition(self.config) != "ru":
            return
        toctrees = list(self.document.findall(addnodes.toctree))
        if not toctrees:
            return
        messages = self.env.cnncourse_messages.setdefault(self.env.docname, [])
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [path.join(self.env.srcdir, d) for d in self.config.locale_dirs]
        catalog, has_catalog = init_locale(dirs, self.config.language, domain)
        for toctree in toctrees:
            for msg in toctree.extract_original_messages():
                if msg not in messages:
                    messages.append(msg)
                msgstr = catalog.gettext(msg) if has_catalog else msg
                if msgstr.strip() and msgstr != msg:
                    toctree.apply_translated_message(msg, msgstr)


def init_env(app, env, docnames) -> None:
    if not hasattr(env, "cnncourse_messages"):
        env.cnncourse_messages = {}
    for docname in docnames:
        env.cnncourse_messages.pop(docname, None)


def purge_doc(app, env, docname) -> None:
    getattr(env, "cnncourse_messages", {}).pop(docname, None)


def merge_info(app, env, docnames, other) -> None:
    for docname in docnames:
        env.cnncourse_messages[docname] = other.cnncourse_messages.get(docname, [])


def write_messages(app, exception) -> None:
    if exception is not None or edition(app.config) != "ru" or app.builder.format != "html":
        return
    found = app.env.found_docs
    messages = {d: m for d, m in sorted(app.env.cnncourse_messages.items()) if d in found}
    MESSAGES.parent.mkdir(parents=True, exist_ok=True)
    MESSAGES.write_text(json.dumps(messages, ensure_ascii=False, indent=1) + "\n")


def figures_in_edition(app, docname, source) -> None:
    """``source-read``: a notebook's figures in the edition's language only."""
    if app.env.doc2path(docname).endswith(".ipynb"):
        source[0] = select_language_in_source(source[0], edition(app.config))


def switch_link(pagename: str, language: str) -> dict:
    """The link from ``pagename`` of the ``language`` edition to the same page of the other."""
    other = "en" if language == "ru" else "ru"
    here, there = EDITIONS[language][0], EDITIONS[other][0]
    # paths relative to the English edition's root (_build/html)
    target = posixpath.normpath(there + pagename + ".html")
    start = posixpath.dirname(here + pagename) or "."
    return {"href": posixpath.relpath(target, start), "lang": other, "label": EDITIONS[other][1],
            "title": RUSSIAN["switch_title"] if language == "ru" else ENGLISH_SWITCH_TITLE}


def page_context(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format == "html":
        context["cnncourse_language_switch"] = switch_link(pagename, edition(app.config))


def config_inited(app, config) -> None:
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = dict(config.html_theme_options)
    header = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "language-switch.html" not in header:
        header.insert(0, "language-switch.html")
    options["article_header_end"] = header
    if edition(config) == "ru":
        config.html_title = RUSSIAN["html_title"]
        config.author = RUSSIAN["author"]
        options["search_bar_text"] = RUSSIAN["search_bar_text"]
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", config_inited)
    app.connect("env-before-read-docs", init_env)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("source-read", figures_in_edition)
    # before pydata-sphinx-theme drops the header templates that render empty
    app.connect("html-page-context", page_context, priority=100)
    app.connect("build-finished", write_messages)
    app.add_transform(RecordMessages)
    app.add_transform(TranslateTocCaptions)
    app.add_css_file("cnncourse-editions.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
