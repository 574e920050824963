"""Who attends a matchmaking event: registration, availability, caps, listings and exclusions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import Viewer, can_write
from models.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from models.id_sets import id_in
from models.listings import Need, Offer
from models.matchmaking import (
    EventExclusion,
    EventStatus,
    MatchmakingEvent,
    Meeting,
    MeetingStatus,
    Participant,
)
from models.organizations import Organization

MAX_PARTICIPANTS = 1_000


def get_event(*, session: Session, event_id: int, lock: bool = False) -> MatchmakingEvent:
    """An event by id; `lock` holds its row until commit, so two schedule changes never interleave."""
    event = session.get(MatchmakingEvent, event_id, with_for_update=lock)
    if event is None:
        raise NotFoundError(f"Event {event_id} does not exist.")
    return event


def participants_of(*, session: Session, event_id: int) -> list[Participant]:
    query = select(Participant).where(Participant.event_id == event_id).order_by(Participant.id)
    return list(session.scalars(query).unique())


def get_participant(*, session: Session, event_id: int, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None or participant.event_id != event_id:
        raise NotFoundError(f"Event {event_id} has no participant {participant_id}.")
    return participant


def check_speaks_for(viewer: Viewer, participant: Participant) -> None:
    """Members act only for their own organization; staff for anyone."""
    if not can_write(viewer, organization_id=participant.organization_id):
        raise ForbiddenError(f"You may not act for participant {participant.id}.")


def check_open(event: MatchmakingEvent) -> None:
    if event.status == EventStatus.CLOSED:
        raise ConflictError(f"Event {event.id} is closed.")


def check_listings(*, session: Session, organization_id: int, values: dict[str, Any]) -> None:
    """A participant brings listings of its own organization, and only ones that exist."""
    for field, model in (("offer_ids", Offer), ("need_ids", Need)):
        ids = set(values.get(field) or ())
        if not ids:
            continue
        owners = dict(session.execute(select(model.id, model.organization_id).where(id_in(model.id, ids))).all())
        wrong = sorted(i for i in ids if owners.get(i) != organization_id)
        if wrong:
            raise InvalidError(
                f"{field}: {', '.join(map(str, wrong))} are not listings of organization {organization_id}."
            )


def check_slots(event: MatchmakingEvent, values: dict[str, Any]) -> None:
    slots = values.get("available_slots")
    if slots is not None and any(slot >= event.slots for slot in slots):
        raise InvalidError(f"available_slots: event {event.id} has slots 0 to {event.slots - 1}.")
    cap = values.get("meeting_cap")
    if cap is not None and cap > event.slots:
        raise InvalidError(f"meeting_cap: at most {event.slots}, the event's number of slots.")


def register(*, session: Session, event: MatchmakingEvent, values: dict[str, Any]) -> Participant:
    """Register an organization (once per event); availability defaults to every slot, the cap to all."""
    check_open(event)
    organization_id = values["organization_id"]
    if session.get(Organization, organization_id) is None:
        raise InvalidError(f"No organization with id {organization_id}.")
    if session.scalar(
        select(Participant.id).where(
            Participant.event_id == event.id, Participant.organization_id == organization_id
        )
    ):
        raise ConflictError(f"Organization {organization_id} is already registered for event {event.id}.")
    if len(participants_of(session=session, event_id=event.id)) >= MAX_PARTICIPANTS:
        raise ConflictError(f"Event {event.id} is full ({MAX_PARTICIPANTS} participants).")
    values = {
        "available_slots": list(range(event.slots)),
        "meeting_cap": event.slots,
        **{key: value for key, value in values.items() if value is not None},
    }
    check_slots(event, values)
    check_listings(session=session, organization_id=organization_id, values=values)
    values["available_slots"] = sorted(set(values["available_slots"]))
    participant = Participant(event_id=event.id, **values)
    session.add(participant)
    session.flush()
    return participant


def update_participant(
    *, session: Session, event: MatchmakingEvent, participant: Participant, values: dict[str, Any]
) -> Participant:
    """Change availability, cap, attendees or listings; confirmed meetings must still fit."""
    check_open(event)
    check_slots(event, values)
    check_listings(session=session, organization_id=participant.organization_id, values=values)
    if "available_slots" in values:
        values["available_slots"] = sorted(set(values["available_slots"]))
    own = [
        m
        for m in session.scalars(
            select(Meeting).where(Meeting.event_id == event.id, Meeting.status == MeetingStatus.CONFIRMED)
        ).unique()
        if participant.id in (m.a_id, m.b_id)
    ]
    slots = set(values.get("available_slots", participant.available_slots))
    if any(m.slot not in slots for m in own) or len(own) > values.get("meeting_cap", participant.meeting_cap):
        raise ConflictError("Confirmed meetings would no longer fit; cancel them first.")
    for name, value in values.items():
        setattr(participant, name, value)
    session.flush()
    return participant


def exclusions_of(*, session: Session, event_id: int) -> list[EventExclusion]:
    query = select(EventExclusion).where(EventExclusion.event_id == event_id).order_by(EventExclusion.id)
    return list(session.scalars(query))


def add_exclusion(
    *, session: Session, event: MatchmakingEvent, organization_id: int, excluded_organization_id: int
) -> EventExclusion:
    if organization_id == excluded_organization_id:
        raise InvalidError("An organization never meets itself; name another one to exclude.")
    for org_id in (organization_id, excluded_organization_id):
        if session.get(Organization, org_id) is None:
            raise InvalidError(f"No organization with id {org_id}.")
    existing = session.scalar(
        select(EventExclusion).where(
            EventExclusion.event_id == event.id,
            EventExclusion.organization_id == organization_id,
            EventExclusion.excluded_organization_id == excluded_organization_id,
        )
    )
    if existing is not None:
        return existing
    exclusion = EventExclusion(
        event_id=event.id, organization_id=organization_id, excluded_organization_id=excluded_organization_id
    )
    session.add(exclusion)
    session.flush()
    return exclusion


def excluded_pairs(
    *, session: Session, event_id: int, participants: Sequence[Participant]
) -> set[frozenset[int]]:
    """Organization pairs that must not meet: the event's exclusions and the participants' listings' own."""
    pairs = {
        frozenset((e.organization_id, e.excluded_organization_id))
        for e in exclusions_of(session=session, event_id=event_id)
    }
    attending = {p.organization_id for p in participants}
    for model in (Offer, Need):
        ids = [i for p in participants for i in (p.offer_ids if model is Offer else p.need_ids)]
        if ids:
            for owner, excluded in session.execute(
                select(model.organization_id, model.excluded_organization_ids).where(id_in(model.id, ids))
            ):
                pairs.update(frozenset((owner, other)) for other in excluded or () if other in attending)
    return pairs
