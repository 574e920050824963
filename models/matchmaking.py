"""Matchmaking events: the event, its participants, meeting requests, exclusions and meetings.

An event is a day of one-to-one meetings at tables in slots of fixed length. Organizations
register as participants (with their listings, free slots and a cap), ask each other for
meetings, and the scheduler (matcher.schedule_solver) places requests and engine proposals.
Services over these tables live in models.meetings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.organizations import Organization, enum_column


class EventStatus(StrEnum):
    OPEN = "open"  # registration and requests; brokers may schedule
    PUBLISHED = "published"  # agendas sent; changes notify the participants they touch
    CLOSED = "closed"  # the day is over: brokers record outcomes


class RequestStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class MeetingSource(StrEnum):
    REQUEST = "request"
    PROPOSAL = "proposal"


class MeetingStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class MeetingOutcome(StrEnum):
    LED_TO_INTRODUCTION = "led_to_introduction"
    NO_INTRODUCTION = "no_introduction"
    NO_SHOW = "no_show"


class MatchmakingEvent(Base):
    __tablename__ = "matchmaking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column()
    slot_minutes: Mapped[int] = mapped_column()
    slots: Mapped[int] = mapped_column()
    tables: Mapped[int] = mapped_column()
    # Engine proposals below this calibrated match probability are not scheduled.
    min_score: Mapped[float] = mapped_column()
    status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus, 16), index=True)
    # Pair scores of the last scoring, [a, b, score, need_id, offer_id] per participant pair:
    # re-optimising after a cancellation reuses them instead of matching every listing again.
    pair_scores: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    # Bumped whenever published agendas change; part of the notifications' idempotency keys.
    schedule_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def slot_start(self, slot: int) -> datetime:
        """When `slot` (0-based) begins, in UTC (SQLite hands back naive datetimes)."""
        starts = self.starts_at if self.starts_at.tzinfo else self.starts_at.replace(tzinfo=UTC)
        return starts.astimezone(UTC) + timedelta(minutes=self.slot_minutes * slot)


class Participant(Base):
    """An organization registered for an event; slots are 0-based."""

    __tablename__ = "event_participants"
    __table_args__ = (UniqueConstraint("event_id", "organization_id", name="uq_event_participants_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    available_slots: Mapped[list[int]] = mapped_column(JSON, default=list)
    meeting_cap: Mapped[int] = mapped_column()
    offer_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    need_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")


class MeetingRequest(Base):
    __tablename__ = "meeting_requests"
    __table_args__ = (
        UniqueConstraint("event_id", "requester_id", "target_id", name="uq_meeting_requests_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"))
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, 16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()


class EventExclusion(Base):
    """Two organizations that must not meet at this event (competitors, a dispute)."""

    __tablename__ = "event_exclusions"
    __table_args__ = (
        UniqueConstraint(
            "event_id", "organization_id", "excluded_organization_id", name="uq_event_exclusions_pair"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    excluded_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Meeting(Base):
    """Participants a and b (a < b by id) at `table_number` in `slot`.

    `need_id`/`offer_id` are the listings behind the score: an introduction after the event
    moves that pair along the broker pipeline.
    """

    __tablename__ = "event_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"), index=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column()
    table_number: Mapped[int] = mapped_column()
    source: Mapped[MeetingSource] = mapped_column(enum_column(MeetingSource, 16))
    score: Mapped[float | None] = mapped_column()
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus, 16), index=True)
    a_confirmed: Mapped[bool] = mapped_column(default=False)
    b_confirmed: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[MeetingOutcome | None] = mapped_column(enum_column(MeetingOutcome, 32))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    a: Mapped[Participant] = relationship(foreign_keys=[a_id], lazy="joined")
    b: Mapped[Participant] = relationship(foreign_keys=[b_id], lazy="joined")
