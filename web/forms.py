"""Listing forms: the posted fields turned into the API's values, and its errors into translated messages per field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api.schemas.listings import NeedFields, OfferFields
from core.taxonomy import Role
from models.listings import Need, Offer
from web.i18n import N_

MAX_KEYWORDS_TEXT = 3_000


@dataclass(frozen=True)
class ListingSide:
    """What differs between the offer and the need forms and pages."""

    kind: str  # "offers" / "needs": URLs and the store's kind
    key: str  # "offer" / "need"
    model: type[Offer] | type[Need]
    fields: type[BaseModel]
    member_role: Role
    trl_field: str
    low_field: str
    high_field: str
    number_fields: tuple[str, ...]


OFFER_SIDE = ListingSide(
    "offers", "offer", Offer, OfferFields, Role.INSTITUTE_MEMBER, "trl", "price_min", "price_max",
    ("trl", "price_min", "price_max"),
)  # fmt: skip
NEED_SIDE = ListingSide(
    "needs", "need", Need, NeedFields, Role.ENTERPRISE_MEMBER, "min_trl", "budget_min", "budget_max",
    ("min_trl", "budget_min", "budget_max"),
)  # fmt: skip
SIDES = {"offers": OFFER_SIDE, "needs": NEED_SIDE}

# Translated messages per pydantic error type: its own messages are English and written for developers.
ERROR_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_too_long": N_("This text is too long."),
    "too_long": N_("Too many items."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "greater_than_equal": N_("The value is too small."),
    "less_than_equal": N_("The value is too large."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "date_parsing": N_("Enter a date."),
    "int_parsing": N_("Enter a whole number."),
}
INVALID = N_("This value is not valid.")
TRL_RANGE = N_("Choose a TRL from 1 to 9.")
RANGE_BACKWARDS = N_("The upper bound is below the lower bound.")
NOT_A_NUMBER = N_("Enter a whole number, without dots or spaces.")
NOT_A_DATE = N_("Enter a date.")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def keywords_of(text: str) -> list[str]:
    """Keywords typed as one text, separated by commas, semicolons or new lines."""
    return [part.strip() for part in re.split(r"[,;\n]", text[:MAX_KEYWORDS_TEXT]) if part.strip()]


def form_values(side: ListingSide, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The listing fields a form posted (as the API takes them) and the fields that could not be read."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": _text(form, "title"),
        "description": _text(form, "description"),
        "sector": _text(form, "sector"),
        "keywords": keywords_of(_text(form, "keywords")),
        "transfer_types": [v for v in form.getlist("transfer_types") if isinstance(v, str)][:10],
        "currency": _text(form, "currency") or "VND",
        "region": _text(form, "region"),
        "language": _text(form, "language"),
        "status": _text(form, "status") or "published",
    }
    for name in side.number_fields:
        raw = _text(form, name).replace(" ", "")
        if not raw:
            values[name] = None
        elif raw.isdigit() and len(raw) <= 16:
            values[name] = int(raw)
        else:
            errors[name] = TRL_RANGE if name == side.trl_field else NOT_A_NUMBER
    if side is OFFER_SIDE:
        values["ip_status"] = _text(form, "ip_status") or "none"
    else:
        values["confidentiality"] = _text(form, "confidentiality") or "public"
        raw_deadline = _text(form, "deadline")
        try:
            values["deadline"] = date.fromisoformat(raw_deadline) if raw_deadline else None
        except ValueError:
            errors["deadline"] = NOT_A_DATE
    for name in ("title", "description", "sector", "region", "language", side.trl_field):
        if values.get(name) in ("", None) and name not in errors:
            errors[name] = ERROR_MESSAGES["missing"]
    if values["status"] not in ("draft", "published"):
        errors["status"] = ERROR_MESSAGES["enum"]
    return values, errors


def validate_listing(side: ListingSide, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """Values ready for the store, or the translated message ids of the fields in error."""
    values, errors = form_values(side, form)
    try:
        side.fields.model_validate({name: value for name, value in values.items() if name not in errors})
    except ValidationError as exc:
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ())]
            name = location[0] if location else side.high_field
            if name in errors:
                continue
            if not location:  # a cross-field rule: the only one is a range running backwards
                errors[side.high_field] = RANGE_BACKWARDS
            elif name == side.trl_field:
                errors[name] = TRL_RANGE
            elif error["type"] == "missing" and name in errors:
                continue
            else:
                errors[name] = ERROR_MESSAGES.get(error["type"], INVALID)
    return values, errors


def form_of(side: ListingSide, row: Offer | Need | None) -> dict[str, Any]:
    """The form's initial values: a stored listing's, or a new listing's defaults."""
    if row is None:
        defaults: dict[str, Any] = {
            "currency": "VND",
            "status": "published",
            "keywords": "",
            "transfer_types": [],
        }
        return defaults
    values = {name: getattr(row, name) for name in side.fields.model_fields if hasattr(row, name)}
    values["keywords"] = ", ".join(row.keywords or ())
    values = {name: (value.value if hasattr(value, "value") else value) for name, value in values.items()}
    values["deadline"] = row.deadline.isoformat() if isinstance(row, Need) and row.deadline else ""
    return values


def posted_form(values: dict[str, Any], form: FormData) -> dict[str, Any]:
    """What to show again in a form with errors: what the person typed, not what could be parsed."""
    shown = dict(values)
    for name in (
        "keywords",
        "trl",
        "min_trl",
        "price_min",
        "price_max",
        "budget_min",
        "budget_max",
        "deadline",
    ):
        if name in form:
            shown[name] = _text(form, name)
    return shown
