"""Listings over time, for the dashboard: how many offers and needs were posted each week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.listings import Need, Offer

WEEKS_SHOWN = 12


def _day(value: Any) -> date:
    # SQLite's date() gives text, PostgreSQL's a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def listings_by_week(
    *, session: Session, weeks: int = WEEKS_SHOWN, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Offers and needs created in each of the last `weeks` weeks (Monday to Sunday, UTC), oldest first.

    Counted by day in the database (one row per day, whatever the number of listings), weeks here.
    """
    today = (now or utcnow()).date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    counts = {first + timedelta(weeks=i): {"offers": 0, "needs": 0} for i in range(weeks)}
    for key, model in (("offers", Offer), ("needs", Need)):
        day = func.date(model.created_at)
        rows = session.execute(
            select(day, func.count())
            .where(model.created_at >= datetime.combine(first, datetime.min.time()))
            .group_by(day)
        ).all()
        for value, count in rows:
            created = _day(value)
            week = created - timedelta(days=created.weekday())
            if week in counts:
                counts[week][key] += count
    return [{"week": week, **values} for week, values in counts.items()]
