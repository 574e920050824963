"""The store follower's look back: a transaction that commits after a poll with an earlier `updated_at`
is still seen, nothing is handed on twice, and deletions are followed through their tombstones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.leadership import Leadership
from api.store_follower import StoreFollower
from core.taxonomy import OrgKind
from indexes.sync import IndexSync
from models.base import transaction
from models.listing_changes import ListingDeletion, forget_deletions
from models.listings import Offer, delete_listing
from tests.models.test_matches import make_offer, org

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands in for IndexSync: keeps what it was told."""

    def __init__(self) -> None:
        self.batches: list[set[tuple[str, int]]] = []

    def notify(self, changes: Iterable[tuple[str, int]]) -> None:
        self.batches.append(set(changes))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def stamp(factory: sessionmaker[Session], offer_id: int, at: datetime) -> None:
    with transaction(factory) as session:
        session.execute(update(Offer).where(Offer.id == offer_id).values(updated_at=at))


def test_a_late_commit_is_caught_once_and_deletions_are_followed(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        old = make_offer(session, institute, "Before the follower started").id
        first = make_offer(session, institute, "Written after the start").id
    stamp(factory, old, T0 - timedelta(minutes=5))
    stamp(factory, first, T0 + timedelta(seconds=0.5))
    recorder, clock = Recorder(), Clock()
    follower = StoreFollower(
        session_factory=factory,
        index_sync=cast(IndexSync, recorder),
        leadership=Leadership(tmp_path),
        since=T0,
        interval=0.25,
        overlap_seconds=5,
        clock=clock,
    )

    clock.now = T0 + timedelta(seconds=2)
    assert follower.poll_once() == {("offers", first)}
    # Looking again re-reads the overlap but hands on nothing it already saw.
    clock.now = T0 + timedelta(seconds=3)
    assert follower.poll_once() == set()

    # A transaction stamped its row before the last poll began but committed after it.
    with transaction(factory) as session:
        late = make_offer(session, institute, "Committed late").id
    stamp(factory, late, T0 + timedelta(seconds=1.5))
    clock.now = T0 + timedelta(seconds=4)
    assert follower.poll_once() == {("offers", late)}

    # A new version of a seen listing is handed on again; a deletion through its tombstone.
    stamp(factory, first, T0 + timedelta(seconds=4.2))
    with transaction(factory) as session:
        row = session.get(Offer, late)
        assert row is not None
        delete_listing(session=session, row=row)
    clock.now = T0 + timedelta(seconds=5)
    assert follower.poll_once() == {("offers", first), ("offers", late)}
    assert recorder.batches == [
        {("offers", first)},
        {("offers", late)},
        {("offers", first), ("offers", late)},
    ]

    # Tombstones no follower needs any more go.
    with transaction(factory) as session:
        assert forget_deletions(session=session, before=datetime.now(UTC) - timedelta(days=1)) == 0
        assert forget_deletions(session=session, before=datetime.now(UTC) + timedelta(minutes=1)) == 1
    with factory() as session:
        assert session.scalars(select(ListingDeletion)).all() == []
