"""Request and response bodies for organizations and API keys."""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from api.schemas.common import Id, Strict, UtcDatetime, VisibleText
from core.taxonomy import OrgKind, Region, Role

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


def _parsable_url(value: str) -> str:
    # The pattern lets through what no HTTP client can use, e.g. "http://[::1".
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if not parsed.host:
        raise ValueError("the URL has no host")
    return value


Url = Annotated[
    str, StringConstraints(pattern=r"^https?://\S+$", max_length=500), AfterValidator(_parsable_url)
]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
Name = Annotated[VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class OrganizationCreate(Strict):
    slug: Slug
    name: Name
    kind: OrgKind
    region: Region
    website: Url | None = None
    contact_email: Email | None = None
    webhook_url: Url | None = None


class OrganizationUpdate(Strict):
    """Fields left out stay as they are; null clears the optional ones."""

    name: Name | None = None
    region: Region | None = None
    website: Url | None = None
    contact_email: Email | None = None
    webhook_url: Url | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> OrganizationUpdate:
        cleared = [
            name
            for name in ("name", "region")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be cleared")
        return self


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    kind: OrgKind
    region: Region
    website: str | None
    contact_email: str | None
    webhook_url: str | None = None
    created_at: UtcDatetime


class ApiKeyCreate(Strict):
    name: Name
    role: Role
    organization_id: Id | None = None


class ApiKeyCreated(BaseModel):
    id: int
    name: str
    role: Role
    organization_id: int | None
    key: str
