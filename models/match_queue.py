"""Finding matches: one by id with its history, a page of the brokers' queue, a listing's matches.

A listing's matches are counted (decided ones) or withdrawn (undecided ones) as the listing leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.taxonomy import Sector
from models.errors import NotFoundError
from models.listings import Need, Offer
from models.matches import Match, MatchEvent, MatchStatus


@dataclass(frozen=True)
class MatchFilters:
    statuses: Sequence[MatchStatus] = ()
    sectors: Sequence[Sector] = ()
    score_min: float | None = None
    score_max: float | None = None
    need_id: int | None = None
    offer_id: int | None = None
    organization_id: int | None = None
    # Only matches with an event of this reason (e.g. a member's request for an introduction).
    event_reason: str | None = None


def get_match(*, session: Session, match_id: int, lock: bool = False) -> Match:
    """A match by id; `lock` holds its row until commit so that two brokers cannot move it at once."""
    query = select(Match).where(Match.id == match_id)
    if lock:
        query = query.with_for_update(of=Match)
    match = session.scalars(query).unique().one_or_none()
    if match is None:
        raise NotFoundError(f"Match {match_id} does not exist.")
    return match


SORTS: dict[str, Callable[[], tuple[Any, ...]]] = {
    "-score": lambda: (Match.score.desc().nulls_last(), Match.id.desc()),
    "score": lambda: (Match.score.asc().nulls_first(), Match.id.asc()),
    "created_at": lambda: (Match.created_at.asc(), Match.id.asc()),
    "-created_at": lambda: (Match.created_at.desc(), Match.id.desc()),
}


def list_matches(
    *, session: Session, filters: MatchFilters, offset: int = 0, limit: int = 20, sort: str = "-score"
) -> tuple[list[Match], int]:
    """One page of matches for the broker queue, and the total matching the filters.

    A match's sector is its need's: the enterprise's problem decides where the deal belongs.
    """
    need, offer = aliased(Need), aliased(Offer)
    query = select(Match).join(need, Match.need_id == need.id).join(offer, Match.offer_id == offer.id)
    if filters.statuses:
        query = query.where(Match.status.in_(filters.statuses))
    if filters.sectors:
        query = query.where(need.sector.in_(filters.sectors))
    if filters.score_min is not None:
        query = query.where(Match.score >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(Match.score <= filters.score_max)
    if filters.need_id is not None:
        query = query.where(Match.need_id == filters.need_id)
    if filters.offer_id is not None:
        query = query.where(Match.offer_id == filters.offer_id)
    if filters.organization_id is not None:
        query = query.where(
            or_(
                need.organization_id == filters.organization_id,
                offer.organization_id == filters.organization_id,
            )
        )
    if filters.event_reason is not None:
        query = query.where(
            Match.id.in_(select(MatchEvent.match_id).where(MatchEvent.reason == filters.event_reason))
        )
    total = (
        session.scalar(select(func.count()).select_from(query.with_only_columns(Match.id).subquery())) or 0
    )
    rows = session.scalars(query.order_by(*SORTS[sort]()).offset(offset).limit(limit)).unique().all()
    return list(rows), total


def _of_listing(kind: str, listing_id: int) -> Any:
    return (Match.need_id if kind == "needs" else Match.offer_id) == listing_id


def withdraw_suggestions(*, session: Session, kind: str, listing_id: int) -> int:
    """Drop the undecided suggestions of a listing that left the exchange; decided pairs stay."""
    result = session.execute(
        delete(Match).where(_of_listing(kind, listing_id), Match.status == MatchStatus.SUGGESTED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def decided_match_count(*, session: Session, kind: str, listing_id: int) -> int:
    """Matches of a listing that brokers have acted on: their history must not vanish with it."""
    query = select(func.count()).where(_of_listing(kind, listing_id), Match.status != MatchStatus.SUGGESTED)
    return int(session.scalar(query) or 0)


def match_history(*, session: Session, match_id: int) -> list[MatchEvent]:
    return list(
        session.scalars(select(MatchEvent).where(MatchEvent.match_id == match_id).order_by(MatchEvent.id))
    )
