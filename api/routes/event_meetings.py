"""The schedule of a matchmaking event: (re-)optimising, publishing, agendas (JSON and CSV), the table
plan, confirmations, cancellations with re-optimisation, and outcomes after the day."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import (
    MatcherDep,
    RuntimeDep,
    SessionDep,
    StaffDep,
    ViewerDep,
    forbid_unknown_query,
    require_key,
)
from api.errors import COMMON_ERRORS, error_responses
from api.event_planning import record_outcome, schedule_event
from api.params import IdPath
from api.routes.events import EVENT
from api.schemas.events import Agenda, EventRead, MeetingRead, OutcomeBody, ScheduleReport, TablePlan
from core.access import Viewer
from models import event_participants as participant_service
from models import meetings as meeting_service
from models.matchmaking import MeetingStatus, Participant

router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)
AGENDA_COLUMNS = (
    "slot",
    "starts_at",
    "ends_at",
    "table",
    "counterpart_organization",
    "status",
    "source",
    "score",
)


@router.post(
    f"{EVENT}/schedule",
    response_model=ScheduleReport,
    summary="Score the participants' listings and (re-)optimise the schedule, keeping confirmed meetings",
    responses=error_responses(403, 404, 409),
)
def schedule(
    event_id: IdPath, session: SessionDep, _staff: StaffDep, matcher: MatcherDep, runtime: RuntimeDep
) -> Any:
    event = participant_service.get_event(session=session, event_id=event_id, lock=True)
    report = schedule_event(
        session=session, event=event, time_limit=runtime.settings.event_solver_seconds, matcher=matcher
    )
    session.commit()
    return report


@router.post(
    f"{EVENT}/publish",
    response_model=EventRead,
    summary="Send every participant its agenda",
    responses=error_responses(403, 404, 409),
)
def publish(event_id: IdPath, session: SessionDep, _staff: StaffDep) -> Any:
    event = participant_service.get_event(session=session, event_id=event_id, lock=True)
    meeting_service.publish(session=session, event=event)
    session.commit()
    return event


@router.get(
    f"{EVENT}/meetings",
    response_model=list[MeetingRead],
    summary="Every meeting of the event",
    responses=error_responses(403, 404),
)
def list_meetings(
    event_id: IdPath,
    session: SessionDep,
    _staff: StaffDep,
    status: Annotated[MeetingStatus | None, Query()] = None,
) -> Any:
    participant_service.get_event(session=session, event_id=event_id)
    meetings = meeting_service.meetings_of(session=session, event_id=event_id)
    return [m for m in meetings if status is None or m.status == status]


@router.get(
    f"{EVENT}/table-plan",
    response_model=TablePlan,
    summary="Which pair sits at which table in each slot",
    responses=error_responses(403, 404),
)
def table_plan(event_id: IdPath, session: SessionDep, _staff: StaffDep) -> Any:
    event = participant_service.get_event(session=session, event_id=event_id)
    meetings = [
        m
        for m in meeting_service.meetings_of(session=session, event_id=event_id)
        if m.status != MeetingStatus.CANCELLED
    ]
    return {
        "event_id": event.id,
        "slots": [
            {
                "slot": slot,
                "starts_at": event.slot_start(slot),
                "ends_at": event.slot_start(slot + 1),
                "tables": [
                    {
                        "table": m.table_number,
                        "meeting_id": m.id,
                        "participants": [m.a.organization.name, m.b.organization.name],
                        "status": m.status,
                    }
                    for m in meetings
                    if m.slot == slot
                ],
            }
            for slot in range(event.slots)
        ],
    }


def _cell(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: such text gets an apostrophe."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _agenda(
    session: Any, event_id: int, participant_id: int, viewer: Viewer
) -> tuple[Participant, list[dict[str, Any]]]:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    participant = participant_service.get_participant(
        session=session, event_id=event_id, participant_id=participant_id
    )
    participant_service.check_speaks_for(viewer, participant)
    meetings = meeting_service.meetings_of(session=session, event_id=event_id, participant_id=participant_id)
    return participant, meeting_service.agenda_rows(event=event, participant=participant, meetings=meetings)


@router.get(
    f"{EVENT}/participants/{{participant_id}}/agenda",
    response_model=Agenda,
    summary="A participant's meetings in time order",
    responses=error_responses(403, 404),
)
def agenda(event_id: IdPath, participant_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
    participant, rows = _agenda(session, event_id, participant_id, viewer)
    return {
        "event_id": event_id,
        "participant_id": participant.id,
        "organization_name": participant.organization.name,
        "items": rows,
    }


@router.get(
    f"{EVENT}/participants/{{participant_id}}/agenda.csv",
    summary="A participant's agenda as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(403, 404)},
)
def agenda_csv(event_id: IdPath, participant_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Response:
    _participant, rows = _agenda(session, event_id, participant_id, viewer)
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=[*AGENDA_COLUMNS, "counterpart_attendees"], extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "counterpart_organization": _cell(row["counterpart_organization"]),
                "counterpart_attendees": _cell("; ".join(row["counterpart_attendees"])),
            }
        )
    filename = f"event-{event_id}-participant-{participant_id}-agenda.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    f"{EVENT}/meetings/{{meeting_id}}/confirm",
    response_model=MeetingRead,
    summary="Confirm a meeting (each side, or staff for both); confirmed meetings stay put",
    responses=error_responses(403, 404, 409),
)
def confirm(event_id: IdPath, meeting_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id, lock=True)
    participant_service.check_open(event)
    meeting = meeting_service.get_meeting(session=session, event_id=event_id, meeting_id=meeting_id)
    meeting_service.confirm(session=session, meeting=meeting, viewer=viewer)
    session.commit()
    return meeting


@router.post(
    f"{EVENT}/meetings/{{meeting_id}}/cancel",
    response_model=ScheduleReport,
    summary="Cancel a meeting and re-optimise the rest, keeping confirmed meetings",
    responses=error_responses(403, 404, 409),
)
def cancel(
    event_id: IdPath, meeting_id: IdPath, session: SessionDep, viewer: ViewerDep, runtime: RuntimeDep
) -> Any:
    require_key(viewer)
    event = participant_service.get_event(session=session, event_id=event_id, lock=True)
    meeting = meeting_service.get_meeting(session=session, event_id=event_id, meeting_id=meeting_id)
    meeting_service.cancel(session=session, event=event, meeting=meeting, viewer=viewer)
    report = schedule_event(
        session=session, event=event, time_limit=runtime.settings.event_reschedule_seconds, matcher=None
    )
    session.commit()
    return report


@router.post(
    f"{EVENT}/meetings/{{meeting_id}}/outcome",
    response_model=MeetingRead,
    summary="What came of a meeting; an introduction moves the pair along the broker pipeline",
    responses=error_responses(400, 403, 404, 409, 413),
)
def outcome(
    event_id: IdPath,
    meeting_id: IdPath,
    body: OutcomeBody,
    session: SessionDep,
    staff: StaffDep,
    matcher: MatcherDep,
) -> Any:
    event = participant_service.get_event(session=session, event_id=event_id, lock=True)
    meeting = meeting_service.get_meeting(session=session, event_id=event_id, meeting_id=meeting_id)
    record_outcome(
        session=session,
        matcher=matcher,
        event=event,
        meeting=meeting,
        outcome=body.outcome,
        need_id=body.need_id,
        offer_id=body.offer_id,
        note=body.note,
        actor=staff,
    )
    session.commit()
    return meeting


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
th,td{{border:1px solid #999;padding:.4em;text-align:left}}@media print{{body{{margin:0}}}}</style>
</head><body><h1>{title}</h1><p>{venue} · {organization}</p>
<table><thead><tr><th>Slot</th><th>Time (UTC)</th><th>Table</th><th>Meeting with</th><th>Attendees</th>
<th>Status</th></tr></thead><tbody>{rows}</tbody></table></body></html>
"""


@router.get(
    f"{EVENT}/participants/{{participant_id}}/agenda.html",
    summary="A participant's agenda as a printable page",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **error_responses(403, 404)},
)
def agenda_page(
    event_id: IdPath, participant_id: IdPath, session: SessionDep, viewer: ViewerDep
) -> HTMLResponse:
    participant, rows = _agenda(session, event_id, participant_id, viewer)
    event = participant_service.get_event(session=session, event_id=event_id)
    cells = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(value))}</td>"
            for value in (
                row["slot"] + 1,
                f"{row['starts_at'][11:16]}-{row['ends_at'][11:16]} {row['starts_at'][:10]}",
                row["table"],
                row["counterpart_organization"],
                ", ".join(row["counterpart_attendees"]),
                row["status"],
            )
        )
        + "</tr>"
        for row in rows
    )
    return HTMLResponse(
        _PAGE.format(
            title=escape(event.name),
            venue=escape(event.venue),
            organization=escape(participant.organization.name),
            rows=cells,
        )
    )
