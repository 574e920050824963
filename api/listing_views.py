"""Listings as the API shows them on result pages, kept in memory and dropped as they change.

A search or match page showed 10-20 listings read from the store as ORM objects with their JSON and
enum columns decoded and validated again: a tenth of a request at 10^5 listings, for the same
popular listings request after request. Views follow the record cache's change notifications.
Organizations' names are kept for a second: a rename in another worker sends no listing change, and
reading the names for every page was a fifth of the store's time per request on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.record_cache import Key, RecordCache
from api.schemas.listings import ListingReadFields
from models.listings import LISTING_MODELS, get_listings
from models.organizations import Organization

# How long an organization's name is shown without reading it again: as long as a write may take
# to reach every API worker's searches.
NAME_SECONDS = 1.0
NAMES_KEPT = 100_000


class ListingViews:
    """Read schemas (OfferRead, NeedRead) of recently shown listings by (kind, id); thread-safe."""

    def __init__(self, *, capacity: int) -> None:
        self._cache: RecordCache[ListingReadFields] = RecordCache(capacity=capacity)
        # Organization id -> (name, when read, monotonic); entries are replaced whole.
        self._names: dict[int, tuple[str, float]] = {}

    def forget_organizations(self, organization_ids: Iterable[int]) -> None:
        """Read these organizations' names again at the next page (renamed in this process)."""
        for organization_id in organization_ids:
            self._names.pop(organization_id, None)

    def _names_of(self, session: Session, owners: Collection[int]) -> dict[int, str]:
        now = time.monotonic()
        known = self._names
        stale = [owner for owner in owners if now - known.get(owner, ("", -NAME_SECONDS))[1] >= NAME_SECONDS]
        if stale:
            if len(known) > NAMES_KEPT:
                known.clear()
            rows = session.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(stale))
            )
            for organization_id, name in rows:
                known[organization_id] = (name, now)
        return {owner: known[owner][0] for owner in owners if owner in known}

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
        names = self._names_of(session, {view.organization_id for view in views.values()})
        return {
            listing_id: view.model_copy(update={"organization_name": names.get(view.organization_id, "")})
            for listing_id, view in views.items()
        }

    def __len__(self) -> int:
        return len(self._cache)
