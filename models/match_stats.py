"""Broker analytics computed in the database: counts, funnel, acceptance and time in each stage.

Every figure is a GROUP BY (and window functions for the stage times), so `/stats` reads a few rows
per status, sector and score band, never every match and event (issue 11).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, distinct, extract, func, literal, select
from sqlalchemy.orm import Session

from models.listings import Need
from models.matches import Match, MatchEvent, MatchSource, MatchStatus

BANDS = 10


def score_band(score: float | None) -> str:
    """Tenths of the score: "0.5-0.6", …, "0.9-1.0"; "unscored" for hand-made matches without a score."""
    if score is None:
        return "unscored"
    return _band_label(min(int(score * 10), BANDS - 1))


def _band_label(low_tenth: int | None) -> str:
    if low_tenth is None:
        return "unscored"
    low = low_tenth / 10
    return f"{low:.1f}-{low + 0.1:.1f}"


def _band_column() -> ColumnElement[Any]:
    """The score's tenth (0..9) as score_band computes it, in portable SQL; NULL when unscored."""
    tenths = Match.score * 10
    return case(
        *((tenths >= low, literal(low)) for low in range(BANDS - 1, 0, -1)),
        else_=case((Match.score.is_(None), None), else_=literal(0)),
    )


def _rates(counts: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    return {
        key: {
            "reviews": accepted + rejected,
            "accepted": accepted,
            "rate": round(accepted / (accepted + rejected), 4),
        }
        for key, (accepted, rejected) in sorted(counts.items())
    }


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float)
    return cast(extract("epoch", later - earlier), Float)


def _stage_durations(session: Session) -> dict[str, dict[str, float]]:
    """Count, mean and median hours of each finished stay, a stay running from the event that entered a
    stage to the next event of the same match."""
    previous_status = func.lag(MatchEvent.to_status).over(
        partition_by=MatchEvent.match_id, order_by=MatchEvent.id
    )
    previous_time = func.lag(MatchEvent.created_at).over(
        partition_by=MatchEvent.match_id, order_by=MatchEvent.id
    )
    steps = select(
        previous_status.label("stage"),
        _seconds_between(session, MatchEvent.created_at, previous_time).label("seconds"),
    ).subquery()
    ranked = (
        select(
            steps.c.stage,
            steps.c.seconds,
            func.row_number().over(partition_by=steps.c.stage, order_by=steps.c.seconds).label("rank"),
            func.count().over(partition_by=steps.c.stage).label("stays"),
        )
        .where(steps.c.stage.is_not(None))
        .subquery()
    )
    middle = ranked.c.rank.in_([(ranked.c.stays + 1) / 2, (ranked.c.stays + 2) / 2])
    rows = session.execute(
        select(
            ranked.c.stage,
            func.max(ranked.c.stays),
            func.avg(ranked.c.seconds),
            func.avg(case((middle, ranked.c.seconds))),
        ).group_by(ranked.c.stage)
    ).all()
    return {
        MatchStatus(stage).value: {
            "count": int(stays),
            "mean_hours": round(float(mean) / 3600, 3),
            "median_hours": round(float(median) / 3600, 3),
        }
        for stage, stays, mean, median in sorted(rows, key=lambda row: str(row[0]))
    }


def broker_stats(*, session: Session) -> dict[str, Any]:
    """Suggestions, reviews and acceptance rates by sector and score band, and time spent in each stage.

    Suggestions are the engine's matches (whatever their status since), counted by the need's sector.

    A review is a suggested → accepted/rejected step; a stage's duration runs from the event
    that entered it to the one that left it, so stages a match is still in are not counted.
    """
    band = _band_column()
    by_status = dict.fromkeys((status.value for status in MatchStatus), 0)
    for status, count in session.execute(select(Match.status, func.count()).group_by(Match.status)):
        by_status[MatchStatus(status).value] = count
    reached = dict.fromkeys((status.value for status in MatchStatus), 0)
    for status, count in session.execute(
        select(MatchEvent.to_status, func.count(distinct(MatchEvent.match_id))).group_by(MatchEvent.to_status)
    ):
        reached[MatchStatus(status).value] = count

    suggested_by_sector: dict[str, int] = {}
    suggested_by_band: dict[str, int] = {}
    for sector, low, count in session.execute(
        select(Need.sector, band, func.count())
        .select_from(Match)
        .join(Need, Need.id == Match.need_id)
        .where(Match.source == MatchSource.ENGINE)
        .group_by(Need.sector, band)
    ):
        sector_key, band_key = str(getattr(sector, "value", sector)), _band_label(low)
        suggested_by_sector[sector_key] = suggested_by_sector.get(sector_key, 0) + count
        suggested_by_band[band_key] = suggested_by_band.get(band_key, 0) + count

    by_sector: dict[str, list[int]] = {}
    by_band: dict[str, list[int]] = {}
    reviewed = and_(
        MatchEvent.from_status == MatchStatus.SUGGESTED,
        MatchEvent.to_status.in_([MatchStatus.ACCEPTED, MatchStatus.REJECTED]),
    )
    for sector, low, to_status, count in session.execute(
        select(Need.sector, band, MatchEvent.to_status, func.count())
        .select_from(MatchEvent)
        .join(Match, Match.id == MatchEvent.match_id)
        .join(Need, Need.id == Match.need_id)
        .where(reviewed)
        .group_by(Need.sector, band, MatchEvent.to_status)
    ):
        accepted = MatchStatus(to_status) == MatchStatus.ACCEPTED
        for counts, key in ((by_sector, str(getattr(sector, "value", sector))), (by_band, _band_label(low))):
            pair = counts.setdefault(key, [0, 0])
            pair[0 if accepted else 1] += count
    reviews = sum(a + r for a, r in by_sector.values())
    accepted_total = sum(a for a, _ in by_sector.values())
    return {
        "matches": sum(by_status.values()),
        "by_status": by_status,
        # The funnel: matches that ever entered each stage, whatever happened after.
        "reached": reached,
        "suggestions": sum(suggested_by_sector.values()),
        "suggestions_by_sector": dict(sorted(suggested_by_sector.items())),
        "suggestions_by_score_band": dict(sorted(suggested_by_band.items())),
        "reviews": reviews,
        "acceptance_rate": round(accepted_total / reviews, 4) if reviews else None,
        "acceptance_by_sector": _rates(by_sector),
        "acceptance_by_score_band": _rates(by_band),
        "stage_durations": _stage_durations(session),
    }
