"""The stored schedule: what the scheduler is given, what is kept, and who is told about changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.access import Viewer
from core.taxonomy import OrgKind, Region, Role
from matcher import schedule as plan
from models import event_participants, meeting_requests, meetings
from models.base import transaction
from models.errors import ConflictError
from models.matchmaking import EventStatus, MatchmakingEvent, Meeting, MeetingStatus
from models.organizations import create_organization
from models.outbox import Notification

STAFF = Viewer(role=Role.BROKER)


def make_event(session: Session, *, participants: int = 4) -> tuple[MatchmakingEvent, list[int]]:
    event = MatchmakingEvent(
        name="Tech day",
        venue="Hall",
        starts_at=datetime(2027, 1, 5, 1, tzinfo=UTC),
        slot_minutes=30,
        slots=3,
        tables=2,
        min_score=0.5,
        status=EventStatus.OPEN,
        schedule_version=0,
    )
    session.add(event)
    session.flush()
    ids = []
    for number in range(participants):
        org = create_organization(
            session=session,
            values={
                "slug": f"org-{number}",
                "name": f"Org {number}",
                "kind": OrgKind.ENTERPRISE,
                "region": Region.HA_NOI,
                "webhook_url": "https://example.org/hook",
            },
        )
        ids.append(
            event_participants.register(session=session, event=event, values={"organization_id": org.id}).id
        )
    return event, ids


def test_the_problem_leaves_out_declined_cancelled_and_weak_pairs(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        event, (a, b, c, d) = make_event(session)
        event.pair_scores = [
            [a, b, 0.9, None, None],
            [a, c, 0.4, None, None],
            [b, c, 0.8, None, None],
            [c, d, 0.7, None, None],
        ]
        participants = {
            p.id: p for p in event_participants.participants_of(session=session, event_id=event.id)
        }
        accepted = meeting_requests.request_meeting(
            session=session, event=event, requester=participants[d], target=participants[a], note=None
        )
        meeting_requests.decide_request(session=session, event=event, request=accepted, accept=True)
        declined = meeting_requests.request_meeting(
            session=session, event=event, requester=participants[b], target=participants[c], note=None
        )
        meeting_requests.decide_request(session=session, event=event, request=declined, accept=False)
        session.add(
            Meeting(
                event_id=event.id,
                a_id=c,
                b_id=d,
                slot=0,
                table_number=1,
                source="proposal",
                status=MeetingStatus.CANCELLED,
                a_confirmed=False,
                b_confirmed=False,
            )
        )
        session.flush()
        problem = meetings.build_problem(session=session, event=event)
    assert {(cand.pair, cand.requested) for cand in problem.candidates} == {((a, b), False), ((a, d), True)}
    assert problem.slots == 3 and problem.tables == 2 and problem.fixed == problem.previous == ()


def test_published_changes_tell_only_the_participants_they_touch(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        event, (a, b, c, d) = make_event(session)
        event.pair_scores = [[a, b, 0.9, None, None], [c, d, 0.8, None, None]]
        problem = meetings.build_problem(session=session, event=event)
        meetings.apply_schedule(
            session=session,
            event=event,
            problem=problem,
            scheduled=[plan.Meeting(a, b, 0, 1), plan.Meeting(c, d, 0, 2)],
        )
        assert meetings.publish(session=session, event=event) == 4
        first = {m.a_id: m for m in meetings.meetings_of(session=session, event_id=event.id)}
        meetings.confirm(session=session, meeting=first[a], viewer=STAFF)  # staff confirm for both sides
        assert first[a].status == MeetingStatus.CONFIRMED
        # Re-optimised: a-b is confirmed and kept; c-d moves to slot 1 (table 1): c and d are told.
        again = meetings.build_problem(session=session, event=event)
        assert again.fixed == (plan.Meeting(a, b, 0, 1),) and again.previous == (plan.Meeting(c, d, 0, 2),)
        changed = meetings.apply_schedule(
            session=session,
            event=event,
            problem=again,
            scheduled=[plan.Meeting(a, b, 0, 1), plan.Meeting(c, d, 1, 1)],
        )
        assert changed == {c, d}
        moved = meetings.get_meeting(session=session, event_id=event.id, meeting_id=first[c].id)
        assert (moved.slot, moved.table_number, moved.status) == (1, 1, MeetingStatus.PROPOSED)
        # A participant cannot drop a slot that a confirmed meeting holds.
        participant_a = event_participants.get_participant(
            session=session, event_id=event.id, participant_id=a
        )
        with pytest.raises(ConflictError):
            event_participants.update_participant(
                session=session, event=event, participant=participant_a, values={"available_slots": [1, 2]}
            )
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
    kinds = [(row.event, row.payload["schedule_version"]) for row in rows]
    assert kinds == [("event.schedule_published", 1)] * 4 + [("event.agenda_changed", 2)] * 2
    assert len({row.idempotency_key for row in rows}) == 6
    changed_agenda = rows[-1].payload["agenda"]
    assert [(item["slot"], item["table"], item["starts_at"]) for item in changed_agenda] == [
        (1, 1, "2027-01-05T01:30:00+00:00")
    ]
