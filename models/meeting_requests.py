"""Meeting requests between participants: either side asks, the other accepts or declines."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.errors import ConflictError, InvalidError, NotFoundError
from models.event_participants import check_open, excluded_pairs
from models.matchmaking import MatchmakingEvent, MeetingRequest, Participant, RequestStatus

# Outgoing requests a participant may send: more is spam, not matchmaking.
MAX_REQUESTS_PER_PARTICIPANT = 50


def requests_of(
    *, session: Session, event_id: int, participant_id: int | None = None
) -> list[MeetingRequest]:
    query = select(MeetingRequest).where(MeetingRequest.event_id == event_id)
    if participant_id is not None:
        query = query.where(
            or_(MeetingRequest.requester_id == participant_id, MeetingRequest.target_id == participant_id)
        )
    return list(session.scalars(query.order_by(MeetingRequest.id)))


def request_meeting(
    *,
    session: Session,
    event: MatchmakingEvent,
    requester: Participant,
    target: Participant,
    note: str | None,
) -> MeetingRequest:
    check_open(event)
    if requester.id == target.id or requester.organization_id == target.organization_id:
        raise InvalidError("A participant does not request a meeting with its own organization.")
    excluded = excluded_pairs(session=session, event_id=event.id, participants=[requester, target])
    if frozenset((requester.organization_id, target.organization_id)) in excluded:
        raise InvalidError("These organizations are excluded from meeting each other.")
    for existing in requests_of(session=session, event_id=event.id, participant_id=requester.id):
        if {existing.requester_id, existing.target_id} == {requester.id, target.id}:
            raise ConflictError(
                f"Request {existing.id} between these participants exists ({existing.status.value}); "
                "the asked side accepts or declines it."
            )
    outgoing = session.scalars(
        select(MeetingRequest.id).where(
            MeetingRequest.event_id == event.id, MeetingRequest.requester_id == requester.id
        )
    ).all()
    if len(outgoing) >= MAX_REQUESTS_PER_PARTICIPANT:
        raise ConflictError(f"A participant may send at most {MAX_REQUESTS_PER_PARTICIPANT} requests.")
    request = MeetingRequest(
        event_id=event.id,
        requester_id=requester.id,
        target_id=target.id,
        status=RequestStatus.REQUESTED,
        note=note,
    )
    session.add(request)
    session.flush()
    return request


def get_request(*, session: Session, event_id: int, request_id: int) -> MeetingRequest:
    request = session.get(MeetingRequest, request_id)
    if request is None or request.event_id != event_id:
        raise NotFoundError(f"Event {event_id} has no meeting request {request_id}.")
    return request


def decide_request(
    *, session: Session, event: MatchmakingEvent, request: MeetingRequest, accept: bool
) -> None:
    """The asked side answers; an answer may be changed until the event closes."""
    check_open(event)
    request.status = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    request.decided_at = utcnow()
    session.flush()
