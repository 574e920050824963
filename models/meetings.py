"""The stored schedule of a matchmaking event: meetings, agendas, confirmations and cancellations.

The scheduler is pure (matcher.schedule); this module turns the store into its Problem and
its answer back into meetings, and tells participants when a published agenda changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.access import Viewer, can_write
from matcher import schedule as plan
from models import outbox
from models.base import utcnow
from models.errors import ConflictError, ForbiddenError, NotFoundError
from models.event_participants import check_open, excluded_pairs, participants_of
from models.matchmaking import (
    EventStatus,
    MatchmakingEvent,
    Meeting,
    MeetingSource,
    MeetingStatus,
    Participant,
    RequestStatus,
)
from models.meeting_requests import requests_of


def meetings_of(*, session: Session, event_id: int, participant_id: int | None = None) -> list[Meeting]:
    query = select(Meeting).where(Meeting.event_id == event_id)
    if participant_id is not None:
        query = query.where(or_(Meeting.a_id == participant_id, Meeting.b_id == participant_id))
    return list(session.scalars(query.order_by(Meeting.slot, Meeting.table_number, Meeting.id)).unique())


def get_meeting(*, session: Session, event_id: int, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.event_id != event_id:
        raise NotFoundError(f"Event {event_id} has no meeting {meeting_id}.")
    return meeting


@dataclass(frozen=True)
class PairScore:
    """The engine's best score between two participants, and the listings it came from."""

    a: int
    b: int
    score: float
    need_id: int | None
    offer_id: int | None


def stored_scores(event: MatchmakingEvent) -> dict[tuple[int, int], PairScore]:
    return {
        plan.pair_of(row[0], row[1]): PairScore(*plan.pair_of(row[0], row[1]), *row[2:])
        for row in event.pair_scores or ()
    }


def build_problem(*, session: Session, event: MatchmakingEvent) -> plan.Problem:
    """The event as the scheduler sees it: confirmed meetings fixed, proposed ones as the previous plan.

    Candidates: accepted requests, and stored pair scores at or above the event's min_score;
    declined requests and cancelled meetings take their pair out.
    """
    participants = participants_of(session=session, event_id=event.id)
    meetings = meetings_of(session=session, event_id=event.id)
    requests = requests_of(session=session, event_id=event.id)
    blocked = {plan.pair_of(m.a_id, m.b_id) for m in meetings if m.status == MeetingStatus.CANCELLED}
    blocked |= {
        plan.pair_of(r.requester_id, r.target_id) for r in requests if r.status == RequestStatus.DECLINED
    }
    scores = stored_scores(event)
    accepted = {
        plan.pair_of(r.requester_id, r.target_id) for r in requests if r.status == RequestStatus.ACCEPTED
    }
    candidates = [
        plan.Candidate(*pair, scores[pair].score if pair in scores else 0.0, requested=True)
        for pair in accepted - blocked
    ]
    candidates += [
        plan.Candidate(*pair, score.score)
        for pair, score in scores.items()
        if pair not in accepted and pair not in blocked and score.score >= event.min_score
    ]

    def placed(status: MeetingStatus) -> tuple[plan.Meeting, ...]:
        return tuple(
            plan.meeting(m.a_id, m.b_id, m.slot, m.table_number) for m in meetings if m.status == status
        )

    return plan.Problem(
        slots=event.slots,
        tables=event.tables,
        participants=tuple(
            plan.Participant(p.id, p.organization_id, p.meeting_cap, frozenset(p.available_slots))
            for p in participants
        ),
        candidates=tuple(candidates),
        excluded=frozenset(excluded_pairs(session=session, event_id=event.id, participants=participants)),
        fixed=placed(MeetingStatus.CONFIRMED),
        previous=placed(MeetingStatus.PROPOSED),
    )


def _agenda_key(meetings: Iterable[Meeting], participant_id: int) -> set[tuple[int, int, int]]:
    return {
        (m.slot, m.table_number, m.b_id if m.a_id == participant_id else m.a_id)
        for m in meetings
        if m.status != MeetingStatus.CANCELLED and participant_id in (m.a_id, m.b_id)
    }


def apply_schedule(
    *, session: Session, event: MatchmakingEvent, problem: plan.Problem, scheduled: Sequence[plan.Meeting]
) -> set[int]:
    """Store a schedule: proposed meetings are replaced, confirmed ones untouched; returns the ids
    of participants whose agenda changed (and tells them, if the event is published)."""
    existing = meetings_of(session=session, event_id=event.id)
    before = {p.id: _agenda_key(existing, p.id) for p in problem.participants}
    proposed = {plan.pair_of(m.a_id, m.b_id): m for m in existing if m.status == MeetingStatus.PROPOSED}
    fixed = {m.pair for m in problem.fixed}
    requested = {c.pair for c in problem.candidates if c.requested}
    scores = stored_scores(event)
    now = utcnow()
    for placed in scheduled:
        if placed.pair in fixed:
            continue
        row = proposed.pop(placed.pair, None)
        if row is None:
            row = Meeting(event_id=event.id, a_id=placed.a, b_id=placed.b, status=MeetingStatus.PROPOSED)
            row.created_at = now
            session.add(row)
        # A kept meeting takes the latest scores and source too (a request may have been accepted since).
        score = scores.get(placed.pair)
        row.source = MeetingSource.REQUEST if placed.pair in requested else MeetingSource.PROPOSAL
        row.score = score.score if score else None
        row.need_id = score.need_id if score else None
        row.offer_id = score.offer_id if score else None
        row.slot, row.table_number, row.updated_at = placed.slot, placed.table, now
    for dropped in proposed.values():
        session.delete(dropped)
    session.flush()
    after = meetings_of(session=session, event_id=event.id)
    changed = {pid for pid, agenda in before.items() if agenda != _agenda_key(after, pid)}
    if event.status == EventStatus.PUBLISHED and changed:
        notify(session=session, event=event, participant_ids=changed, kind="event.agenda_changed")
    return changed


