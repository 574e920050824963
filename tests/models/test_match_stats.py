"""Broker statistics grouped in SQL: the same figures on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.taxonomy import OrgKind
from models.base import transaction
from models.match_pipeline import transition
from models.match_stats import broker_stats, score_band
from models.matches import MatchEvent, MatchReason, MatchStatus
from tests.models.test_matches import BROKER, make_need, make_offer, org, suggest, the_match

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_score_bands_are_tenths_with_the_top_one_closed() -> None:
    assert [score_band(s) for s in (None, 0.0, 0.3, 0.7, 0.95, 1.0)] == [
        "unscored",
        "0.0-0.1",
        "0.3-0.4",
        "0.7-0.8",
        "0.9-1.0",
        "0.9-1.0",
    ]


def test_stats_count_group_and_time_stages_in_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        offer = make_offer(session, org(session, "inst", OrgKind.RESEARCH_INSTITUTE)).id
        sectors = ["ai", "ai", "fintech", "fintech"]
        needs = [make_need(session, enterprise, f"Need {i}", sector=s).id for i, s in enumerate(sectors)]
    # Scores on band edges (0.3 * 10 is 3.0000000000000004 in floating point, 1.0 is in the top band).
    scores = [0.3, 0.75, 1.0, 0.05]
    # Each match's steps, and the hours after the previous step each happened.
    steps: list[list[tuple[MatchStatus, MatchReason | None, float]]] = [
        [(MatchStatus.REJECTED, MatchReason.NOT_RELEVANT, 1)],
        [(MatchStatus.ACCEPTED, None, 2), (MatchStatus.INTRODUCED, None, 3)],
        [(MatchStatus.ACCEPTED, None, 4)],
        [],
    ]
    for need_id, score, path in zip(needs, scores, steps, strict=True):
        suggest(factory, need_id, offer, score=score)
        with transaction(factory) as session:
            for status, reason, _hours in path:
                transition(
                    session=session, match=the_match(session, need_id), to=status, actor=BROKER, reason=reason
                )
    with transaction(factory) as session:
        for need_id, path in zip(needs, steps, strict=True):
            match_id = the_match(session, need_id).id
            events = session.scalars(select(MatchEvent.id).where(MatchEvent.match_id == match_id)).all()
            assert len(events) == len(path) + 1
            at = START
            for event_id, hours in zip(events, [0.0, *(h for _, _, h in path)], strict=True):
                at += timedelta(hours=hours)
                session.execute(update(MatchEvent).where(MatchEvent.id == event_id).values(created_at=at))
    with factory() as session:
        stats = broker_stats(session=session)
    assert stats["matches"] == 4
    assert {k: v for k, v in stats["by_status"].items() if v} == {
        "suggested": 1,
        "rejected": 1,
        "introduced": 1,
        "accepted": 1,
    }
    assert {k: v for k, v in stats["reached"].items() if v} == {
        "suggested": 4,
        "accepted": 2,
        "rejected": 1,
        "introduced": 1,
    }
    assert stats["suggestions"] == 4
    assert stats["suggestions_by_sector"] == {"ai": 2, "fintech": 2}
    assert stats["suggestions_by_score_band"] == {"0.0-0.1": 1, "0.3-0.4": 1, "0.7-0.8": 1, "0.9-1.0": 1}
    assert (stats["reviews"], stats["acceptance_rate"]) == (3, 0.6667)
    assert stats["acceptance_by_sector"] == {
        "ai": {"reviews": 2, "accepted": 1, "rate": 0.5},
        "fintech": {"reviews": 1, "accepted": 1, "rate": 1.0},
    }
    assert stats["acceptance_by_score_band"] == {
        "0.3-0.4": {"reviews": 1, "accepted": 0, "rate": 0.0},
        "0.7-0.8": {"reviews": 1, "accepted": 1, "rate": 1.0},
        "0.9-1.0": {"reviews": 1, "accepted": 1, "rate": 1.0},
    }
    # Suggested for 1, 2 and 4 hours (the fourth match is still suggested: not counted); accepted for 3.
    assert stats["stage_durations"] == {
        "accepted": {"count": 1, "mean_hours": 3.0, "median_hours": 3.0},
        "suggested": {"count": 3, "mean_hours": 2.333, "median_hours": 2.0},
    }


def test_stats_of_an_empty_exchange(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        stats = broker_stats(session=session)
    assert (stats["matches"], stats["suggestions"], stats["reviews"], stats["acceptance_rate"]) == (
        0,
        0,
        0,
        None,
    )
    assert stats["stage_durations"] == {} and set(stats["by_status"].values()) == {0}
