"""Links between two listings of one kind that describe the same technology: near-duplicates and translations.

The engine proposes links (`matcher/links.py` finds them, `api/links.py` stores them); brokers confirm or
dismiss them. A pair is stored once, lower id first, so a decision holds whichever listing changes next.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, String, UniqueConstraint, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.access import Viewer
from models.base import Base, utcnow
from models.errors import ConflictError, InvalidError, NotFoundError
from models.id_sets import id_in
from models.organizations import enum_column

LISTING_KINDS = ("offers", "needs")


class LinkType(StrEnum):
    DUPLICATE = "duplicate"
    TRANSLATION = "translation"


class LinkStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


# Links that join listings into one cluster (search collapses it, suggestions skip its other members).
CLUSTERING_STATUSES = (LinkStatus.PROPOSED, LinkStatus.CONFIRMED)


class ListingLink(Base):
    """Two listings of the same kind (offer–offer or need–need), `listing_a_id` < `listing_b_id`.

    No foreign keys: the two ids point into the offers or the needs table depending on `kind`;
    `delete_links_of` runs in the transaction that deletes a listing.
    """

    __tablename__ = "listing_links"
    __table_args__ = (
        UniqueConstraint("kind", "listing_a_id", "listing_b_id", name="uq_listing_links_pair"),
        CheckConstraint("listing_a_id < listing_b_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    listing_a_id: Mapped[int] = mapped_column(index=True)
    listing_b_id: Mapped[int] = mapped_column(index=True)
    link_type: Mapped[LinkType] = mapped_column(enum_column(LinkType, 16))
    score: Mapped[float] = mapped_column()
    # The evidence in words and figures (matcher.links.LinkEvidence as a dict).
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[LinkStatus] = mapped_column(enum_column(LinkStatus, 16), index=True)
    # The broker's API key; no foreign key, the decision must outlive the key.
    decided_by: Mapped[int | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def other(self, listing_id: int) -> int:
        return self.listing_b_id if listing_id == self.listing_a_id else self.listing_a_id


@dataclass(frozen=True)
class FoundLink:
    """What the detector says about one pair: stored as a proposed link unless a broker decided it."""

    other_id: int
    link_type: LinkType
    score: float
    reason: dict[str, Any]


def _check_kind(kind: str) -> None:
    if kind not in LISTING_KINDS:
        raise InvalidError(f"kind must be one of {', '.join(LISTING_KINDS)}, not {kind!r}.")


def _of_listing(kind: str, listing_id: int) -> Any:
    return (ListingLink.kind == kind) & or_(
        ListingLink.listing_a_id == listing_id, ListingLink.listing_b_id == listing_id
    )


def links_of(
    *, session: Session, kind: str, listing_id: int, statuses: Collection[LinkStatus] = ()
) -> list[ListingLink]:
    """The links of one listing, best score first."""
    query = select(ListingLink).where(_of_listing(kind, listing_id))
    if statuses:
        query = query.where(ListingLink.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(ListingLink.score.desc(), ListingLink.id)))


def links_among(
    *, session: Session, kind: str, ids: Collection[int], statuses: Collection[LinkStatus]
) -> list[ListingLink]:
    """Links with at least one end in `ids` (search pages, suggestion checks)."""
    if not ids:
        return []
    wanted = list(ids)
    query = select(ListingLink).where(
        ListingLink.kind == kind,
        ListingLink.status.in_(list(statuses)),
        or_(id_in(ListingLink.listing_a_id, wanted), id_in(ListingLink.listing_b_id, wanted)),
    )
    return list(session.scalars(query))


def record_links(
    *, session: Session, kind: str, listing_id: int, found: Sequence[FoundLink]
) -> dict[str, int]:
    """Replace the engine's open proposals for a listing by what the detector found now.

    Proposals no longer found are dropped; confirmed and dismissed links stay as brokers decided them
    (a dismissed pair is never proposed again, a confirmed one keeps its decision and gets the new score).
    Returns counts of created, refreshed, dropped and kept links.
    """
    _check_kind(kind)
    existing = {
        link.other(listing_id): link for link in links_of(session=session, kind=kind, listing_id=listing_id)
    }
    counts = {"created": 0, "refreshed": 0, "dropped": 0, "kept": 0}
    now = utcnow()
    seen: set[int] = set()
    for item in found:
        if item.other_id == listing_id or item.other_id in seen:
            continue
        seen.add(item.other_id)
        link = existing.get(item.other_id)
        if link is None:
            low, high = sorted((listing_id, item.other_id))
            session.add(
                ListingLink(
                    kind=kind,
                    listing_a_id=low,
                    listing_b_id=high,
                    link_type=item.link_type,
                    score=item.score,
                    reason=item.reason,
                    status=LinkStatus.PROPOSED,
                    created_at=now,
                    updated_at=now,
                )
            )
            counts["created"] += 1
        elif link.status == LinkStatus.DISMISSED:
            counts["kept"] += 1
        else:
            link.link_type, link.score, link.reason, link.updated_at = (
                item.link_type,
                item.score,
                item.reason,
                now,
            )
            counts["refreshed"] += 1
    for other_id, link in existing.items():
        if other_id not in seen and link.status == LinkStatus.PROPOSED:
            session.delete(link)
            counts["dropped"] += 1
    session.flush()
    return counts


def withdraw_links(*, session: Session, kind: str, listing_id: int) -> int:
    """Drop the open proposals of a listing that left the exchange; broker decisions stay."""
    result = session.execute(
        delete(ListingLink).where(_of_listing(kind, listing_id), ListingLink.status == LinkStatus.PROPOSED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_links_of(*, session: Session, kind: str, listing_ids: Iterable[int]) -> int:
    """Every link of deleted listings, decisions included: ids may be reused, a decision must not be."""
    total = 0
    for listing_id in listing_ids:
        result = session.execute(delete(ListingLink).where(_of_listing(kind, listing_id)))
        total += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return total


def get_link(*, session: Session, link_id: int, lock: bool = False) -> ListingLink:
    query = select(ListingLink).where(ListingLink.id == link_id)
    if lock:
        query = query.with_for_update()
    link = session.scalar(query)
    if link is None:
        raise NotFoundError(f"Link {link_id} does not exist.")
    return link


def decide_link(*, session: Session, link: ListingLink, status: LinkStatus, actor: Viewer) -> ListingLink:
    """A broker confirms or dismisses a link; a dismissed link may be confirmed later and the other way round."""
    if status == LinkStatus.PROPOSED:
        raise InvalidError("A broker confirms or dismisses a link; proposing is the engine's.")
    if link.status == status:
        raise ConflictError(f"Link {link.id} is already {status.value}.")
    link.status = status
    link.decided_by = actor.api_key_id
    link.decided_at = link.updated_at = utcnow()
    session.flush()
    return link


def clusters(links: Iterable[ListingLink]) -> dict[int, int]:
    """Each linked listing's cluster representative (the smallest id of its connected component)."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for link in links:
        a, b = root(link.listing_a_id), root(link.listing_b_id)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {node: root(node) for node in list(parent)}


def list_links(
    *,
    session: Session,
    kind: str | None = None,
    statuses: Collection[LinkStatus] = (),
    link_types: Collection[LinkType] = (),
    listing_id: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[ListingLink], int]:
    """A page of links for the broker queue, best score first, and the total."""
    query = select(ListingLink)
    if kind is not None:
        _check_kind(kind)
        query = query.where(ListingLink.kind == kind)
    if statuses:
        query = query.where(ListingLink.status.in_(list(statuses)))
    if link_types:
        query = query.where(ListingLink.link_type.in_(list(link_types)))
    if listing_id is not None:
        query = query.where(
            or_(ListingLink.listing_a_id == listing_id, ListingLink.listing_b_id == listing_id)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ListingLink.score.desc(), ListingLink.id).offset(offset).limit(limit)
    )
    return list(rows), int(total)
