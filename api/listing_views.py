"""Listings as the API shows them on result pages, kept in memory and dropped as they change.

A search or match page showed 10-20 listings read from the store as ORM objects with their JSON and
enum columns decoded and validated again: a tenth of a request at 10^5 listings, for the same
popular listings request after request. Views follow the record cache's change notifications; the
organization's name is read per page (a rename in another worker sends no listing change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.record_cache import Key, RecordCache
from api.schemas.listings import ListingReadFields
from models.listings import LISTING_MODELS, get_listings
from models.organizations import Organization


class ListingViews:
    """Read schemas (OfferRead, NeedRead) of recently shown listings by (kind, id); thread-safe."""

    def __init__(self, *, capacity: int) -> None:
        self._cache: RecordCache[ListingReadFields] = RecordCache(capacity=capacity)

    def discard(self, changes: Iterable[Key]) -> None:
        """Forget changed listings (a change-feed subscriber)."""
        self._cache.discard(changes)

    def read(
        self, *, session: Session, kind: str, read: type[ListingReadFields], ids: Sequence[int]
    ) -> dict[int, ListingReadFields]:
        """The views of the listings of `ids` that exist, with their organizations' current names;
        each is a copy the caller may change."""

        def load(missing: list[int]) -> dict[int, ListingReadFields]:
            rows = get_listings(session=session, model=LISTING_MODELS[kind], ids=missing)
            return {listing_id: read.model_validate(row) for listing_id, row in rows.items()}

        views = self._cache.read(kind, list(dict.fromkeys(ids)), load)
        owners = {view.organization_id for view in views.values()}
        names: dict[int, str] = (
            dict(
                session.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(owners))
                ).all()
            )  # type
            if owners
            else {}
        )
        return {
            listing_id: view.model_copy(update={"organization_name": names.get(view.organization_id, "")})
            for listing_id, view in views.items()
        }

    def __len__(self) -> int:
        return len(self._cache)
