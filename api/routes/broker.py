"""The broker workflow: the match queue, reviews, pipeline moves with their history, alerts and statistics.

Staff only: matches name listings members may not see (drafts, brokers-only needs).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import MatcherDep, SessionDep, StaffDep, forbid_unknown_query
from api.errors import COMMON_ERRORS, error_responses
from api.params import IdPath, IdQuery, LimitQuery, OffsetQuery
from api.schemas.matches_workflow import (
    BrokerStats,
    MatchCreate,
    MatchDetail,
    MatchEventRead,
    MatchPage,
    MatchRead,
    NotificationPage,
    ReviewBody,
    TransitionBody,
    match_view,
)
from api.suggestions import score_pair
from core.taxonomy import Sector
from models import match_pairs as pair_service
from models import match_pipeline as pipeline_service
from models import match_queue as queue_service
from models.listing_stats import listings_by_week
from models.match_queue import MatchFilters
from models.match_stats import broker_stats
from models.matches import MatchStatus
from models.outbox import NotificationStatus, list_notifications

# Every route here is staff only (403 for others).
router = APIRouter(
    dependencies=[Depends(forbid_unknown_query)], responses={**COMMON_ERRORS, **error_responses(403)}
)
Score = Annotated[float | None, Query(ge=0.0, le=1.0)]
MatchSort = Literal["-score", "score", "created_at", "-created_at"]


@router.get("/matches", response_model=MatchPage, summary="The broker queue of matches")
def list_matches(
    session: SessionDep,
    _staff: StaffDep,
    status: Annotated[list[MatchStatus] | None, Query(description="Repeat for several")] = None,
    sector: Annotated[list[Sector] | None, Query(description="The need's sector; repeat for several")] = None,
    score_min: Score = None,
    score_max: Score = None,
    need_id: IdQuery = None,
    offer_id: IdQuery = None,
    organization_id: Annotated[IdQuery, Query(description="Either side's organization")] = None,
    sort: Annotated[MatchSort, Query(description="score or age (created_at: oldest first)")] = "-score",
    offset: OffsetQuery = 0,
    limit: LimitQuery = 20,
) -> dict[str, Any]:
    if score_min is not None and score_max is not None and score_min > score_max:
        raise HTTPException(422, f"score_min ({score_min}) is greater than score_max ({score_max}).")
    filters = MatchFilters(
        statuses=status or (),
        sectors=sector or (),
        score_min=score_min,
        score_max=score_max,
        need_id=need_id,
        offer_id=offer_id,
        organization_id=organization_id,
    )
    rows, total = queue_service.list_matches(
        session=session, filters=filters, offset=offset, limit=limit, sort=sort
    )
    return {"items": [match_view(row) for row in rows], "total": total, "offset": offset, "limit": limit}


@router.post(
    "/matches",
    response_model=MatchRead,
    status_code=201,
    summary="Add a match the engine missed",
    responses=error_responses(400, 404, 409, 413),
)
def create_match(
    body: MatchCreate, session: SessionDep, staff: StaffDep, matcher: MatcherDep
) -> dict[str, Any]:
    need, offer = pair_service.new_pair(session=session, need_id=body.need_id, offer_id=body.offer_id)
    scoring = score_pair(matcher=matcher, session=session, need=need, offer=offer)
    match = pipeline_service.create_match(
        session=session, need=need, offer=offer, actor=staff, note=body.note, scoring=scoring
    )
    session.commit()
    return match_view(match)


@router.get(
    "/matches/{match_id}",
    response_model=MatchDetail,
    summary="A match and the alerts it caused",
    responses=error_responses(404),
)
def read_match(match_id: IdPath, session: SessionDep, _staff: StaffDep) -> dict[str, Any]:
    match = queue_service.get_match(session=session, match_id=match_id)
    notifications, _total = list_notifications(session=session, match_id=match_id, limit=100)
    return {**match_view(match), "notifications": notifications}


@router.post(
    "/matches/{match_id}/review",
    response_model=MatchRead,
    summary="Accept or reject a suggestion",
    responses=error_responses(400, 404, 409, 413),
)
def review_match(match_id: IdPath, body: ReviewBody, session: SessionDep, staff: StaffDep) -> dict[str, Any]:
    match = queue_service.get_match(session=session, match_id=match_id, lock=True)
    to = MatchStatus.ACCEPTED if body.decision == "accept" else MatchStatus.REJECTED
    pipeline_service.transition(
        session=session, match=match, to=to, actor=staff, reason=body.reason, note=body.note
    )
    session.commit()
    return match_view(match)


@router.post(
    "/matches/{match_id}/transition",
    response_model=MatchRead,
    summary="Move a match along the pipeline",
    responses=error_responses(400, 404, 409, 413),
)
def transition_match(
    match_id: IdPath, body: TransitionBody, session: SessionDep, staff: StaffDep
) -> dict[str, Any]:
    match = queue_service.get_match(session=session, match_id=match_id, lock=True)
    pipeline_service.transition(
        session=session, match=match, to=body.to, actor=staff, reason=body.reason, note=body.note
    )
    session.commit()
    return match_view(match)


@router.get(
    "/matches/{match_id}/history",
    response_model=list[MatchEventRead],
    summary="Every status change",
    responses=error_responses(404),
)
def match_history(match_id: IdPath, session: SessionDep, _staff: StaffDep) -> Any:
    queue_service.get_match(session=session, match_id=match_id)
    return queue_service.match_history(session=session, match_id=match_id)


@router.get("/notifications", response_model=NotificationPage, summary="Webhook alerts and their delivery")
def notifications(
    session: SessionDep,
    _staff: StaffDep,
    status: NotificationStatus | None = None,
    organization_id: IdQuery = None,
    match_id: IdQuery = None,
    offset: OffsetQuery = 0,
    limit: LimitQuery = 50,
) -> dict[str, Any]:
    rows, total = list_notifications(
        session=session,
        status=status,
        organization_id=organization_id,
        match_id=match_id,
        offset=offset,
        limit=limit,
    )
    return {"items": rows, "total": total, "offset": offset, "limit": limit}


@router.get("/stats", response_model=BrokerStats, summary="Suggestions, reviews, acceptance and stage times")
def stats(session: SessionDep, _staff: StaffDep) -> dict[str, Any]:
    return {**broker_stats(session=session), "listings_by_week": listings_by_week(session=session)}
