"""Request and response bodies of matchmaking events: events, participants, requests, meetings, agendas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import CleanText, Id, Int, Strict, Title, UtcDatetime, VisibleText
from models.matchmaking import EventStatus, MeetingOutcome, MeetingSource, MeetingStatus, RequestStatus

MAX_SLOTS = 48
MAX_TABLES = 500
MAX_ATTENDEES = 10
MAX_LISTINGS = 20
Note = Annotated[CleanText, StringConstraints(strip_whitespace=True, max_length=2_000)]
Venue = Annotated[VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Attendee = Annotated[VisibleText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slot = Annotated[Int, Field(ge=0, lt=MAX_SLOTS)]


def _plausible(moment: datetime) -> datetime:
    # Far enough either way for any real event; slot times past year 9999 would not exist.
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not datetime(2000, 1, 1, tzinfo=UTC) <= moment <= datetime(2100, 1, 1, tzinfo=UTC):
        raise ValueError("starts_at must lie between 2000 and 2100")
    return moment.astimezone(UTC)


StartsAt = Annotated[datetime, AfterValidator(_plausible)]
SlotMinutes = Annotated[Int, Field(ge=5, le=240, description="Length of one meeting slot")]
Slots = Annotated[Int, Field(ge=1, le=MAX_SLOTS)]
Tables = Annotated[Int, Field(ge=1, le=MAX_TABLES)]
MinScore = Annotated[
    float,
    Field(
        ge=0.0, le=1.0, description="Engine proposals below this calibrated match probability are not made"
    ),
]


class EventCreate(Strict):
    name: Title
    venue: Venue
    starts_at: StartsAt
    slot_minutes: SlotMinutes = 30
    slots: Slots = 16
    tables: Tables = 40
    min_score: MinScore = 0.5


class EventUpdate(Strict):
    name: Title | None = None
    venue: Venue | None = None
    starts_at: StartsAt | None = None
    slot_minutes: SlotMinutes | None = None
    min_score: MinScore | None = None
    status: Literal["closed"] | None = Field(default=None, description="Close the event after the day")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    venue: str
    starts_at: UtcDatetime
    slot_minutes: int
    slots: int
    tables: int
    min_score: float
    status: EventStatus
    schedule_version: int
    created_at: UtcDatetime


class ParticipantCreate(Strict):
    organization_id: Id | None = Field(default=None, description="Staff only; members register their own")
    attendees: Annotated[list[Attendee], Field(max_length=MAX_ATTENDEES, default_factory=list)]
    available_slots: Annotated[list[Slot] | None, Field(max_length=MAX_SLOTS)] = Field(
        default=None, description="0-based slots the organization can attend; all when left out"
    )
    meeting_cap: Annotated[Int | None, Field(ge=1, le=MAX_SLOTS)] = None
    offer_ids: Annotated[list[Id], Field(max_length=MAX_LISTINGS, default_factory=list)]
    need_ids: Annotated[list[Id], Field(max_length=MAX_LISTINGS, default_factory=list)]


class ParticipantUpdate(Strict):
    attendees: Annotated[list[Attendee] | None, Field(max_length=MAX_ATTENDEES)] = None
    available_slots: Annotated[list[Slot] | None, Field(max_length=MAX_SLOTS)] = None
    meeting_cap: Annotated[Int | None, Field(ge=1, le=MAX_SLOTS)] = None
    offer_ids: Annotated[list[Id] | None, Field(max_length=MAX_LISTINGS)] = None
    need_ids: Annotated[list[Id] | None, Field(max_length=MAX_LISTINGS)] = None


class ParticipantRead(BaseModel):
    """Attendee names are shown to staff and the organization itself only."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    organization_id: int
    organization_name: str
    attendees: list[str] | None
    available_slots: list[int]
    meeting_cap: int
    offer_ids: list[int]
    need_ids: list[int]


class RequestCreate(Strict):
    target_id: Id
    requester_id: Id | None = Field(
        default=None, description="Staff only; members ask as their own participant"
    )
    note: Note | None = None


class RequestDecision(Strict):
    decision: Literal["accept", "decline"]


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    requester_id: int
    target_id: int
    status: RequestStatus
    note: str | None
    created_at: UtcDatetime
    decided_at: UtcDatetime | None


class ExclusionCreate(Strict):
    organization_id: Id | None = Field(default=None, description="Staff only; members exclude for their own")
    excluded_organization_id: Id


class ExclusionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    organization_id: int
    excluded_organization_id: int


class MeetingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    a_id: int
    b_id: int
    slot: int
    table_number: int
    source: MeetingSource
    score: float | None
    need_id: int | None
    offer_id: int | None
    status: MeetingStatus
    a_confirmed: bool
    b_confirmed: bool
    outcome: MeetingOutcome | None
    outcome_note: str | None
    match_id: int | None


class OutcomeBody(Strict):
    outcome: MeetingOutcome
    need_id: Id | None = Field(default=None, description="The need introduced, if not the meeting's own")
    offer_id: Id | None = Field(default=None, description="The offer introduced, if not the meeting's own")
    note: Note | None = None


class ScheduleReport(BaseModel):
    method: str = Field(description="cp-sat, or greedy when the solver found nothing better")
    seconds: float
    value: int
    greedy_value: int
    meetings: int
    confirmed_kept: int
    requests_accepted: int
    requests_placed: int
    proposals_placed: int
    agendas_changed: int


class AgendaItem(BaseModel):
    meeting_id: int
    slot: int
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    table: int
    counterpart_participant_id: int
    counterpart_organization: str
    counterpart_attendees: list[str]
    status: MeetingStatus
    source: MeetingSource
    score: float | None


class Agenda(BaseModel):
    event_id: int
    participant_id: int
    organization_name: str
    items: list[AgendaItem]


class TableSeat(BaseModel):
    table: int
    meeting_id: int
    participants: list[str]
    status: MeetingStatus


class SlotPlan(BaseModel):
    slot: int
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    tables: list[TableSeat]


class TablePlan(BaseModel):
    event_id: int
    slots: list[SlotPlan]
