"""Request and response bodies of duplicate and translation links."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from api.schemas.common import Page, Strict, UtcDatetime
from api.schemas.listings import ListingReadFields
from core.taxonomy import Language
from models.links import LinkStatus, LinkType, ListingLink
from models.listings import Need, Offer


class AlsoListed(BaseModel):
    """Another listing of the same technology (a duplicate or a translation) folded into a hit."""

    id: int
    title: str
    language: Language
    organization_id: int


def also_listed(row: Offer | Need | ListingReadFields) -> AlsoListed:
    return AlsoListed(id=row.id, title=row.title, language=row.language, organization_id=row.organization_id)


class LinkReason(BaseModel):
    summary: str
    cosine: float
    margin: float
    word_overlap: float
    shared_anchors: list[str]


class LinkedListing(BaseModel):
    id: int
    title: str
    language: Language
    organization_id: int
    organization_name: str


class LinkRead(BaseModel):
    """A link between two listings of one kind, as brokers review it."""

    id: int
    kind: Literal["offers", "needs"]
    link_type: LinkType
    status: LinkStatus
    score: float
    reason: LinkReason
    listing_a: LinkedListing
    listing_b: LinkedListing
    decided_by: int | None
    decided_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class LinkPage(Page[LinkRead]):
    pass


class LinkDecision(Strict):
    """A broker's verdict: the two listings are one technology (confirm) or not (dismiss, never proposed again)."""

    decision: Literal["confirm", "dismiss"]


def linked_listing(row: Offer | Need) -> LinkedListing:
    return LinkedListing(
        id=row.id,
        title=row.title,
        language=row.language,
        organization_id=row.organization_id,
        organization_name=row.organization.name,
    )


def link_view(link: ListingLink, listings: dict[int, Any]) -> LinkRead:
    return LinkRead(
        id=link.id,
        kind=link.kind,  # type: ignore[arg-type]
        link_type=link.link_type,
        status=link.status,
        score=link.score,
        reason=LinkReason.model_validate(link.reason),
        listing_a=linked_listing(listings[link.listing_a_id]),
        listing_b=linked_listing(listings[link.listing_b_id]),
        decided_by=link.decided_by,
        decided_at=link.decided_at,
        created_at=link.created_at,
        updated_at=link.updated_at,
    )
