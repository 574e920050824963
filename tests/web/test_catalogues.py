"""Every UI string goes through the catalogues, and both catalogues translate every one of them.

Three checks: the catalogues hold exactly the strings the code and templates use, each with a
non-empty Vietnamese and English translation whose placeholders match; no template has a text node or a
visible attribute written outside `_()` / `{% trans %}` (elements marked translate="no" and keys in
<kbd> excepted); and
pages rendered in Vietnamese show no English message that has a Vietnamese translation.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from scripts.messages import extract
from tests.api.conftest import World, need_body, offer_body
from tests.web.conftest import People, csrf_of, sign_in
from web.i18n import BABEL_LOCALES, LANGUAGES, catalogue_path
from web.pages import TEMPLATES, TEMPLATES_DIR

LETTER = re.compile(r"[^\W\d_]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
ATTRIBUTE = re.compile(r'[a-z][a-z-]*="[^"]*"')
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def catalogue(language: str):  # type: ignore[no-untyped-def]
    with catalogue_path(language).open("rb") as po_file:
        return read_po(po_file, locale=BABEL_LOCALES[language])


def strings(message_id: object) -> tuple[str, ...]:
    return message_id if isinstance(message_id, tuple) else (str(message_id),)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation_with_the_same_placeholders(language: str) -> None:
    problems = []
    for message in catalogue(language):
        if not message.id:
            continue
        translations = strings(message.string)
        if not all(translations) or message.fuzzy:
            problems.append(f"untranslated or fuzzy: {message.id!r}")
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(strings(message.id))))
        for translation in translations:
            if set(PLACEHOLDER.findall(translation)) != wanted:
                problems.append(f"placeholders differ: {message.id!r} -> {translation!r}")
    assert not problems, "\n".join(problems)


def test_the_catalogues_hold_exactly_the_strings_the_code_uses() -> None:
    used = {message.id for message in extract() if message.id}
    for language in LANGUAGES:
        held = {message.id for message in catalogue(language) if message.id}
        assert used - held == set(), f"{language}: run `python -m scripts.messages` and translate"
        assert held - used == set(), f"{language}: obsolete entries; run `python -m scripts.messages`"


class _Literals(HTMLParser):
    """Text nodes and visible attributes with letters, outside script/style and translate="no"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.found: list[str] = []

    @property
    def skipping(self) -> bool:
        return any(skipped for _tag, skipped in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # <kbd> names a key on the keyboard, which is the same in every language.
        skipped = tag in ("script", "style", "kbd") or values.get("translate") == "no"
        if not (skipped or self.skipping):
            self.found += [
                f'{name}="{value}"'
                for name, value in attrs
                if name in VISIBLE_ATTRIBUTES and value and LETTER.search(value)
            ]
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        # A macro may print attributes (aria-invalid="true"); they are markup, not words.
        data = ATTRIBUTE.sub(" ", data)
        if not self.skipping and LETTER.search(data):
            self.found.append(data.strip())


def template_text(source: str) -> str:
    """The template's HTML with every Jinja expression, tag and {% trans %} block replaced by a digit."""
    pieces: list[str] = []
    in_trans = False
    previous = ""
    for _line, kind, value in TEMPLATES.lex(source):
        if kind == "whitespace":
            continue
        if kind == "name" and previous == "block_begin":
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        if kind == "data" and not in_trans:
            pieces.append(value)
        elif kind in ("variable_begin", "block_begin") and not in_trans:
            pieces.append("0")
        previous = kind
    return "".join(pieces)


def test_no_template_has_an_untranslated_literal() -> None:
    templates = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert len(templates) >= 10
    problems = []
    for path in templates:
        parser = _Literals()
        parser.feed(template_text(path.read_text(encoding="utf-8")))
        problems += [f"{path.relative_to(TEMPLATES_DIR)}: {text!r}" for text in parser.found]
    assert not problems, "\n".join(problems)


def test_the_literal_check_catches_what_it_should() -> None:
    parser = _Literals()
    parser.feed(template_text(
        '<p>{{ _("fine") }}</p><p>Hello</p><input placeholder="Type here">'
        '<span translate="no">TechMatch</span><p>{% trans n=1 %}Also {{ n }} fine{% endtrans %}</p>'
        "<script>var x = 'code';</script><p>· {{ x }} –</p><kbd>A</kbd>"
    ))  # fmt: skip
    assert parser.found == ["Hello", 'placeholder="Type here"']


def english_messages_that_differ_in_vietnamese() -> list[str]:
    vietnamese = {message.id: message.string for message in catalogue("vi") if message.id}
    return [
        message_id
        for message_id, translation in vietnamese.items()
        if isinstance(message_id, str)
        and translation != message_id
        and len(message_id) >= 12
        and "%" not in message_id
        and LETTER.search(message_id)
    ]


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_pages_in_vietnamese_show_no_english_message_and_switch_to_english(
    client: TestClient, people: People, world: World
) -> None:
    offer = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a")).json()
    need = client.post("/api/v1/needs", json=need_body(), headers=world.auth("ent-a")).json()
    assert client.app.state.runtime.index_sync.wait_idle(10)  # type: ignore[attr-defined]
    match = client.post(
        "/api/v1/matches", json={"need_id": need["id"], "offer_id": offer["id"]}, headers=world.auth("broker")
    ).json()
    english = english_messages_that_differ_in_vietnamese()
    assert len(english) > 100
    visits = {
        None: ["/", "/search?q=irrigation", "/search?kind=needs", f"/offers/{offer['id']}",
               f"/organizations/{world.org['inst-a']}", "/sign-in", "/no-such-page"],
        "ent-a": ["/my/needs", "/my/needs/new", f"/my/needs/{need['id']}/edit", f"/my/needs/{need['id']}/matches"],
        "inst-a": ["/my/offers", "/my/offers/upload", f"/my/offers/{offer['id']}/matches"],
        "admin": ["/invite"],
        "broker": ["/broker/queue", "/broker/pipeline", f"/broker/matches/{match['id']}", "/dashboard"],
    }  # fmt: skip
    for who, paths in visits.items():
        visitor = TestClient(client.app)
        if who:
            sign_in(visitor, people.emails[who])
        for path in paths:
            response = visitor.get(path)
            assert response.status_code == (404 if path == "/no-such-page" else 200), path
            html = response.text
            assert '<html lang="vi">' in html, path
            text = visible_text(html)
            shown = [message for message in english if message in text]
            assert not shown, f"{path}: English on a Vietnamese page: {shown}"
        visitor.post("/language", data={"language": "en", "csrf_token": csrf_of(visitor)})
        for path in paths:
            assert '<html lang="en">' in visitor.get(path).text, path


def test_every_template_compiles() -> None:
    for path in Path(TEMPLATES_DIR).rglob("*.html"):
        TEMPLATES.get_template(str(path.relative_to(TEMPLATES_DIR)))
