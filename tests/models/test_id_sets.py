"""Id sets past psycopg's 65,535-parameter limit, on SQLite and PostgreSQL (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, event, insert, literal, select, true
from sqlalchemy.orm import Session, sessionmaker

from core.access import Viewer
from core.taxonomy import OrgKind, Role
from models.base import transaction
from models.id_sets import id_in
from models.introductions import pair_statuses
from models.json_lists import json_list_has_any
from models.links import links_among
from models.listings import ListingFilters, Need, Offer, get_listings, visible_ids
from models.match_decisions import broker_decisions
from models.matches import Match, MatchEvent, MatchReason, MatchSource, MatchStatus
from tests.models.test_matches import listing_values, make_need, make_offer, org

# Past psycopg's limit of 65,535 parameters in one statement; most ids need not exist as rows.
MANY = 70_000
STAFF = Viewer(role=Role.BROKER)


def test_id_in_matches_exactly_the_given_ids_however_many(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        offers = [make_offer(session, institute, f"Offer {i}").id for i in range(3)]
    wanted = [*range(10**6, 10**6 + MANY), offers[0], offers[2]]
    with factory() as session:
        assert sorted(session.scalars(select(Offer.id).where(id_in(Offer.id, wanted)))) == [
            offers[0],
            offers[2],
        ]
        assert list(session.scalars(select(Offer.id).where(~id_in(Offer.id, wanted)))) == [offers[1]]
        assert list(session.scalars(select(Offer.id).where(id_in(Offer.id, [])))) == []
        # Two different sets through the same statement shape: no cached first set.
        assert list(session.scalars(select(Offer.id).where(id_in(Offer.id, [offers[1]])))) == [offers[1]]
        assert set(get_listings(session=session, model=Offer, ids=wanted)) == {offers[0], offers[2]}
        excluded = ListingFilters(exclude_ids=tuple(wanted))
        assert visible_ids(session=session, model=Offer, filters=excluded, viewer=STAFF) == {offers[1]}


def test_pair_and_link_lookups_take_more_ids_than_a_statement_has_parameters(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        need = make_need(session, org(session, "ent", OrgKind.ENTERPRISE))
        offer = make_offer(session, org(session, "inst", OrgKind.RESEARCH_INSTITUTE))
        session.add(
            Match(
                need_id=need.id,
                offer_id=offer.id,
                status=MatchStatus.SUGGESTED,
                source=MatchSource.ENGINE,
                fingerprint="f",
            )
        )
    # As the listing pages call it: one listing against many on the other side.
    need_ids = [need.id, *range(10**6, 10**6 + MANY)]
    offer_ids = [offer.id, *range(10**6, 10**6 + MANY)]
    with factory() as session:
        found = pair_statuses(session=session, need_ids=[need.id], offer_ids=offer_ids)
        assert set(found) == {(need.id, offer.id)}
        found = pair_statuses(session=session, need_ids=need_ids, offer_ids=[offer.id])
        assert set(found) == {(need.id, offer.id)}
        assert links_among(session=session, kind="offers", ids=offer_ids, statuses=["proposed"]) == []


def test_training_samples_past_the_parameter_limit(factory: sessionmaker[Session]) -> None:
    """train-ranker reads every decision: 66,049 of them, their reasons joined in SQL."""
    side = 257  # 257 needs x 257 offers = 66,049 decided matches
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        need_values = {**listing_values(enterprise, "Need"), "min_trl": 5}
        offer_values = {**listing_values(institute, "Offer"), "trl": 6, "ip_status": "patent"}
        session.execute(insert(Need), [{**need_values, "external_ref": f"n{i}"} for i in range(side)])
        session.execute(insert(Offer), [{**offer_values, "external_ref": f"o{i}"} for i in range(side)])
        # Every need x every offer in one INSERT ... SELECT: 66,049 rows without 66,049 round trips.
        pairs = select(
            Need.id,
            Offer.id,
            literal(MatchStatus.ACCEPTED, Match.status.type),
            literal(MatchSource.ENGINE, Match.source.type),
            literal([0.5], JSON),
            literal(["text"], JSON),
            literal("f"),
        ).join(Offer, true())
        columns = ["need_id", "offer_id", "status", "source", "features", "feature_names", "fingerprint"]
        session.execute(insert(Match).from_select(columns, pairs))
        # The first match ends rejected as not relevant, which its last event says.
        first = session.scalar(select(Match).order_by(Match.id).limit(1))
        assert first is not None
        first.status = MatchStatus.REJECTED
        session.add(
            MatchEvent(
                match_id=first.id,
                from_status=MatchStatus.SUGGESTED,
                to_status=MatchStatus.REJECTED,
                reason=MatchReason.NOT_RELEVANT,
                actor_role="broker",
            )
        )
    with factory() as session:
        decisions = broker_decisions(session=session)
    assert len(decisions) == side * side > 65_535
    assert decisions[0].match_id == first.id and decisions[0].label == 0
    assert sum(d.label for d in decisions) == side * side - 1


@contextmanager
def compiled_statements(session: Session) -> Iterator[list[object]]:
    """The compiled form of each statement the session executes inside the block, in order."""
    compiled: list[object] = []

    def remember(
        _conn: object, _cursor: object, _sql: str, _params: object, context: Any, _many: bool
    ) -> None:
        compiled.append(context.compiled)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield compiled
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def test_id_in_statements_are_compiled_once_and_bind_each_calls_ids(factory: sessionmaker[Session]) -> None:
    """The ids are a bound value: the second statement reuses the first's compiled form, yet finds its
    own ids (a cached statement carrying the first call's ids would find the first set again)."""
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        offers = [make_offer(session, institute, f"Offer {i}").id for i in range(5)]
    with factory() as session, compiled_statements(session) as compiled:
        first = set(session.scalars(select(Offer.id).where(id_in(Offer.id, offers[:2]))))
        second = set(session.scalars(select(Offer.id).where(id_in(Offer.id, offers[2:]))))
    assert (first, second) == (set(offers[:2]), set(offers[2:]))
    assert len(compiled) == 2 and compiled[0] is compiled[1]


def test_transfer_type_filters_are_compiled_once_and_bind_each_calls_values(
    factory: sessionmaker[Session],
) -> None:
    """A filtered list's statement is compiled once for its shape, yet each call finds its own values."""
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        licence = make_offer(session, institute, "Licence offer")
        licence.transfer_types = ["licence"]
        both = make_offer(session, institute, "Both offer")
        both.transfer_types = ["assignment", "consultancy"]
        session.flush()
        ids = (licence.id, both.id)
    with factory() as session, compiled_statements(session) as compiled:
        found = [
            set(session.scalars(select(Offer.id).where(json_list_has_any(Offer.transfer_types, wanted))))
            for wanted in (["licence"], ["consultancy", "joint_venture"], ["licence", "assignment"])
        ]
    assert found == [{ids[0]}, {ids[1]}, set(ids)]
    assert len(compiled) == 3 and compiled[0] is compiled[1] is compiled[2]
