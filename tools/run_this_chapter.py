"""Sphinx extension: a "Run this chapter" note under the title of every chapter page.

Every chapter (``book/part1``, ``book/part2``) is a notebook that runs as it is once the
course package is installed. The note says so and links to the introduction's "Running a
chapter" section (label ``run-a-chapter``), which gives the commands. HTML only: in the
PDF the introduction's section says it once.

Loaded through ``_config.yml`` (``sphinx.local_extensions``, which puts ``tools/`` on the
path).
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes

CHAPTERS = ("book/part1/", "book/part2/")
LABEL = "run-a-chapter"
# The note in each edition (tools/russian_edition.py): bold lead, text, the link's text.
NOTE = {
    "en": ("Run this chapter. ",
           "This page is a Jupyter notebook: download it (the ⬇ button above, then .ipynb) "
           "and run it in Jupyter once the course package, cnncourse, is installed: ",
           "how, in three commands"),
    "ru": ("Запустите эту главу. ",
           "Эта страница — блокнот Jupyter: скачайте его (кнопка ⬇ вверху, затем .ipynb) "
           "и запустите в Jupyter, установив пакет курса cnncourse: ",
           "как это сделать тремя командами"),
}


def add_note(app, doctree) -> None:
    docname = app.env.docname
    if app.builder.format != "html" or not docname.startswith(CHAPTERS):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return
    lead, text, link = NOTE["ru" if (app.config.language or "").startswith("ru") else "en"]
    para = nodes.paragraph()
    para += nodes.strong(text=lead)
    para += nodes.Text(text)
    ref = addnodes.pending_xref("", refdomain="std", reftype="ref", reftarget=LABEL,
                                refexplicit=True, refwarn=True, refdoc=docname)
    ref += nodes.inline(text=link)
    para += ref
    para += nodes.Text(".")
    note = nodes.container("", para, classes=["run-this-chapter"])
    section.insert(1, note)


def setup(app):
    app.connect("doctree-read", add_note)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
