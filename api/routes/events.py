"""Matchmaking events: brokers create and schedule them; members register, ask for meetings and
read their agendas (JSON or CSV); after the day brokers record what came of each meeting."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from api.deps import SessionDep, StaffDep, ViewerDep, forbid_unknown_query, require_key
from api.errors import COMMON_ERRORS, error_responses
from api.params import IdPath, LimitQuery, OffsetQuery
from api.schemas.common import Page
from api.schemas.events import (
    EventCreate,
    EventRead,
    EventUpdate,
    ExclusionCreate,
    ExclusionRead,
    ParticipantCreate,
    ParticipantRead,
    ParticipantUpdate,
    RequestCreate,
    RequestDecision,
    RequestRead,
)
from core.access import Viewer, can_write
from models import event_participants as participant_service
from models import meeting_requests as request_service
from models.errors import ForbiddenError, InvalidError
from models.matchmaking import EventStatus, MatchmakingEvent, Participant

router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)
EVENT = "/events/{event_id}"


def _participant_view(participant: Participant, viewer: Viewer) -> dict[str, Any]:
    own = can_write(viewer, organization_id=participant.organization_id)
    return {
        **{
            name: getattr(participant, name)
            for name in ParticipantRead.model_fields
            if hasattr(participant, name)
        },
        "organization_name": participant.organization.name,
        "attendees": list(participant.attendees) if own else None,
    }


def _acting_participant(
    session: Any, event: MatchmakingEvent, viewer: Viewer, given: int | None
) -> Participant:
    """Staff name the participant; members act as their organization's."""
    if viewer.is_staff:
        if given is None:
            raise InvalidError("Staff name the participant (requester_id) they act for.")
        return participant_service.get_participant(session=session, event_id=event.id, participant_id=given)
    if given is not None:
        raise ForbiddenError("Members act as their own participant; leave requester_id out.")
    for participant in participant_service.participants_of(session=session, event_id=event.id):
        if participant.organization_id == viewer.organization_id:
            return participant
    raise InvalidError("Your organization is not registered for this event.")


@router.post(
    "/events",
    response_model=EventRead,
    status_code=201,
    summary="Create a matchmaking event",
    responses=error_responses(400, 403, 413),
)
def create_event(body: EventCreate, session: SessionDep, _staff: StaffDep) -> Any:
    event = MatchmakingEvent(**body.model_dump(), status=EventStatus.OPEN, schedule_version=0)
    session.add(event)
    session.commit()
    return event


