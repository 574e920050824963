"""`techmatch event-schedule` and `techmatch bench-events`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from typer.testing import CliRunner

from core.taxonomy import OrgKind, Region
from models.base import make_engine, make_session_factory, transaction
from models.listings import Need, Offer
from models.matchmaking import (
    EventStatus,
    MatchmakingEvent,
    Meeting,
    MeetingRequest,
    Participant,
    RequestStatus,
)
from models.migrate import upgrade
from models.organizations import create_organization
from tests.scripts.test_cli import run, runner  # noqa: F401  (the fixture)


def test_event_schedule_places_the_accepted_request_and_a_proposal(
    runner: CliRunner,  # noqa: F811
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        orgs = [
            create_organization(
                session=session, values={"slug": slug, "name": slug, "kind": kind, "region": Region.HA_NOI}
            )
            for slug, kind in [
                ("ent", OrgKind.ENTERPRISE),
                ("inst", OrgKind.RESEARCH_INSTITUTE),
                ("uni", OrgKind.UNIVERSITY),
            ]
        ]
        listing = {"sector": "ai", "region": "ha_noi", "language": "en", "status": "published"}
        need = Need(
            organization_id=orgs[0].id,
            title="Defect detection on fabric",
            description="Camera AI.",
            min_trl=4,
            **listing,
        )
        offers = [
            Offer(
                organization_id=org.id, title=title, description=title, trl=6, ip_status="patent", **listing
            )
            for org, title in [(orgs[1], "Fabric defect detection camera"), (orgs[2], "Chatbot for banks")]
        ]
        session.add_all([need, *offers])
        event = MatchmakingEvent(
            name="Tech day",
            venue="Hall",
            starts_at=datetime(2027, 1, 5, 1, tzinfo=UTC),
            slot_minutes=30,
            slots=2,
            tables=1,
            min_score=0.0,
            status=EventStatus.OPEN,
            schedule_version=0,
        )
        session.add(event)
        session.flush()
        people = [
            Participant(
                event_id=event.id,
                organization_id=orgs[0].id,
                meeting_cap=2,
                available_slots=[0, 1],
                need_ids=[need.id],
                offer_ids=[],
                attendees=[],
            ),
            *(
                Participant(
                    event_id=event.id,
                    organization_id=org.id,
                    meeting_cap=2,
                    available_slots=[0, 1],
                    need_ids=[],
                    offer_ids=[offer.id],
                    attendees=[],
                )
                for org, offer in zip(orgs[1:], offers, strict=True)
            ),
        ]
        session.add_all(people)
        session.flush()
        session.add(
            MeetingRequest(
                event_id=event.id,
                requester_id=people[2].id,
                target_id=people[0].id,
                status=RequestStatus.ACCEPTED,
            )
        )
        event_id, pids = event.id, [p.id for p in people]
    output = run(runner, "event-schedule", str(event_id), "--time-limit", "1")
    assert "2 meetings (0 confirmed kept, 1/1 accepted requests placed, 1 proposals)" in output, output
    with make_session_factory(engine)() as session:
        placed = {(m.a_id, m.b_id): (m.slot, m.table_number, m.source.value) for m in session.query(Meeting)}
    # One table, and the enterprise meets both: one meeting in each slot, the request a request.
    assert sorted(placed) == [(pids[0], pids[1]), (pids[0], pids[2])]
    assert {slot for slot, _table, _source in placed.values()} == {0, 1}
    assert placed[(pids[0], pids[2])][2] == "request" and placed[(pids[0], pids[1])][2] == "proposal"
    assert "does not exist" in run(runner, "event-schedule", "999", code=1)
    engine.dispose()


def test_bench_events_prints_a_row_per_size() -> None:
    output = run(CliRunner(), "bench-events", "--sizes", "20", "30", "--repeats", "1", "--time-limit", "1")
    rows = [line for line in output.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [row.split("|")[1].strip() for row in rows] == ["20", "30"]
    assert all(float(row.split("|")[5]) >= 1.0 for row in rows)  # objective / greedy
