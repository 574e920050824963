"""Stored links between listings: proposals, broker decisions, clusters, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.access import Viewer
from core.taxonomy import Role
from models.base import transaction
from models.errors import ConflictError, InvalidError, NotFoundError
from models.links import (
    FoundLink,
    LinkStatus,
    LinkType,
    ListingLink,
    clusters,
    decide_link,
    delete_links_of,
    get_link,
    links_of,
    list_links,
    record_links,
    withdraw_links,
)

BROKER = Viewer(role=Role.BROKER, api_key_id=7)


def found(other_id: int, score: float = 1.05, link_type: LinkType = LinkType.DUPLICATE) -> FoundLink:
    return FoundLink(other_id=other_id, link_type=link_type, score=score, reason={"summary": "test"})


def test_a_pair_is_stored_once_lower_id_first_whichever_side_finds_it(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        assert record_links(session=session, kind="offers", listing_id=5, found=[found(2)])["created"] == 1
    with transaction(factory) as session:
        counts = record_links(session=session, kind="offers", listing_id=2, found=[found(5, score=1.1)])
        assert counts == {"created": 0, "refreshed": 1, "dropped": 0, "kept": 0}
    with factory() as session:
        (link,) = session.scalars(select(ListingLink))
        assert (link.listing_a_id, link.listing_b_id, link.score) == (2, 5, 1.1)
        assert link.status == LinkStatus.PROPOSED
        # The same ids among needs are another pair.
        assert links_of(session=session, kind="needs", listing_id=2) == []


def test_proposals_no_longer_found_are_dropped_but_decisions_stay(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        record_links(session=session, kind="offers", listing_id=1, found=[found(2), found(3), found(4)])
        by_other = {link.other(1): link for link in links_of(session=session, kind="offers", listing_id=1)}
        decide_link(session=session, link=by_other[2], status=LinkStatus.CONFIRMED, actor=BROKER)
        decide_link(session=session, link=by_other[3], status=LinkStatus.DISMISSED, actor=BROKER)
    with transaction(factory) as session:
        counts = record_links(session=session, kind="offers", listing_id=1, found=[])
        assert counts["dropped"] == 1
        statuses = {
            link.other(1): link.status for link in links_of(session=session, kind="offers", listing_id=1)
        }
        assert statuses == {2: LinkStatus.CONFIRMED, 3: LinkStatus.DISMISSED}


def test_a_dismissed_link_is_never_proposed_again(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        record_links(session=session, kind="needs", listing_id=1, found=[found(2)])
        (link,) = links_of(session=session, kind="needs", listing_id=1)
        decide_link(session=session, link=link, status=LinkStatus.DISMISSED, actor=BROKER)
        assert link.decided_by == 7 and link.decided_at is not None
    with transaction(factory) as session:
        counts = record_links(session=session, kind="needs", listing_id=2, found=[found(1, score=2.0)])
        assert counts == {"created": 0, "refreshed": 0, "dropped": 0, "kept": 1}
        (link,) = links_of(session=session, kind="needs", listing_id=1)
        assert link.status == LinkStatus.DISMISSED and link.score == 1.05


def test_decisions_are_checked(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        record_links(session=session, kind="offers", listing_id=1, found=[found(2)])
        (link,) = links_of(session=session, kind="offers", listing_id=1)
        with pytest.raises(InvalidError):
            decide_link(session=session, link=link, status=LinkStatus.PROPOSED, actor=BROKER)
        decide_link(session=session, link=link, status=LinkStatus.CONFIRMED, actor=BROKER)
        with pytest.raises(ConflictError):
            decide_link(session=session, link=link, status=LinkStatus.CONFIRMED, actor=BROKER)
        # A broker may change their mind.
        decide_link(session=session, link=link, status=LinkStatus.DISMISSED, actor=BROKER)
        with pytest.raises(NotFoundError):
            get_link(session=session, link_id=link.id + 100)
        with pytest.raises(InvalidError):
            record_links(session=session, kind="matches", listing_id=1, found=[])


def test_withdrawing_keeps_decisions_and_deleting_removes_everything(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        record_links(session=session, kind="offers", listing_id=1, found=[found(2), found(3)])
        record_links(session=session, kind="offers", listing_id=4, found=[found(5)])
        link = next(
            link for link in links_of(session=session, kind="offers", listing_id=1) if link.other(1) == 3
        )
        decide_link(session=session, link=link, status=LinkStatus.DISMISSED, actor=BROKER)
    with transaction(factory) as session:
        assert withdraw_links(session=session, kind="offers", listing_id=1) == 1
        assert [link.other(1) for link in links_of(session=session, kind="offers", listing_id=1)] == [3]
        assert delete_links_of(session=session, kind="offers", listing_ids=[1]) == 1
        assert links_of(session=session, kind="offers", listing_id=1) == []
        assert len(links_of(session=session, kind="offers", listing_id=4)) == 1


def test_the_database_refuses_a_pair_stored_backwards(factory: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(
            ListingLink(
                kind="offers",
                listing_a_id=3,
                listing_b_id=2,
                link_type=LinkType.DUPLICATE,
                score=1.0,
                reason={},
                status=LinkStatus.PROPOSED,
            )
        )
        session.flush()


def test_the_broker_queue_filters_and_pages(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        record_links(
            session=session,
            kind="offers",
            listing_id=1,
            found=[found(2, 1.3), found(3, 1.2, LinkType.TRANSLATION), found(4, 1.1)],
        )
        record_links(session=session, kind="needs", listing_id=1, found=[found(2)])
    with factory() as session:
        rows, total = list_links(session=session, kind="offers", limit=2)
        assert total == 3 and [row.score for row in rows] == [1.3, 1.2]
        rows, total = list_links(session=session, link_types=[LinkType.TRANSLATION])
        assert total == 1 and rows[0].listing_b_id == 3
        rows, total = list_links(session=session, kind="offers", listing_id=4)
        assert total == 1
        _rows, total = list_links(session=session, statuses=[LinkStatus.CONFIRMED])
        assert total == 0


def test_clusters_join_chains_of_links() -> None:
    def link(a: int, b: int) -> ListingLink:
        return ListingLink(kind="offers", listing_a_id=a, listing_b_id=b)

    assert clusters([link(4, 9), link(2, 4), link(5, 6)]) == {2: 2, 4: 2, 9: 2, 5: 5, 6: 5}
    assert clusters([]) == {}
