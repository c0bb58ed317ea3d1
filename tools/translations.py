"""The Russian edition's machinery: gettext catalogs in locale/ru/LC_MESSAGES/ (issue #17).

    .venv/bin/python tools/translations.py gettext   # the English messages -> _build/gettext
    .venv/bin/python tools/translations.py update    # gettext, then sphinx-intl update + report
    .venv/bin/python tools/translations.py assignments  # only the assignments' catalogs + report
    .venv/bin/python tools/translations.py report    # untranslated / fuzzy per catalog
    .venv/bin/python tools/translations.py build-ru  # the Russian edition -> _build/html/ru

The English book's translatable text (markdown cells and pages, headings, admonitions,
figure captions, the glossary, the table of contents' part captions) is extracted by
Sphinx's gettext builder from the same configuration as the HTML book (_config.yml,
_toc.yml), one catalog (.pot) per document (``gettext_compact = False``), into
_build/gettext. Code cells and their outputs are literal blocks, which Sphinx does not
translate (``gettext_additional_targets`` stays empty). ``sphinx-intl update`` merges the
templates into the Russian catalogs: existing translations are kept, changed messages
become fuzzy, messages the book no longer has are dropped.

The assignments (solutions/<a>/<a>.ipynb, released in Russian to exercises/ru/ by a Russian
nbgrader course, nbgrader_config.py) have a catalog each, locale/ru/LC_MESSAGES/solutions/
<a>.po: their messages (cnncourse.notebook_translation: the markdown's paragraphs, headings,
list items and table cells, the code cells' comments and printed words) are extracted
without Sphinx into _build/gettext-assignments/solutions/<a>.pot and merged the same way.
`update` does both; `assignments` only the assignments (a second).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
GETTEXT_DIR = BUILD / "gettext"
ASSIGNMENT_POT_DIR = BUILD / "gettext-assignments"
LOCALE_DIR = ROOT / "locale"
LANGUAGE = "ru"

# Sphinx settings of the gettext build (the HTML build's settings are _config.yml's).
GETTEXT_OVERRIDES = {
    "gettext_compact": False,  # one catalog per document
    "gettext_uuid": False,
    "gettext_location": False,  # no "#: file:line" comments: the catalogs stay stable
    "gettext_last_translator": "",
    "project": "cnn-course",  # the catalogs' Project-Id-Version (Jupyter Book sets none)
    "version": "",
}


def build_gettext(outdir: Path = GETTEXT_DIR, quiet: bool = True) -> int:
    """The English book's message templates (.pot), one per document, into ``outdir``."""
    sys.path.insert(0, str(ROOT / "tools"))
    from jupyter_book.sphinx import build_sphinx

    return build_sphinx(
        ROOT, outdir, use_external_toc=True, noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides={"external_toc_path": "_toc.yml", "latex_individualpages": False,
                       "nitpicky": True,
                       **GETTEXT_OVERRIDES},
        builder="gettext", doctreedir=BUILD / ".doctrees-gettext", freshenv=False,
        warningiserror=True, keep_going=True, quiet=quiet,
    )


def build_russian(outdir: Path = BUILD / "html" / LANGUAGE, locale_dir: Path = LOCALE_DIR,
                  quiet: bool = True) -> int:
    """The Russian edition: the HTML book with the catalogs' text, into ``outdir``.

    Sphinx compiles each catalog (.po) into a .mo beside it: that happens in a copy of
    ``locale_dir`` under _build, so a build never writes into locale/."""
    sys.path.insert(0, str(ROOT / "tools"))
    from jupyter_book.sphinx import build_sphinx

    build = outdir.parent.parent  # _build for _build/html/ru
    compiled = build / "locale"
    shutil.rmtree(compiled, ignore_errors=True)
    # the assignments' catalogs (LC_MESSAGES/solutions/) are not the book's
    book_only = shutil.ignore_patterns("*.mo")

    def ignore(folder, names):
        left_out = set(book_only(folder, names))
        if Path(folder).name == "LC_MESSAGES":
            left_out |= {"solutions"} & set(names)
        return left_out

    shutil.copytree(locale_dir, compiled, ignore=ignore)
    return build_sphinx(
        ROOT, outdir, use_external_toc=True, noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides={"external_toc_path": "_toc.yml", "latex_individualpages": False,
                       "nitpicky": True, "language": LANGUAGE,
                       "locale_dirs": [str(compiled)], "gettext_compact": False,
                       "html_search_language": LANGUAGE},
        builder="html", doctreedir=build / f".doctrees-{LANGUAGE}", freshenv=True,
        warningiserror=True, keep_going=True, quiet=quiet,
    )


