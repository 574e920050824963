"""What a search or match may return, stated so that it costs what the answer costs, not the catalogue."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import Viewer
from core.id_array import IdArray
from core.taxonomy import Confidentiality, ListingStatus
from models.listings import ListingFilters, Need, Offer, visible_ids

if TYPE_CHECKING:
    from models.facets import ListingFacets

# Past this many published listings hidden from the viewer, dropping them after retrieval would cost
# the retrievers too many candidates: the scope lists the visible ids instead.
HIDDEN_MAX = 2_000


@dataclass(frozen=True)
class SearchScope:
    """`allowed`: the ids a search may return (None: every published listing, so the indexes need no id
    list); `hidden`: the few published listings among those the viewer may not see (other
    organizations' brokers-only needs), dropped from the candidates after retrieval. `allowed` is an
    `IdArray` when the listing facets chose it (no Python set of the whole catalogue), else a set."""

    allowed: Set[int] | None
    hidden: frozenset[int] = frozenset()


def search_scope(
    *,
    session: Session,
    model: type[Offer] | type[Need],
    filters: ListingFilters,
    viewer: Viewer,
    facets: ListingFacets | None = None,
) -> SearchScope:
    """The scope of a search over published listings matching `filters` that `viewer` may see.

    Without filters the scope is every published listing less the hidden ones: always all of them for
    offers (published offers are public) and for staff. Listings the indexes still hold for a moment
    after they were archived are dropped by the matcher, which checks each result's status. A scope that
    lists ids takes them from the in-memory listing `facets` (models/facets.py) when given, else from SQL.
    """
    if not _only_published(filters):
        return SearchScope(
            scope_ids(session=session, model=model, filters=filters, viewer=viewer, facets=facets)
        )
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
        return SearchScope(
            scope_ids(session=session, model=model, filters=filters, viewer=viewer, facets=facets)
        )
    return SearchScope(None, hidden_ids)


def scope_ids(
    *,
    session: Session,
    model: type[Offer] | type[Need],
    filters: ListingFilters,
    viewer: Viewer,
    facets: ListingFacets | None,
) -> Set[int]:
    """`visible_ids`, from the listing facets when there are some (they re-read changed listings first,
    so a search sees a write that committed before it)."""
    if facets is None:
        return visible_ids(session=session, model=model, filters=filters, viewer=viewer)
    return IdArray(facets.matching_ids(model=model, filters=filters, viewer=viewer))


def _only_published(filters: ListingFilters) -> bool:
    """What the search indexes hold: every published listing (api/indexing.py), no other constraint."""
    others = replace(filters, statuses=())
    return tuple(filters.statuses) == (ListingStatus.PUBLISHED,) and all(
        getattr(others, name) in (None, (), []) for name in (f.name for f in fields(others))
    )
