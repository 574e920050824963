"""Tells subscribers which listings changed, once their transaction has committed.

Indexes and the suggestion worker follow the store through this feed, whoever wrote
(API, import, CLI), and never see a change that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from models.listings import Need, Offer

ListingKind = Literal["offers", "needs"]
Subscriber = Callable[[set[tuple[ListingKind, int]]], None]

_PENDING = "listing_changes"


def _kind(instance: Any) -> ListingKind | None:
    if isinstance(instance, Offer):
        return "offers"
    if isinstance(instance, Need):
        return "needs"
    return None


class ListingChangeFeed:
    """Collects changed listing ids per session and hands them to subscribers after commit."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def attach(self, factory: sessionmaker[Session]) -> None:
        event.listen(factory, "after_flush", self._collect)
        event.listen(factory, "after_commit", self._publish)
        event.listen(factory, "after_soft_rollback", self._discard)

    @staticmethod
    def _collect(session: Session, _context: Any) -> None:
        pending: set[tuple[ListingKind, int]] = session.info.setdefault(_PENDING, set())
        for instance in (*session.new, *session.dirty, *session.deleted):
            kind = _kind(instance)
            if kind is not None and instance.id is not None:
                pending.add((kind, instance.id))

    def _publish(self, session: Session) -> None:
        changes = session.info.pop(_PENDING, set())
        if changes:
            for subscriber in self._subscribers:
                subscriber(changes)

    @staticmethod
    def _discard(session: Session, _transaction: Any) -> None:
        session.info.pop(_PENDING, None)
