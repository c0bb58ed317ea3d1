"""The Russian catalog of the course's messages to students (the checks' feedback, issue #17).

    .venv/bin/python tools/message_catalog.py update    # re-extract into the .po files, report
    .venv/bin/python tools/message_catalog.py compile   # the .po files -> the committed .mo files
    .venv/bin/python tools/message_catalog.py report    # what needs translating (exit 1 if any)

The messages are the strings of ``cnncourse/`` marked with ``_()``, ``ngettext()`` or ``N_()``
(:mod:`cnncourse.i18n`), extracted by babel's Python extractor. ``update`` merges them into
its catalog (below): translations are kept, a changed message becomes fuzzy (with its old
translation as the suggestion), messages the code no longer has are dropped; then it prints
what needs translating. After translating, ``compile`` writes the ``.mo`` beside each ``.po``
(committed: the package ships the first, and the checks read them at run time).

Two catalogs: ``cnncourse/locale/ru/LC_MESSAGES/cnncourse.po`` holds the messages of the
package (the checks' feedback, visible cases), and
``cnncourse/checks/hidden/locale/ru/LC_MESSAGES/cnncourse_grader.po`` those of the hidden
cases' generators (cnncourse/checks/hidden/), which the students' wheel leaves out: their
names would tell which arguments the grader tries. cnncourse.i18n reads the first, then the
second where it is installed.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnncourse"
LANGUAGE = "ru"
#: Comments for translators: ``# TRANSLATORS: ...`` on the line before a marked message.
COMMENT_TAGS = ("TRANSLATORS:",)
#: A field of a message template: ``{name}``, ``{value!r}``, ``{err:.3g}`` (``{{`` is a brace).
FIELD = re.compile(r"(?<!\{)\{[^{}]*\}")
HIDDEN = PACKAGE / "checks" / "hidden"


class Domain:
    """One catalog: its gettext domain, the folder whose Python files it translates (less
    ``exclude``, relative to it), and its .po / .mo."""

    def __init__(self, name: str, source: Path, locale: Path, exclude: tuple[str, ...] = ()):
        self.name, self.source, self.exclude = name, source, exclude
        self.po = locale / LANGUAGE / "LC_MESSAGES" / f"{name}.po"
        self.mo = self.po.with_suffix(".mo")


MAIN = Domain("cnncourse", PACKAGE, PACKAGE / "locale", exclude=("checks/hidden/**.py",))
GRADER = Domain("cnncourse_grader", HIDDEN, HIDDEN / "locale")
DOMAINS = (MAIN, GRADER)


def _shown(path: Path) -> str:
    """``path`` relative to the repository (as the catalogs name files), else whole."""
    return (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).as_posix()


def extract(domain: Domain = MAIN) -> Catalog:
    """The marked messages of ``domain``'s files, as a template catalog (no translations)."""
    template = Catalog(project="cnncourse", fuzzy=False)
    method_map = [(pattern, "ignore") for pattern in domain.exclude] + [("**.py", "python")]
    prefix = _shown(domain.source)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(domain.source), method_map=method_map, keywords=DEFAULT_KEYWORDS,
            comment_tags=COMMENT_TAGS, strip_comment_tags=True):
        template.add(message, None, [(f"{prefix}/{filename}", lineno)],
                     auto_comments=comments, context=context)
    return template


def read(domain: Domain = MAIN) -> Catalog:
    with open(domain.po, "rb") as f:
        return read_po(f, locale=LANGUAGE, domain=domain.name)


def po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    # No line numbers and no wrapping: the diffs of the .po show what changed, not where.
    write_po(buf, catalog, width=0, include_lineno=False, sort_output=False,
             omit_header=False, ignore_obsolete=True)
    return buf.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalog: translated, non-fuzzy messages only (babel's write_mo)."""
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _strings(value) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) if value else ()


def fields(text: str) -> list[str]:
    """The ``{fields}`` of a template, sorted (a translation may reorder them)."""
    return sorted(FIELD.findall(text))


def problems(catalog: Catalog, template: Catalog) -> list[str]:
    """What keeps ``catalog`` from being complete against ``template`` (a fresh extraction):
    messages missing from it or no longer in the code, untranslated, fuzzy, or whose
    translation's fields differ from the message's. Empty when complete."""
    found = []
    wanted = {m.id for m in template if m.id}
    have = {m.id for m in catalog if m.id}
    found += [f"not in the catalog (run update): {_strings(i)[0]!r}" for i in wanted - have]
    found += [f"no longer in the code (run update): {_strings(i)[0]!r}" for i in have - wanted]
    found += [f"obsolete entry: {_strings(i)[0]!r}" for i in catalog.obsolete]
    for message in catalog:
        if not message.id:
            continue
        ids, strs = _strings(message.id), _strings(message.string)
        first = ids[0]
        if message.fuzzy:
            found.append(f"fuzzy: {first!r}")
        if not strs or not all(s.strip() for s in strs):
            found.append(f"untranslated: {first!r}")
            continue
        want = fields(ids[0])
        if any(fields(i) != want for i in ids):
            found.append(f"singular and plural have different fields: {first!r}")
        for s in strs:
            if fields(s) != want:
                found.append(f"fields {fields(s)} instead of {want}: {first!r}")
    return found


def update(domains: tuple[Domain, ...] = DOMAINS) -> int:
    """Merge the fresh extraction into each .po (kept, fuzzy, new, dropped); report."""
    for domain in domains:
        template = extract(domain)
        if domain.po.exists():
            catalog = read(domain)
        else:
            catalog = Catalog(locale=LANGUAGE, domain=domain.name, project="cnncourse")
        catalog.header_comment = (f"# Russian translations of the course's messages to students "
                                  f"({_shown(domain.source)}/).")
        catalog.fuzzy = False
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
        catalog.creation_date = created  # the header changes only when a translator edits it
        catalog.obsolete.clear()  # messages the code no longer has are dropped
        domain.po.parent.mkdir(parents=True, exist_ok=True)
        domain.po.write_bytes(po_bytes(catalog))
        _report(domain, catalog, template)
    return 0


def _report(domain: Domain, catalog: Catalog, template: Catalog) -> list[str]:
    found = problems(catalog, template)
    total = sum(1 for m in catalog if m.id)
    print(f"{_shown(domain.po)}: {total} messages, {len(found)} to do")
    for line in found:
        print("  " + line)
    return found


def report() -> int:
    """What needs translating; exit status 1 when anything does."""
    found = [line for domain in DOMAINS for line in _report(domain, read(domain), extract(domain))]
    return 1 if found else 0


def compile_mo() -> int:
    for domain in DOMAINS:
        catalog = read(domain)
        domain.mo.write_bytes(mo_bytes(catalog))
        print(f"wrote {_shown(domain.mo)} "
              f"({sum(1 for m in catalog if m.id and m.string)} messages)")
    return 0


def main(argv: list[str]) -> int:
    commands = {"update": update, "compile": compile_mo, "report": report}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
