"""Listings per week for the dashboard, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from core.taxonomy import OrgKind
from models.base import transaction
from models.listing_stats import listings_by_week
from models.listings import Need, Offer
from tests.models.test_matches import make_need, make_offer, org

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


def test_listings_are_counted_in_the_week_they_were_created(factory) -> None:
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        offers = [make_offer(session, institute, f"Offer {i}").id for i in range(3)]
        need = make_need(session, enterprise).id
        old_need = make_need(session, enterprise, "Old need").id
        # Thursday and Monday of this week, Sunday of the last, and 20 weeks ago (outside the chart).
        created = {
            offers[0]: NOW,
            offers[1]: datetime(2026, 11, 23, 0, 30),
            offers[2]: datetime(2026, 11, 22, 23, 0),
        }
        for offer_id, when in created.items():
            session.execute(update(Offer).where(Offer.id == offer_id).values(created_at=when))
        session.execute(update(Need).where(Need.id == need).values(created_at=NOW - timedelta(days=1)))
        session.execute(update(Need).where(Need.id == old_need).values(created_at=NOW - timedelta(weeks=20)))
    with factory() as session:
        weeks = listings_by_week(session=session, weeks=4, now=NOW)
    assert [week["week"] for week in weeks] == [
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
    ]
    assert [(week["offers"], week["needs"]) for week in weeks] == [(0, 0), (0, 0), (1, 0), (2, 1)]