@router.get("/events", response_model=Page[EventRead], summary="Matchmaking events, newest first")
def list_events(session: SessionDep, offset: OffsetQuery = 0, limit: LimitQuery = 20) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(MatchmakingEvent)) or 0
    rows = session.scalars(
        select(MatchmakingEvent)
        .order_by(MatchmakingEvent.starts_at.desc(), MatchmakingEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return {"items": rows, "total": total, "offset": offset, "limit": limit}


@router.get(EVENT, response_model=EventRead, summary="One event", responses=error_responses(404))
def read_event(event_id: IdPath, session: SessionDep) -> Any:
    return participant_service.get_event(session=session, event_id=event_id)


@router.patch(
    EVENT,
    response_model=EventRead,
    summary="Change or close an event",
    responses=error_responses(400, 403, 404, 409, 413),
)
def update_event(event_id: IdPath, body: EventUpdate, session: SessionDep, _staff: StaffDep) -> Any:
    event = participant_service.get_event(session=session, event_id=event_id)
    participant_service.check_open(event)
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(event, name, EventStatus(value) if name == "status" else value)
    session.commit()
    return event


@router.post(
    f"{EVENT}/participants",
    response_model=ParticipantRead,
    status_code=201,
    summary="Register an organization for the event",
    responses=error_responses(400, 403, 404, 409, 413),
)
def register(event_id: IdPath, body: ParticipantCreate, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    values = body.model_dump()
    if not viewer.is_staff:
        if values["organization_id"] not in (None, viewer.organization_id) or viewer.organization_id is None:
            raise ForbiddenError("Members register their own organization.")
        values["organization_id"] = viewer.organization_id
    elif values["organization_id"] is None:
        raise InvalidError("Staff name the organization_id they register.")
    participant = participant_service.register(session=session, event=event, values=values)
    session.commit()
    return _participant_view(participant, viewer)


@router.get(
    f"{EVENT}/participants",
    response_model=list[ParticipantRead],
    summary="Who attends (attendee names: staff and the organization itself)",
    responses=error_responses(404),
)
def list_participants(event_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    participant_service.get_event(session=session, event_id=event_id)
    return [
        _participant_view(p, viewer)
        for p in participant_service.participants_of(session=session, event_id=event_id)
    ]


@router.patch(
    f"{EVENT}/participants/{{participant_id}}",
    response_model=ParticipantRead,
    summary="Change availability, cap, attendees or listings",
    responses=error_responses(400, 403, 404, 409, 413),
)
def update_participant(
    event_id: IdPath, participant_id: IdPath, body: ParticipantUpdate, session: SessionDep, viewer: ViewerDep
) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    participant = participant_service.get_participant(
        session=session, event_id=event_id, participant_id=participant_id
    )
    participant_service.check_speaks_for(viewer, participant)
    participant_service.update_participant(
        session=session, event=event, participant=participant, values=body.model_dump(exclude_none=True)
    )
    session.commit()
    return _participant_view(participant, viewer)


@router.post(
    f"{EVENT}/exclusions",
    response_model=ExclusionRead,
    status_code=201,
    summary="Two organizations that must not meet",
    responses=error_responses(400, 403, 404, 409, 413),
)
def add_exclusion(event_id: IdPath, body: ExclusionCreate, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    organization_id = body.organization_id if viewer.is_staff else viewer.organization_id
    if organization_id is None or (
        not viewer.is_staff and body.organization_id not in (None, organization_id)
    ):
        raise InvalidError("Staff name the organization_id; members exclude for their own organization.")
    exclusion = participant_service.add_exclusion(
        session=session,
        event=event,
        organization_id=organization_id,
        excluded_organization_id=body.excluded_organization_id,
    )
    session.commit()
    return exclusion


@router.post(
    f"{EVENT}/requests",
    response_model=RequestRead,
    status_code=201,
    summary="Ask another participant for a meeting",
    responses=error_responses(400, 403, 404, 409, 413),
)
def request_meeting(event_id: IdPath, body: RequestCreate, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    requester = _acting_participant(session, event, viewer, body.requester_id)
    target = participant_service.get_participant(
        session=session, event_id=event_id, participant_id=body.target_id
    )
    request = request_service.request_meeting(
        session=session, event=event, requester=requester, target=target, note=body.note
    )
    session.commit()
    return request


@router.get(
    f"{EVENT}/requests",
    response_model=list[RequestRead],
    summary="Meeting requests (members: their own, sent and received)",
    responses=error_responses(400, 404),
)
def list_requests(event_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    if viewer.is_staff:
        return request_service.requests_of(session=session, event_id=event_id)
    own = _acting_participant(session, event, viewer, None)
    return request_service.requests_of(session=session, event_id=event_id, participant_id=own.id)


@router.post(
    f"{EVENT}/requests/{{request_id}}",
    response_model=RequestRead,
    summary="Accept or decline a request made to you",
    responses=error_responses(400, 403, 404, 409, 413),
)
def decide_request(
    event_id: IdPath, request_id: IdPath, body: RequestDecision, session: SessionDep, viewer: ViewerDep
) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    request = request_service.get_request(session=session, event_id=event_id, request_id=request_id)
    target = participant_service.get_participant(
        session=session, event_id=event_id, participant_id=request.target_id
    )
    participant_service.check_speaks_for(viewer, target)
    request_service.decide_request(
        session=session, event=event, request=request, accept=body.decision == "accept"
    )
    session.commit()
    return request
