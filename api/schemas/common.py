"""Shapes shared by every endpoint: pages and errors."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

T = TypeVar("T")

# Row ids are 32-bit in PostgreSQL: a larger number cannot name anything and must be a 422, not a
# database error.
MAX_ID = 2**31 - 1
# Far past any real page, and small enough for every database's OFFSET.
MAX_OFFSET = 1_000_000


def _not_bool(value: Any) -> Any:
    # JSON true is not the number 1: `"trl": true` is a mistake, not a TRL.
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not a boolean")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Id = Annotated[Int, Field(ge=1, le=MAX_ID)]


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC and is shown with its offset.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]

# Characters that reorder how text is displayed (a title can then show as something else) and NUL,
# which PostgreSQL cannot store.
_REFUSED_CHARACTERS = {"\x00", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
_LINE_BREAKS = {"\n", "\r", "\t"}


def _clean_text(value: str) -> str:
    for char in value:
        if char in _REFUSED_CHARACTERS or (unicodedata.category(char) == "Cc" and char not in _LINE_BREAKS):
            raise ValueError(
                f"Text may not contain U+{ord(char):04X} (a control or direction override character)"
            )
    return value


def _visible(value: str) -> str:
    # Zero-width and other format characters alone do not make a title.
    if not any(not char.isspace() and unicodedata.category(char) != "Cf" for char in value):
        raise ValueError("Text must contain at least one visible character")
    return value


CleanText = Annotated[str, AfterValidator(_clean_text)]
VisibleText = Annotated[CleanText, AfterValidator(_visible)]
Title = Annotated[VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Keyword = Annotated[VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
# Long enough for a full technology description, short enough to keep encoding and storage bounded.
MAX_DESCRIPTION_CHARS = 20_000
Description = Annotated[
    VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION_CHARS)
]


class Strict(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_fields(cls, data: Any) -> Any:
        # One error for all unknown keys, found before any field is validated: a body of a
        # million stray keys costs a set difference, not a million error objects.
        if isinstance(data, dict):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                named = ", ".join(repr(str(key)[:40]) for key in unknown[:10])
                more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                raise ValueError(f"unknown field(s) {named}{more}; allowed: {', '.join(cls.model_fields)}")
        return data


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
    total_exact: bool = Field(
        default=True,
        description="False when more than `total` match: only where listing facets are off "
        "(TECHMATCH_LISTING_FACETS=false) are long lists counted up to 10,000.",
    )


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorResponse(BaseModel):
    error: ErrorBody
