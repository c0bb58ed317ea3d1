"""The language of the course's messages to students: English, or Russian (issue #17).

The graded checks (:mod:`cnncourse.checks`) write every message through :func:`_` (and
:func:`ngettext` where a count is in the sentence), with Python's :mod:`gettext` and the
compiled catalog ``cnncourse/locale/ru/LC_MESSAGES/cnncourse.mo`` (its source is the
``.po`` beside it; ``tools/message_catalog.py update`` re-extracts the messages and
``compile`` writes the ``.mo``). The hidden cases' names have a catalog of their own,
``cnncourse/checks/hidden/locale/ru/LC_MESSAGES/cnncourse_grader.mo``, which the students'
wheel leaves out with that package. English is the messages themselves: no catalog.

The language is the one given to :func:`set_language`, else the environment variable
``CNNCOURSE_LANG`` (``ru``, ``ru_RU.UTF-8`` -> Russian; anything else -> English), else
English. It is looked up at each message, so it can change while a process runs.

Messages are templates with named ``{fields}``, translated first and formatted after::

    raise CheckFailure(_("case '{name}': expected shape {expected}").format(name=..., ...))
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path

#: The languages the messages exist in; the first is the source language.
LANGUAGES = ("en", "ru")
#: gettext's domain: the catalogs are ``locale/<lang>/LC_MESSAGES/cnncourse.mo``.
DOMAIN = "cnncourse"
#: Where the package's compiled catalogs are (shipped as package data).
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The environment variable that chooses the language when :func:`set_language` was not called.
ENV_VAR = "CNNCOURSE_LANG"

_language: str | None = None


def set_language(lang: str | None) -> None:
    """Use ``lang`` (one of :data:`LANGUAGES`) from now on in this process; ``None`` goes back
    to the environment's choice (:data:`ENV_VAR`). Anything else raises ``ValueError``."""
    global _language
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: the course's messages exist in "
                         f"{', '.join(LANGUAGES)}")
    _language = lang


def language_from_env(value: str | None) -> str:
    """The language a value of :data:`ENV_VAR` asks for: its language part (``ru_RU.UTF-8``
    -> ``ru``) when that is one of :data:`LANGUAGES`, else ``"en"``."""
    if not value:
        return "en"
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else "en"


def get_language() -> str:
    """The language of the messages now: :func:`set_language`'s, else :data:`ENV_VAR`'s,
    else ``"en"``."""
    if _language is not None:
        return _language
    return language_from_env(os.environ.get(ENV_VAR))


#: The grader's catalog: the names of the hidden cases (cnncourse/checks/hidden/), kept apart
#: so that the students' wheel, which leaves that package out, does not list them.
GRADER_DOMAIN = "cnncourse_grader"
GRADER_LOCALE_DIR = LOCALE_DIR.parent / "checks" / "hidden" / "locale"


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (loaded once), with the grader's catalog behind it where it
    is installed. English is the source: no catalog. A missing Russian catalog raises
    ``FileNotFoundError`` rather than silently falling back."""
    if lang == LANGUAGES[0]:
        return gettext.NullTranslations()
    catalog = gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])
    if GRADER_LOCALE_DIR.is_dir():
        catalog.add_fallback(gettext.translation(GRADER_DOMAIN, localedir=str(GRADER_LOCALE_DIR),
                                                 languages=[lang]))
    return catalog


def _(message: str) -> str:
    """``message`` (a template) in the current language; a message the catalog does not
    have (text already translated, or built at run time) stays as it is."""
    if not message:  # gettext("") would be the catalog's header
        return message
    return translations(get_language()).gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it: for constants defined at
    import time (hints, reasons), translated with :func:`_` where they are used, so that
    the language is the one of that moment."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for the count ``n`` in the current language
    (Russian has three: 1 случай, 2 случая, 5 случаев)."""
    return translations(get_language()).ngettext(singular, plural, n)
