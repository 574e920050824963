"""Free-text search over offers and needs, and the matches of one listing; one factory per route shape."""

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import (
    ListingFacetsDep,
    ListingViewsDep,
    MatcherDep,
    RecordsDep,
    SessionDep,
    ViewerDep,
    forbid_unknown_query,
    search_slot,
)
from api.errors import COMMON_ERRORS, error_responses
from api.links import cluster_map
from api.listing_views import ListingViews
from api.params import IdPath
from api.rate_limits import rate_limited
from api.routes.listings import ListingQueryDep
from api.schemas.links import also_listed
from api.schemas.listings import ListingReadFields, NeedRead, OfferRead, viewer_copy
from api.schemas.matches import NeedResults, OfferResults
from core.access import Viewer
from core.taxonomy import ListingStatus
from indexes.text import analyze
from matcher.records import NeedRecord, OfferRecord
from matcher.results import ScoredListing
from models.listings import LISTING_MODELS, ListingFilters, Need, Offer, visible_or_missing
from models.search_scope import search_scope

_PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))

Text = Annotated[str, Query(min_length=1, max_length=2_000, description="What you are looking for, vi or en")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1000)]
K = Annotated[int, Query(ge=1, le=100, description="How many matches (default 10, max 100)")]


@dataclass(frozen=True)
class Side:
    """One side of the exchange as these routes show it."""

    kind: str
    key: str
    read: type[ListingReadFields]
    results: type[BaseModel]


OFFERS = Side("offers", "offer", OfferRead, OfferResults)
NEEDS = Side("needs", "need", NeedRead, NeedResults)


def _page(
    results: list[ScoredListing],
    side: Side,
    views: ListingViews,
    session: Session,
    viewer: Viewer,
    *,
    total: int,
    offset: int,
    limit: int,
) -> dict[str, Any]:
    ids = [r.id for r in results] + [other for r in results for other in r.also]
    shown = views.read(session=session, kind=side.kind, read=side.read, ids=ids)
    items = [
        {
            "score": r.score,
            "text_score": r.text_score,
            "ranker_version": r.ranker_version,
            side.key: viewer_copy(shown[r.id], viewer),
            "explanation": r.explanation,
            "also_listed_as": [also_listed(shown[other]) for other in r.also if other in shown],
        }
        for r in results
        if r.id in shown
    ]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def add_search_route(router: APIRouter, side: Side) -> None:
    @router.get(
        f"/search/{side.kind}",
        response_model=side.results,
        summary=f"Search {side.kind} in free text",
        responses=error_responses(429),
        dependencies=[Depends(search_slot), Depends(rate_limited)],
    )
    def search(
        q: Text,
        session: SessionDep,
        viewer: ViewerDep,
        matcher: MatcherDep,
        records: RecordsDep,
        views: ListingViewsDep,
        query: ListingQueryDep,
        facets: ListingFacetsDep,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        if not analyze(q):
            # Only spaces, punctuation or emoji: nothing to look for, so nothing is found.
            return {"items": [], "total": 0, "offset": offset, "limit": limit}
        filters = replace(query.filters, statuses=(ListingStatus.PUBLISHED,))
        # A filtered scope's ids come from the listing facets (or SQL when they are off).
        scope = search_scope(
            session=session, model=LISTING_MODELS[side.kind], filters=filters, viewer=viewer, facets=facets
        )
        results, total = matcher.search(
            kind=side.kind,
            query=q,
            allowed_ids=scope.allowed,
            hidden_ids=scope.hidden,
            source=records,
            limit=limit,
            offset=offset,
            clusters=cluster_map(session=session, kind=side.kind, scope=scope),
        )
        return _page(results, side, views, session, viewer, total=total, offset=offset, limit=limit)


def add_match_route(router: APIRouter, own: Side, other: Side) -> None:
    @router.get(
        f"/{own.kind}/{{listing_id}}/matches",
        response_model=other.results,
        summary=f"{other.kind.capitalize()} that match one of the {own.kind}",
        responses=error_responses(404, 429),
        dependencies=[Depends(search_slot), Depends(rate_limited)],
    )
    def matches(
        listing_id: IdPath,
        session: SessionDep,
        viewer: ViewerDep,
        matcher: MatcherDep,
        records: RecordsDep,
        views: ListingViewsDep,
        facets: ListingFacetsDep,
        k: K = 10,
    ) -> Any:
        # Through the record cache: the listing was most likely shown, or matched, a moment ago.
        listing: NeedRecord | OfferRecord
        if own is NEEDS:
            listing = visible_or_missing(
                records.needs([listing_id]).get(listing_id), model=Need, listing_id=listing_id, viewer=viewer
            )
        else:
            listing = visible_or_missing(
                records.offers([listing_id]).get(listing_id),
                model=Offer,
                listing_id=listing_id,
                viewer=viewer,
            )
        scope = search_scope(
            session=session,
            model=LISTING_MODELS[other.kind],
            filters=_PUBLISHED,
            viewer=viewer,
            facets=facets,
        )
        results = matcher.match(
            listing,
            allowed_ids=scope.allowed,
            hidden_ids=scope.hidden,
            source=records,
            viewer=viewer,
            k=k,
            clusters=cluster_map(session=session, kind=other.kind, scope=scope),
        )
        return _page(results, other, views, session, viewer, total=len(results), offset=0, limit=k)


router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)
add_search_route(router, OFFERS)
add_search_route(router, NEEDS)
add_match_route(router, NEEDS, OFFERS)
add_match_route(router, OFFERS, NEEDS)
