"""What changed among the listings since a moment, read from the store itself: every API worker of a
node follows other processes' writes through this (issue 11), not only its own commits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow
from models.listings import LISTING_MODELS, Need, Offer

# (kind, id, when, deleted): a listing written or deleted at `when`.
ListingVersion = tuple[str, int, datetime, bool]


class ListingDeletion(Base):
    """A tombstone: a deleted row leaves no updated_at behind for the other workers to notice."""

    __tablename__ = "listing_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    listing_id: Mapped[int]
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def record_deletion(*, session: Session, row: Offer | Need) -> None:
    """Leave a tombstone for `row`, in the transaction that deletes it."""
    session.add(ListingDeletion(kind=row.__tablename__, listing_id=row.id))


def listing_versions(*, session: Session, since: datetime) -> list[ListingVersion]:
    """Listings written at or after `since`, whatever their status (archiving must reach the indexes
    too), and those deleted since."""
    versions: list[ListingVersion] = [
        (kind, listing_id, as_utc(updated_at), False)
        for kind, model in LISTING_MODELS.items()
        for listing_id, updated_at in session.execute(
            select(model.id, model.updated_at).where(model.updated_at >= since)
        )
    ]
    deleted = select(ListingDeletion.kind, ListingDeletion.listing_id, ListingDeletion.deleted_at).where(
        ListingDeletion.deleted_at >= since
    )
    versions += [(kind, listing_id, as_utc(at), True) for kind, listing_id, at in session.execute(deleted)]
    return versions


def forget_deletions(*, session: Session, before: datetime) -> int:
    """Drop tombstones no worker can still need; how many went."""
    result = session.execute(delete(ListingDeletion).where(ListingDeletion.deleted_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def as_utc(moment: datetime) -> datetime:
    # SQLite returns the stored UTC time without its zone.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
