"""What a search or match may return, stated so that it costs what the answer costs, not the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import Viewer
from core.taxonomy import Confidentiality, ListingStatus
from models.listings import ListingFilters, Need, Offer, visible_ids

# Past this many published listings hidden from the viewer, dropping them after retrieval would cost
# the retrievers too many candidates: the scope lists the visible ids instead.
HIDDEN_MAX = 2_000


@dataclass(frozen=True)
class SearchScope:
    """`allowed`: the ids a search may return (None: every published listing, so the indexes need no id
    list); `hidden`: the few published listings among those the viewer may not see (other
    organizations' brokers-only needs), dropped from the candidates after retrieval."""

    allowed: set[int] | None
    hidden: frozenset[int] = frozenset()


def search_scope(
    *, session: Session, model: type[Offer] | type[Need], filters: ListingFilters, viewer: Viewer
) -> SearchScope:
    """The scope of a search over published listings matching `filters` that `viewer` may see.

    Without facets the scope is every published listing less the hidden ones: always all of them for
    offers (published offers are public) and for staff. Listings the indexes still hold for a moment
    after they were archived are dropped by the matcher, which checks each result's status.
    """
    if not _only_published(filters):
        return SearchScope(visible_ids(session=session, model=model, filters=filters, viewer=viewer))
    if model is Offer or viewer.is_staff:
        return SearchScope(None)
    # IN, not !=, so that the confidentiality index finds the few hidden needs among all of them.
    restricted = [level for level in Confidentiality if level != Confidentiality.PUBLIC]
    hidden = select(Need.id).where(
        Need.confidentiality.in_(restricted), Need.status == ListingStatus.PUBLISHED
    )
    if viewer.organization_id is not None:
        hidden = hidden.where(Need.organization_id != viewer.organization_id)
    hidden_ids = frozenset(session.scalars(hidden.limit(HIDDEN_MAX + 1)))
    if len(hidden_ids) > HIDDEN_MAX:
        return SearchScope(visible_ids(session=session, model=model, filters=filters, viewer=viewer))
    return SearchScope(None, hidden_ids)


def _only_published(filters: ListingFilters) -> bool:
    """What the search indexes hold: every published listing (api/indexing.py), no other constraint."""
    others = replace(filters, statuses=())
    return tuple(filters.statuses) == (ListingStatus.PUBLISHED,) and all(
        getattr(others, name) in (None, (), []) for name in (f.name for f in fields(others))
    )
