"""Matches, their pipeline, history and outbox at the store level, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.access import Viewer
from core.taxonomy import Confidentiality, OrgKind, Region, Role
from models.base import transaction, utcnow
from models.errors import ConflictError, InvalidError
from models.listings import Need, Offer, create_listing, update_listing
from models.match_decisions import broker_decisions
from models.match_pairs import Scoring, new_pair
from models.match_pipeline import create_match, record_suggestion, transition
from models.match_queue import match_history
from models.match_stats import broker_stats
from models.matches import Match, MatchReason, MatchStatus
from models.organizations import create_organization
from models.outbox import (
    Notification,
    NotificationStatus,
    claim,
    due_ids,
    record_failure,
    retry_delay,
)

BROKER = Viewer(role=Role.BROKER, api_key_id=7)


def org(session: Session, slug: str, kind: OrgKind, webhook: bool = True) -> int:
    values = {
        "slug": slug,
        "name": slug.upper(),
        "kind": kind,
        "region": Region.HO_CHI_MINH_CITY,
        "webhook_url": f"http://127.0.0.1:1/{slug}" if webhook else None,
    }
    return create_organization(session=session, values=values).id


def listing_values(organization_id: int, title: str) -> dict:
    return {
        "organization_id": organization_id,
        "title": title,
        "description": f"{title} described",
        "sector": "smart_agriculture",
        "keywords": ["iot"],
        "transfer_types": ["licence"],
        "region": "can_tho",
        "language": "en",
        "status": "published",
    }


def make_need(
    session: Session, organization_id: int, title: str = "Irrigation need", **extra: object
) -> Need:
    return create_listing(
        session=session, model=Need, values={**listing_values(organization_id, title), "min_trl": 5, **extra}
    )


def make_offer(
    session: Session, organization_id: int, title: str = "Drip controller", **extra: object
) -> Offer:
    return create_listing(
        session=session,
        model=Offer,
        values={
            **listing_values(organization_id, title),
            "trl": 6,
            "ip_status": "patent",
            "price_min": 100,
            **extra,
        },
    )


def scoring(score: float = 0.8) -> Scoring:
    return Scoring(
        score=score,
        text_score=0.7,
        explanation={"matched_terms": ["iot"]},
        features=[0.7, 0.5, 0.6, 1, 1, 0.5, 1, 1, 1],
        feature_names=[
            "text",
            "lexical",
            "dense",
            "sector",
            "trl",
            "budget",
            "transfer",
            "region",
            "freshness",
        ],
        ranker_version="default-v1",
    )


@pytest.fixture
def pair(factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        return make_need(session, enterprise).id, make_offer(session, institute).id


def suggest(
    factory: sessionmaker[Session],
    need_id: int,
    offer_id: int,
    score: float = 0.8,
    strong: float | None = None,
) -> str:
    with transaction(factory) as session:
        return record_suggestion(
            session=session,
            need=session.get(Need, need_id),
            offer=session.get(Offer, offer_id),
            scoring=scoring(score),
            strong_threshold=strong,
        )


def test_pipeline_follows_the_transition_table_and_keeps_history(factory, pair) -> None:
    assert suggest(factory, *pair) == "created"
    with transaction(factory) as session:
        match = the_match(session)
        with pytest.raises(ConflictError, match="Allowed next: accepted, rejected"):
            transition(session=session, match=match, to=MatchStatus.DEAL, actor=BROKER)
        for step in (MatchStatus.ACCEPTED, MatchStatus.INTRODUCED, MatchStatus.NEGOTIATING, MatchStatus.DEAL):
            transition(session=session, match=match, to=step, actor=BROKER, note=f"to {step}")
        with pytest.raises(ConflictError, match="none \\(the match is closed\\)"):
            transition(
                session=session, match=match, to=MatchStatus.LOST, actor=BROKER, reason=MatchReason.TIMING
            )
        history = match_history(session=session, match_id=match.id)
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, "suggested"),
        ("suggested", "accepted"),
        ("accepted", "introduced"),
        ("introduced", "negotiating"),
        ("negotiating", "deal"),
    ]
    assert history[0].actor_role == "system" and history[0].actor_api_key_id is None
    assert (history[1].actor_role, history[1].actor_api_key_id, history[1].note) == (
        "broker",
        7,
        "to accepted",
    )


def the_match(session: Session, need_id: int | None = None) -> Match:
    query = select(Match) if need_id is None else select(Match).where(Match.need_id == need_id)
    return session.scalars(query).unique().one()


def test_reasons_are_checked(factory, pair) -> None:
    suggest(factory, *pair)
    with transaction(factory) as session:
        match = the_match(session)
        with pytest.raises(InvalidError, match="reason is one of not_relevant"):
            transition(session=session, match=match, to=MatchStatus.REJECTED, actor=BROKER)
        with pytest.raises(InvalidError, match="not a reason for rejected"):
            transition(
                session=session,
                match=match,
                to=MatchStatus.REJECTED,
                actor=BROKER,
                reason=MatchReason.NO_RESPONSE,
            )
        with pytest.raises(InvalidError, match="needs a note"):
            transition(
                session=session, match=match, to=MatchStatus.REJECTED, actor=BROKER, reason=MatchReason.OTHER
            )
        with pytest.raises(InvalidError, match="only when"):
            transition(
                session=session,
                match=match,
                to=MatchStatus.ACCEPTED,
                actor=BROKER,
                reason=MatchReason.DUPLICATE,
            )
        transition(
            session=session,
            match=match,
            to=MatchStatus.REJECTED,
            actor=BROKER,
            reason=MatchReason.OTHER,
            note="the institute closed the lab",
        )
        assert match.status == MatchStatus.REJECTED


def test_introduction_writes_one_notification_per_side_in_the_same_transaction(factory, pair) -> None:
    suggest(factory, *pair)
    with transaction(factory) as session:
        match = the_match(session)
        transition(session=session, match=match, to=MatchStatus.ACCEPTED, actor=BROKER)
    with factory() as session:
        match = the_match(session)
        transition(session=session, match=match, to=MatchStatus.INTRODUCED, actor=BROKER)
        assert session.scalar(select(func.count(Notification.id))) == 2
        session.rollback()  # the status change and its alerts go together
    with transaction(factory) as session:
        assert session.scalar(select(func.count(Notification.id))) == 0
        match = the_match(session)
        assert match.status == MatchStatus.ACCEPTED
        transition(session=session, match=match, to=MatchStatus.INTRODUCED, actor=BROKER, note="call them")
    with factory() as session:
        sent = session.scalars(select(Notification).order_by(Notification.organization_id)).unique().all()
    assert [n.event for n in sent] == ["match.introduced"] * 2
    assert {n.payload["counterpart"]["kind"] for n in sent} == {"need", "offer"}
    assert len({n.idempotency_key for n in sent}) == 2
    assert all(n.status == NotificationStatus.PENDING and n.payload["note"] == "call them" for n in sent)


def test_decided_pairs_return_only_after_a_material_change(factory, pair) -> None:
    need_id, offer_id = pair
    suggest(factory, need_id, offer_id)
    assert suggest(factory, need_id, offer_id, score=0.9) == "refreshed"
    with transaction(factory) as session:
        match = the_match(session)
        assert match.score == 0.9
        transition(
            session=session,
            match=match,
            to=MatchStatus.REJECTED,
            actor=BROKER,
            reason=MatchReason.PRICE_BUDGET,
        )
    assert suggest(factory, need_id, offer_id) == "kept"
    with transaction(factory) as session:  # the region is not material
        update_listing(session=session, row=session.get(Offer, offer_id), values={"region": "ha_noi"})
    assert suggest(factory, need_id, offer_id) == "kept"
    with transaction(factory) as session:
        update_listing(session=session, row=session.get(Offer, offer_id), values={"price_min": 50})
    assert suggest(factory, need_id, offer_id) == "reopened"
    with factory() as session:
        match = the_match(session)
        history = match_history(session=session, match_id=match.id)
    assert match.status == MatchStatus.SUGGESTED
    assert (history[-1].from_status, history[-1].reason) == ("rejected", "listing_changed")


def test_strong_suggestions_alert_only_those_who_may_see_the_other_listing(factory) -> None:
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE, webhook=False)
        secret = make_need(session, enterprise, "Secret need", confidentiality=Confidentiality.BROKERS_ONLY)
        public = make_need(session, enterprise, "Public need")
        offer = make_offer(session, institute)
        ids = secret.id, public.id, offer.id
    assert suggest(factory, ids[0], ids[2], score=0.95, strong=0.9) == "created"
    assert suggest(factory, ids[1], ids[2], score=0.85, strong=0.9) == "created"  # not strong: no alert
    with factory() as session:
        sent = session.scalars(select(Notification)).unique().all()
    # Only the need's owner hears of the brokers-only need; the institute is not told about it.
    assert [(n.organization_id, n.event) for n in sent] == [(enterprise, "match.suggested")]
    assert suggest(factory, ids[1], ids[2], score=0.99, strong=0.9) == "refreshed"
    with factory() as session:  # alerts are for new suggestions only
        assert session.scalar(select(func.count(Notification.id))) == 1


def test_broker_added_matches_obey_the_hard_rules(factory, pair) -> None:
    need_id, offer_id = pair
    with transaction(factory) as session:
        own_offer = make_offer(session, session.get(Need, need_id).organization_id, "Own offer")
        with pytest.raises(InvalidError, match="itself"):
            new_pair(session=session, need_id=need_id, offer_id=own_offer.id)
        with pytest.raises(InvalidError, match="does not exist"):
            new_pair(session=session, need_id=need_id, offer_id=9999)
        need, offer = new_pair(session=session, need_id=need_id, offer_id=offer_id)
        match = create_match(
            session=session, need=need, offer=offer, actor=BROKER, note="met at the fair", scoring=None
        )
        assert (match.status, match.source, match.score) == ("accepted", "broker", None)
    with transaction(factory) as session, pytest.raises(ConflictError, match="already match"):
        new_pair(session=session, need_id=need_id, offer_id=offer_id)


def test_outbox_claims_back_off_and_give_up(factory, pair) -> None:
    assert [retry_delay(attempts=n, base_seconds=2, max_seconds=10) for n in (1, 2, 3, 4, 5)] == [
        2,
        4,
        8,
        10,
        10,
    ]
    suggest(factory, *pair, strong=0.5)
    now = utcnow()
    with transaction(factory) as session:
        first = due_ids(session=session, now=now)[0]
        claimed = claim(session=session, notification_id=first, now=now, lease_seconds=30)
        assert claimed is not None and claimed.attempts == 1
        # A second deliverer cannot take it while the lease runs...
        assert claim(session=session, notification_id=first, now=now, lease_seconds=30) is None
        assert first not in due_ids(session=session, now=now)
    # ...but can once it lapsed (the first one died).
    later = now + timedelta(seconds=31)
    with transaction(factory) as session:
        again = claim(session=session, notification_id=first, now=later, lease_seconds=30)
        assert again is not None and again.attempts == 2
        record_failure(
            session=session,
            notification=again,
            error="HTTP 500",
            status_code=500,
            now=later,
            max_attempts=3,
            base_delay=2,
            max_delay=60,
        )
        assert again.status == NotificationStatus.PENDING
        assert again.next_attempt_at == later + timedelta(seconds=4)
        again.attempts = 3
        record_failure(
            session=session,
            notification=again,
            error="HTTP 500",
            status_code=500,
            now=later,
            max_attempts=3,
            base_delay=2,
            max_delay=60,
        )
        assert again.status == NotificationStatus.FAILED


def test_decisions_become_weighted_training_samples_and_stats(factory) -> None:
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        needs = [make_need(session, enterprise, f"Need {i}").id for i in range(4)]
        offer = make_offer(session, institute).id
    outcomes = [
        (MatchStatus.ACCEPTED, None),
        (MatchStatus.REJECTED, MatchReason.NOT_RELEVANT),
        (MatchStatus.REJECTED, MatchReason.DUPLICATE),
        (MatchStatus.SUGGESTED, None),
    ]
    for need_id, (status, reason) in zip(needs, outcomes, strict=True):
        suggest(factory, need_id, offer, score=0.72)
        if status != MatchStatus.SUGGESTED:
            with transaction(factory) as session:
                match = the_match(session, need_id)
                transition(session=session, match=match, to=status, actor=BROKER, reason=reason)
    with factory() as session:
        decisions = broker_decisions(session=session)
        stats = broker_stats(session=session)
    assert sorted((d.label, d.weight) for d in decisions) == [
        (0, 1.0),
        (1, 1.0),
    ]  # the duplicate says nothing
    assert (stats["suggestions"], stats["reviews"], stats["acceptance_rate"]) == (4, 3, 0.3333)
    assert stats["acceptance_by_sector"]["smart_agriculture"] == {"reviews": 3, "accepted": 1, "rate": 0.3333}
    assert stats["acceptance_by_score_band"]["0.7-0.8"]["reviews"] == 3
    assert stats["stage_durations"]["suggested"]["count"] == 3
    assert stats["by_status"]["rejected"] == 2
    assert stats["suggestions_by_sector"] == {"smart_agriculture": 4}
    assert stats["suggestions_by_score_band"] == {"0.7-0.8": 4}
    assert (stats["reached"]["suggested"], stats["reached"]["accepted"], stats["reached"]["deal"]) == (4, 1, 0)
