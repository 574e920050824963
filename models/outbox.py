"""The outbox: notifications written in the transaction that caused them, delivered later by a worker.

Writing the notification with the status change means neither can exist without the
other; the deliverer marks one delivered only after the receiver answered 2xx, so a
crash at any point leaves it pending and it is sent again (same idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, event, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker

from models.base import Base, utcnow
from models.organizations import Organization, enum_column

_WRITTEN = "outbox_written"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Gave up after webhook_max_attempts; staff see these in the notification list.
    FAILED = "failed"
    # The organization had no webhook_url when the notification was written.
    SKIPPED = "skipped"


class Notification(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Kept when the match goes (a listing deleted): a notification already owed is still sent.
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[NotificationStatus] = mapped_column(enum_column(NotificationStatus, 16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()

    organization: Mapped[Organization] = relationship(lazy="joined")


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def enqueue(
    *,
    session: Session,
    organization: Organization,
    event: str,
    payload: dict[str, Any],
    idempotency_key: str,
    match_id: int | None = None,
) -> Notification:
    """Add a notification to the caller's transaction; it is sent only if that transaction commits."""
    notification = Notification(
        organization_id=organization.id,
        match_id=match_id,
        event=event,
        payload=payload,
        idempotency_key=idempotency_key,
        status=NotificationStatus.PENDING if organization.webhook_url else NotificationStatus.SKIPPED,
        last_error=None if organization.webhook_url else "the organization has no webhook_url",
    )
    session.add(notification)
    session.flush()
    session.info[_WRITTEN] = True
    return notification


def watch_outbox(factory: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call `wake` after any commit that wrote a notification, so delivery does not wait for the next poll."""

    def _after_commit(session: Session) -> None:
        if session.info.pop(_WRITTEN, False):
            wake()

    def _after_rollback(session: Session, _transaction: Any) -> None:
        session.info.pop(_WRITTEN, None)

    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", _after_rollback)


def list_notifications(
    *,
    session: Session,
    status: NotificationStatus | None = None,
    organization_id: int | None = None,
    match_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Notification], int]:
    query = select(Notification)
    if status is not None:
        query = query.where(Notification.status == status)
    if organization_id is not None:
        query = query.where(Notification.organization_id == organization_id)
    if match_id is not None:
        query = query.where(Notification.match_id == match_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Notification.id.desc()).offset(offset).limit(limit)).unique().all()
    return list(rows), total


def due_ids(*, session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Pending notifications whose next attempt is due, oldest first."""
    query = (
        select(Notification.id)
        .where(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim(
    *, session: Session, notification_id: int, now: datetime, lease_seconds: float
) -> Notification | None:
    """Take one due notification for an attempt, or None if another deliverer took it first.

    The claim pushes the next attempt past the lease, so a deliverer killed mid-request
    leaves the notification to be retried once the lease ends; counting the attempt here
    means a notification that crashes its deliverer cannot be retried forever.
    """
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        .values(attempts=Notification.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Notification, notification_id, populate_existing=True)


def retry_delay(*, attempts: int, base_seconds: float, max_seconds: float) -> float:
    """Exponential backoff: base, 2×base, 4×base, … after the 1st, 2nd, 3rd failed attempt, capped."""
    return float(min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def record_delivery(*, session: Session, notification: Notification, status_code: int, now: datetime) -> None:
    notification.status = NotificationStatus.DELIVERED
    notification.last_status_code = status_code
    notification.last_error = None
    notification.delivered_at = now
    session.flush()


def record_failure(
    *,
    session: Session,
    notification: Notification,
    error: str,
    status_code: int | None,
    now: datetime,
    max_attempts: int,
    base_delay: float,
    max_delay: float,
) -> None:
    """Schedule the next attempt with backoff, or give up after `max_attempts`."""
    notification.last_status_code = status_code
    notification.last_error = error[:2000]
    if notification.attempts >= max_attempts:
        notification.status = NotificationStatus.FAILED
    else:
        delay = retry_delay(attempts=notification.attempts, base_seconds=base_delay, max_seconds=max_delay)
        notification.next_attempt_at = now + timedelta(seconds=delay)
    session.flush()


def count_by_status(*, session: Session) -> dict[str, int]:
    rows = session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()
    return {status.value: count for status, count in rows}
