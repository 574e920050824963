"""Shapes shared by every endpoint: pages and errors."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
# Long enough for a full technology description, short enough to keep encoding and storage bounded.
MAX_DESCRIPTION_CHARS = 20_000
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION_CHARS)
]


class Strict(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorResponse(BaseModel):
    error: ErrorBody
