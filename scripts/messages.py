"""Keep the floor's message catalogues in step with the code: `python -m scripts.messages`.

Extracts every UI string of web/ (Python `_()`/`N_()`, templates' `_()` and `{% trans %}`), adds new
ones to web/locales/{vi,en}/LC_MESSAGES/messages.po and drops obsolete ones. English is the source
language, so a new English entry is filled with its id; Vietnamese entries left empty are listed
(and fail the catalogue test until translated).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from web.i18n import BABEL_LOCALES, LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "web" / "babel.cfg"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    with MAPPING.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    template = Catalog(project="TechMatch", msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update(template: Catalog) -> dict[str, list[str]]:
    """Merge the template into each language's catalogue; returns the untranslated ids per language."""
    missing: dict[str, list[str]] = {}
    for language in LANGUAGES:
        path = catalogue_path(language)
        if path.exists():
            with path.open("rb") as po_file:
                catalog = read_po(po_file, locale=BABEL_LOCALES[language])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=BABEL_LOCALES[language], project="TechMatch", charset="utf-8")
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        if path.exists():
            catalog.creation_date = created  # an unchanged catalogue stays byte for byte the same
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if language == "en" and not _translated(message.string):
                message.string = message.id
            if message.fuzzy and language == "en":
                message.flags.discard("fuzzy")
        with path.open("wb") as po_file:
            write_po(po_file, catalog, width=0, omit_header=False, sort_output=True, include_lineno=False)
        missing[language] = [
            str(message.id) for message in catalog if message.id and not _translated(message.string)
        ]
    return missing


def _translated(string: object) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def main() -> int:
    missing = update(extract())
    for language, ids in missing.items():
        for message_id in ids:
            print(f"{language}: untranslated: {message_id}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