def notify(*, session: Session, event: MatchmakingEvent, participant_ids: Iterable[int], kind: str) -> int:
    """One outbox notification per participant with its agenda; keyed by the schedule version."""
    event.schedule_version += 1
    meetings = meetings_of(session=session, event_id=event.id)
    sent = 0
    for participant in participants_of(session=session, event_id=event.id):
        if participant.id not in set(participant_ids):
            continue
        payload = {
            "event": kind,
            "occurred_at": utcnow().isoformat(),
            "organization_id": participant.organization_id,
            "matchmaking_event": {"id": event.id, "name": event.name, "venue": event.venue},
            "schedule_version": event.schedule_version,
            "agenda": agenda_rows(event=event, participant=participant, meetings=meetings),
        }
        key = f"techmatch:event:{event.id}:{event.schedule_version}:{participant.id}"
        outbox.enqueue(
            session=session,
            organization=participant.organization,
            event=kind,
            payload=payload,
            idempotency_key=hashlib.sha256(key.encode()).hexdigest()[:40],
        )
        sent += 1
    session.flush()
    return sent


def publish(*, session: Session, event: MatchmakingEvent) -> int:
    """Send every participant its agenda; later changes notify only those they touch."""
    if event.status != EventStatus.OPEN:
        raise ConflictError(f"Event {event.id} is {event.status.value}; only an open event is published.")
    event.status = EventStatus.PUBLISHED
    ids = [p.id for p in participants_of(session=session, event_id=event.id)]
    return notify(session=session, event=event, participant_ids=ids, kind="event.schedule_published")


def agenda_rows(
    *, event: MatchmakingEvent, participant: Participant, meetings: Sequence[Meeting]
) -> list[dict[str, Any]]:
    """A participant's meetings in time order, as JSON-ready rows (the API, CSV and notifications)."""
    rows = []
    for m in meetings:
        if participant.id not in (m.a_id, m.b_id) or m.status == MeetingStatus.CANCELLED:
            continue
        other = m.b if m.a_id == participant.id else m.a
        rows.append(
            {
                "meeting_id": m.id,
                "slot": m.slot,
                "starts_at": event.slot_start(m.slot).isoformat(),
                "ends_at": event.slot_start(m.slot + 1).isoformat(),
                "table": m.table_number,
                "counterpart_participant_id": other.id,
                "counterpart_organization": other.organization.name,
                "counterpart_attendees": list(other.attendees),
                "status": m.status.value,
                "source": m.source.value,
                "score": m.score,
            }
        )
    return sorted(rows, key=lambda row: row["slot"])


def confirm(*, session: Session, meeting: Meeting, viewer: Viewer) -> None:
    """A side confirms (staff confirm both); confirmed by both, the meeting stays put when re-optimising."""
    if meeting.status == MeetingStatus.CANCELLED:
        raise ConflictError(f"Meeting {meeting.id} is cancelled.")
    sides = [
        side
        for side, p in (("a", meeting.a), ("b", meeting.b))
        if can_write(viewer, organization_id=p.organization_id)
    ]
    if not sides:
        raise ForbiddenError(f"Only the two participants of meeting {meeting.id} or staff confirm it.")
    for side in ("a", "b") if viewer.is_staff else sides:
        setattr(meeting, f"{side}_confirmed", True)
    if meeting.a_confirmed and meeting.b_confirmed:
        meeting.status = MeetingStatus.CONFIRMED
    meeting.updated_at = utcnow()
    session.flush()


def cancel(*, session: Session, event: MatchmakingEvent, meeting: Meeting, viewer: Viewer) -> None:
    """Either side or staff cancel; the pair is not proposed again, and the other side is told."""
    check_open(event)
    if not (
        can_write(viewer, organization_id=meeting.a.organization_id)
        or can_write(viewer, organization_id=meeting.b.organization_id)
    ):
        raise ForbiddenError(f"Only the two participants of meeting {meeting.id} or staff cancel it.")
    if meeting.status == MeetingStatus.CANCELLED:
        raise ConflictError(f"Meeting {meeting.id} is already cancelled.")
    meeting.status = MeetingStatus.CANCELLED
    meeting.updated_at = utcnow()
    session.flush()
    if event.status == EventStatus.PUBLISHED:
        notify(
            session=session,
            event=event,
            participant_ids={meeting.a_id, meeting.b_id},
            kind="event.agenda_changed",
        )
