"""The Russian edition's machinery: gettext catalogs in locale/ru/LC_MESSAGES/ (issue #17).

    .venv/bin/python tools/translations.py gettext   # the English messages -> _build/gettext
    .venv/bin/python tools/translations.py update    # gettext, then sphinx-intl update + report
    .venv/bin/python tools/translations.py report    # untranslated / fuzzy per catalog

The English book's translatable text (markdown cells and pages, headings, admonitions,
figure captions, the glossary, the table of contents' part captions) is extracted by
Sphinx's gettext builder from the same configuration as the HTML book (_config.yml,
_toc.yml), one catalog (.pot) per document (``gettext_compact = False``), into
_build/gettext. Code cells and their outputs are literal blocks, which Sphinx does not
translate (``gettext_additional_targets`` stays empty). ``sphinx-intl update`` merges the
templates into the Russian catalogs: existing translations are kept, changed messages
become fuzzy, messages the book no longer has are dropped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
GETTEXT_DIR = BUILD / "gettext"
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


def update_catalogs(pot_dir: Path = GETTEXT_DIR, locale_dir: Path = LOCALE_DIR) -> int:
    """``sphinx-intl update``: the templates merged into locale/ru/LC_MESSAGES/*.po."""
    cmd = [sys.executable, "-m", "sphinx_intl", "update", "-p", str(pot_dir),
           "-d", str(locale_dir), "-l", LANGUAGE, "-w", "0", "--no-obsolete"]
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "update"
    start = time.monotonic()
    if command in ("gettext", "update"):
        if build_gettext():
            print("translations: the gettext build failed (warnings are errors)", file=sys.stderr)
            return 1
        print(f"translations: messages extracted into {GETTEXT_DIR.relative_to(ROOT)} "
              f"in {time.monotonic() - start:.0f} s")
    if command == "update":
        if update_catalogs():
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