def update_catalogs(pot_dir: Path = GETTEXT_DIR, locale_dir: Path = LOCALE_DIR) -> int:
    """``sphinx-intl update``: the templates merged into locale/ru/LC_MESSAGES/*.po."""
    cmd = [sys.executable, "-m", "sphinx_intl", "update", "-p", str(pot_dir),
           "-d", str(locale_dir), "-l", LANGUAGE, "-w", "0", "--no-obsolete"]
    return subprocess.run(cmd, cwd=ROOT).returncode


def extract_assignments(outdir: Path = ASSIGNMENT_POT_DIR) -> list[Path]:
    """The assignments' message templates: outdir/solutions/<assignment>.pot."""
    sys.path.insert(0, str(ROOT))
    from cnncourse.notebook_translation import write_templates

    shutil.rmtree(outdir, ignore_errors=True)
    return write_templates(outdir)


def catalog_status(locale_dir: Path = LOCALE_DIR) -> dict[str, dict[str, int]]:
    """Per catalog (its document's name): how many messages, untranslated, fuzzy."""
    from babel.messages import pofile

    status = {}
    for po in sorted((locale_dir / LANGUAGE / "LC_MESSAGES").rglob("*.po")):
        with po.open("rb") as f:
            catalog = pofile.read_po(f)
        messages = [m for m in catalog if m.id]
        name = po.relative_to(locale_dir / LANGUAGE / "LC_MESSAGES").with_suffix("").as_posix()
        status[name] = {"messages": len(messages),
                        "untranslated": sum(1 for m in messages if not m.string),
                        "fuzzy": sum(1 for m in messages if m.string and m.fuzzy)}
    return status


def report(locale_dir: Path = LOCALE_DIR) -> None:
    status = catalog_status(locale_dir)
    width = max(map(len, status), default=10)
    print(f"{'catalog':<{width}}  messages  untranslated  fuzzy")
    for name, s in status.items():
        print(f"{name:<{width}}  {s['messages']:8d}  {s['untranslated']:12d}  {s['fuzzy']:5d}")
    total = {k: sum(s[k] for s in status.values()) for k in ("messages", "untranslated", "fuzzy")}
    print(f"{'all ' + str(len(status)) + ' catalogs':<{width}}  {total['messages']:8d}  "
          f"{total['untranslated']:12d}  {total['fuzzy']:5d}")
    todo = total["untranslated"] + total["fuzzy"]
    print("translations: " + (f"{todo} messages to translate or review (msgstr empty or "
                              "'#, fuzzy') in " + str(locale_dir / LANGUAGE)
                              if todo else "every message is translated"))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "update"
    start = time.monotonic()
    if command not in ("gettext", "update", "assignments", "report", "build-ru"):
        print(__doc__, file=sys.stderr)
        return 2
    if command == "build-ru":
        if build_russian():
            print("translations: the Russian build failed (warnings are errors)", file=sys.stderr)
            return 1
        print(f"translations: the Russian edition is in _build/html/{LANGUAGE} "
              f"({time.monotonic() - start:.0f} s)")
        return 0
    if command in ("gettext", "update"):
        if build_gettext():
            print("translations: the gettext build failed (warnings are errors)", file=sys.stderr)
            return 1
        print(f"translations: messages extracted into {GETTEXT_DIR.relative_to(ROOT)} "
              f"in {time.monotonic() - start:.0f} s")
    if command == "update" and update_catalogs():
        return 1
    if command in ("update", "assignments"):
        pots = extract_assignments()
        print(f"translations: the messages of {len(pots)} assignments extracted into "
              f"{ASSIGNMENT_POT_DIR.relative_to(ROOT)}")
        if update_catalogs(ASSIGNMENT_POT_DIR):
            return 1
    if command in ("update", "assignments", "report"):
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
