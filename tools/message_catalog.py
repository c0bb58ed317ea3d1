"""The Russian catalog of the course's messages to students (the checks' feedback, issue #17).

    .venv/bin/python tools/message_catalog.py update    # re-extract into the .po, report
    .venv/bin/python tools/message_catalog.py compile   # the .po -> the committed .mo
    .venv/bin/python tools/message_catalog.py report    # what needs translating (exit 1 if any)

The messages are the strings of ``cnncourse/`` marked with ``_()``, ``ngettext()`` or ``N_()``
(:mod:`cnncourse.i18n`), extracted by babel's Python extractor. ``update`` merges them into
``cnncourse/locale/ru/LC_MESSAGES/cnncourse.po``: translations are kept, a changed message
becomes fuzzy (with its old translation as the suggestion), messages the code no longer has
are dropped; then it prints what needs translating. After translating, ``compile`` writes the
``.mo`` beside it (committed: the package ships it, and the checks read it at run time).
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
DOMAIN = "cnncourse"
LANGUAGE = "ru"
PO = PACKAGE / "locale" / LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")
#: Comments for translators: ``# TRANSLATORS: ...`` on the line before a marked message.
COMMENT_TAGS = ("TRANSLATORS:",)
#: A field of a message template: ``{name}``, ``{value!r}``, ``{err:.3g}`` (``{{`` is a brace).
FIELD = re.compile(r"(?<!\{)\{[^{}]*\}")


def extract() -> Catalog:
    """The marked messages of ``cnncourse/``, as a template catalog (no translations)."""
    template = Catalog(project=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS,
            comment_tags=COMMENT_TAGS, strip_comment_tags=True):
        template.add(message, None, [(f"cnncourse/{filename}", lineno)],
                     auto_comments=comments, context=context)
    return template


def read(path: Path = PO) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f, locale=LANGUAGE, domain=DOMAIN)


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


def problems(catalog: Catalog, template: Catalog | None = None) -> list[str]:
    """What keeps ``catalog`` from being complete against ``template`` (default: a fresh
    extraction): messages missing from it or no longer in the code, untranslated, fuzzy, or
    whose translation's fields differ from the message's. Empty when complete."""
    template = extract() if template is None else template
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


def update() -> int:
    template = extract()
    catalog = read() if PO.exists() else Catalog(locale=LANGUAGE, domain=DOMAIN, project=DOMAIN)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    catalog.creation_date = created  # the header changes only when a translator edits it
    catalog.obsolete.clear()  # messages the code no longer has are dropped
    PO.parent.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(po_bytes(catalog))
    return report(catalog, template)


def report(catalog: Catalog | None = None, template: Catalog | None = None) -> int:
    catalog = read() if catalog is None else catalog
    found = problems(catalog, template)
    total = sum(1 for m in catalog if m.id)
    print(f"{PO.relative_to(ROOT)}: {total} messages, {len(found)} to do")
    for line in found:
        print("  " + line)
    return 1 if found else 0


def compile_mo() -> int:
    catalog = read()
    MO.write_bytes(mo_bytes(catalog))
    print(f"wrote {MO.relative_to(ROOT)} ({sum(1 for m in catalog if m.id and m.string)} messages)")
    return 0


def main(argv: list[str]) -> int:
    commands = {"update": update, "compile": compile_mo, "report": report}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
