"""Free-text search over offers and needs, and the matches of one listing."""

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import MatcherDep, SessionDep, ViewerDep, forbid_unknown_query
from api.records import StoreRecords, need_record, offer_record
from api.routes.listings import ListingQuery, ListingQueryDep
from api.schemas.listings import NeedRead, OfferRead
from api.schemas.matches import NeedResults, OfferResults
from core.access import Viewer
from core.taxonomy import ListingStatus
from matcher.service import Matcher, ScoredListing
from models.listings import (
    LISTING_MODELS,
    ListingFilters,
    Need,
    Offer,
    get_listing,
    get_listings,
    visible_ids,
)

_PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
router = APIRouter(dependencies=[Depends(forbid_unknown_query)])

Text = Annotated[str, Query(min_length=1, max_length=2_000, description="What you are looking for, vi or en")]
Limit = Annotated[int, Query(ge=1, le=100)]
K = Annotated[int, Query(ge=1, le=100, description="How many matches (default 10, max 100)")]


def _hits(
    results: list[ScoredListing], rows: dict[int, Any], key: str, read: type[BaseModel]
) -> list[dict[str, Any]]:
    return [
        {
            "score": r.score,
            "text_score": r.text_score,
            "ranker_version": r.ranker_version,
            key: read.model_validate(rows[r.id]),
            "explanation": r.explanation,
        }
        for r in results
        if r.id in rows
    ]


def _search(
    *,
    kind: str,
    key: str,
    read: type,
    session: Session,
    viewer: Viewer,
    matcher: Matcher,
    query: ListingQuery,
    q: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    model = LISTING_MODELS[kind]
    filters = replace(query.filters, statuses=(ListingStatus.PUBLISHED,))
    allowed = visible_ids(session=session, model=model, filters=filters, viewer=viewer)
    results, total = matcher.search(
        kind=kind, query=q, allowed_ids=allowed, source=StoreRecords(session), limit=limit, offset=offset
    )
    rows = get_listings(session=session, model=model, ids=[r.id for r in results])
    return {"items": _hits(results, rows, key, read), "total": total, "offset": offset, "limit": limit}


@router.get("/search/offers", response_model=OfferResults, summary="Search offers in free text")
def search_offers(
    q: Text,
    session: SessionDep,
    viewer: ViewerDep,
    matcher: MatcherDep,
    query: ListingQueryDep,
    limit: Limit = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> dict[str, Any]:
    return _search(
        kind="offers",
        key="offer",
        read=OfferRead,
        session=session,
        viewer=viewer,
        matcher=matcher,
        query=query,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.get("/search/needs", response_model=NeedResults, summary="Search needs in free text")
def search_needs(
    q: Text,
    session: SessionDep,
    viewer: ViewerDep,
    matcher: MatcherDep,
    query: ListingQueryDep,
    limit: Limit = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
) -> dict[str, Any]:
    return _search(
        kind="needs",
        key="need",
        read=NeedRead,
        session=session,
        viewer=viewer,
        matcher=matcher,
        query=query,
        q=q,
        limit=limit,
        offset=offset,
    )


@router.get("/needs/{need_id}/matches", response_model=OfferResults, summary="Offers that could solve a need")
def need_matches(
    need_id: int, session: SessionDep, viewer: ViewerDep, matcher: MatcherDep, k: K = 10
) -> dict[str, Any]:
    need = need_record(get_listing(session=session, model=Need, listing_id=need_id, viewer=viewer))
    allowed = visible_ids(session=session, model=Offer, filters=_PUBLISHED, viewer=viewer)
    results = matcher.match_need(
        need=need, allowed_offer_ids=allowed, source=StoreRecords(session), viewer=viewer, k=k
    )
    rows = get_listings(session=session, model=Offer, ids=[r.id for r in results])
    return {"items": _hits(results, rows, "offer", OfferRead), "total": len(results), "offset": 0, "limit": k}


@router.get("/offers/{offer_id}/matches", response_model=NeedResults, summary="Needs an offer could solve")
def offer_matches(
    offer_id: int, session: SessionDep, viewer: ViewerDep, matcher: MatcherDep, k: K = 10
) -> dict[str, Any]:
    offer = offer_record(get_listing(session=session, model=Offer, listing_id=offer_id, viewer=viewer))
    allowed = visible_ids(session=session, model=Need, filters=_PUBLISHED, viewer=viewer)
    results = matcher.match_offer(
        offer=offer, allowed_need_ids=allowed, source=StoreRecords(session), viewer=viewer, k=k
    )
    rows = get_listings(session=session, model=Need, ids=[r.id for r in results])
    return {"items": _hits(results, rows, "need", NeedRead), "total": len(results), "offset": 0, "limit": k}
