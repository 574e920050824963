"""Message catalogues and per-language formatting of dates, numbers and money (Babel).

The catalogues are the `.po` files in web/locales/; they are compiled in memory when the app starts
(no `.mo` file is generated or committed), so an edited translation shows after a restart.
Message ids are English; `vi` is the default language.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
# Babel locale per UI language: Vietnamese as written in Vietnam.
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_US"}

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def catalogue_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of one language (read from its .po once per process)."""
    with catalogue_path(language).open("rb") as po_file:
        catalog = read_po(po_file, locale=BABEL_LOCALES[language])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def normalise_language(value: str | None) -> str:
    """A supported language code, or the default for anything else."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def language_of(language: str) -> Iterator[None]:
    """Render (and format) in `language` within this block."""
    token = _language.set(normalise_language(language))
    try:
        yield
    finally:
        _language.reset(token)


def current_language() -> str:
    return _language.get()


def gettext(message: str) -> str:
    return translations(current_language()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ungettext(singular, plural, n)


def _(message: str) -> str:
    return gettext(message)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def _locale() -> Locale:
    return Locale.parse(BABEL_LOCALES[current_language()])


def format_number(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=_locale())


def format_money(value: float | int | None, currency: str = "VND") -> str:
    """An amount in its currency as the current language writes it (VND without decimals)."""
    if value is None:
        return ""
    digits = "#,##0" if currency == "VND" else "#,##0.00"
    return format_currency(value, currency, format=f"{digits} ¤", locale=_locale(), currency_digits=False)


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return format_date(value, format="medium", locale=_locale())


def format_moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="short", locale=_locale(), tzinfo=get_timezone("Asia/Ho_Chi_Minh"))
