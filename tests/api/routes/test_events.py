"""Matchmaking events over HTTP: registration, requests, scheduling, agendas, cancellation, outcomes."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import World, need_body, offer_body

EVENTS = "/api/v1/events"


def call(
    client: TestClient, world: World, who: str, method: str, path: str, body: Any = None, code: int = 200
) -> Any:
    response = client.request(method, path, json=body, headers=world.auth(who))
    assert response.status_code == code, response.text
    return response.json()


def listings(client: TestClient, world: World) -> dict[str, int]:
    """Two needs and two offers, a good pair each way, indexed."""
    english = {"language": "en"}
    ids = {
        "irrigation_offer": call(
            client,
            world,
            "inst-a",
            "POST",
            "/api/v1/offers",
            offer_body(title="Soil moisture drip irrigation controller", keywords=["irrigation"], **english),
            code=201,
        )["id"],
        "welding_offer": call(
            client,
            world,
            "inst-b",
            "POST",
            "/api/v1/offers",
            offer_body(
                title="Robotic welding cell",
                sector="robotics",
                keywords=["welding"],
                description="A six-axis welding robot for steel frames.",
                **english,
            ),
            code=201,
        )["id"],
        "irrigation_need": call(client, world, "ent-a", "POST", "/api/v1/needs", need_body(), code=201)["id"],
        "welding_need": call(
            client,
            world,
            "ent-b",
            "POST",
            "/api/v1/needs",
            need_body(
                title="Automated welding of steel frames",
                sector="robotics",
                keywords=["welding robot"],
                description="We weld steel frames by hand and want a welding robot cell.",
            ),
            code=201,
        )["id"],
    }
    assert client.app.state.runtime.index_sync.wait_idle(10)  # type: ignore[attr-defined]
    return ids


def test_an_event_from_registration_to_outcomes(client: TestClient, world: World) -> None:
    ids = listings(client, world)
    event = call(
        client,
        world,
        "broker",
        "POST",
        EVENTS,
        {
            "name": "Ngày kết nối công nghệ",
            "venue": "Hall B",
            "starts_at": "2027-03-05T08:00:00+07:00",
            "slot_minutes": 20,
            "slots": 3,
            "tables": 2,
            "min_score": 0.0,
        },
        code=201,
    )
    assert (event["status"], event["starts_at"]) == ("open", "2027-03-05T01:00:00Z")
    base = f"{EVENTS}/{event['id']}"
    own = {
        "ent-a": {"need_ids": [ids["irrigation_need"]], "attendees": ["Ms. Lan"], "meeting_cap": 2},
        "ent-b": {"need_ids": [ids["welding_need"]], "available_slots": [1, 2]},
        "inst-a": {"offer_ids": [ids["irrigation_offer"]]},
        "inst-b": {"offer_ids": [ids["welding_offer"]], "attendees": ["=SUM(1)", "<b>Bo</b>"]},
    }
    participant = {
        who: call(client, world, who, "POST", f"{base}/participants", body, code=201)
        for who, body in own.items()
    }
    assert participant["ent-b"]["available_slots"] == [1, 2] and participant["inst-a"]["meeting_cap"] == 3
    # Registration rules: once per organization, own listings only, slots within the event.
    call(client, world, "ent-a", "POST", f"{base}/participants", {}, code=409)
    call(
        client,
        world,
        "broker",
        "POST",
        f"{base}/participants",
        {"organization_id": world.org["exchange"], "offer_ids": [ids["welding_offer"]]},
        code=422,
    )
    call(
        client,
        world,
        "ent-a",
        "PATCH",
        f"{base}/participants/{participant['ent-a']['id']}",
        {"available_slots": [3]},
        code=422,
    )
    call(
        client,
        world,
        "ent-b",
        "PATCH",
        f"{base}/participants/{participant['ent-a']['id']}",
        {"meeting_cap": 1},
        code=403,
    )
    # Attendee names are for staff and the organization itself.
    seen_by_ent_b = {
        p["organization_id"]: p for p in call(client, world, "ent-b", "GET", f"{base}/participants")
    }
    assert seen_by_ent_b[world.org["ent-a"]]["attendees"] is None
    assert seen_by_ent_b[world.org["ent-b"]]["attendees"] == []

    # Requests: ent-a asks inst-b (accepted); ent-b asks inst-a (declined: never proposed then).
    asked = call(
        client,
        world,
        "ent-a",
        "POST",
        f"{base}/requests",
        {"target_id": participant["inst-b"]["id"]},
        code=201,
    )
    call(client, world, "inst-b", "POST", f"{base}/requests/{asked['id']}", {"decision": "accept"})
    declined = call(
        client,
        world,
        "ent-b",
        "POST",
        f"{base}/requests",
        {"target_id": participant["inst-a"]["id"]},
        code=201,
    )
    call(
        client, world, "ent-b", "POST", f"{base}/requests/{declined['id']}", {"decision": "accept"}, code=403
    )
    call(client, world, "inst-a", "POST", f"{base}/requests/{declined['id']}", {"decision": "decline"})
    call(
        client,
        world,
        "inst-a",
        "POST",
        f"{base}/requests",
        {"target_id": participant["ent-b"]["id"]},
        code=409,
    )
    call(
        client,
        world,
        "ent-a",
        "POST",
        f"{base}/requests",
        {"target_id": participant["ent-a"]["id"]},
        code=422,
    )
    assert len(call(client, world, "inst-b", "GET", f"{base}/requests")) == 1
    # Competitors: inst-a and inst-b never meet (they would not anyway: no need between them).
    call(
        client,
        world,
        "inst-a",
        "POST",
        f"{base}/exclusions",
        {"excluded_organization_id": world.org["inst-b"]},
        code=201,
    )

    report = call(client, world, "broker", "POST", f"{base}/schedule")
    assert report["requests_accepted"] == 1 and report["requests_placed"] == 1
    assert report["value"] >= report["greedy_value"] and report["meetings"] >= 2
    meetings = call(client, world, "broker", "GET", f"{base}/meetings")
    pairs = {frozenset((m["a_id"], m["b_id"])): m for m in meetings}
    pid = {who: p["id"] for who, p in participant.items()}
    requested = pairs[frozenset((pid["ent-a"], pid["inst-b"]))]
    assert requested["source"] == "request"
    assert frozenset((pid["ent-b"], pid["inst-a"])) not in pairs  # declined
    assert frozenset((pid["inst-a"], pid["inst-b"])) not in pairs  # excluded
    proposal = pairs[frozenset((pid["ent-a"], pid["inst-a"]))]
    assert (proposal["source"], proposal["need_id"], proposal["offer_id"]) == (
        "proposal",
        ids["irrigation_need"],
        ids["irrigation_offer"],
    )
    for m in meetings:  # one meeting per participant and slot, tables 1..2, ent-b only in slots 1-2
        assert 1 <= m["table_number"] <= 2 and 0 <= m["slot"] < 3
    assert max(Counter(m["slot"] for m in meetings).values()) <= 2
    seats = Counter((p, m["slot"]) for m in meetings for p in (m["a_id"], m["b_id"]))
    assert max(seats.values()) == 1
    assert all(m["slot"] in (1, 2) for m in meetings if pid["ent-b"] in (m["a_id"], m["b_id"]))

    # Agendas: JSON and CSV, own organization (or staff) only; the table plan for staff.
    agenda = call(client, world, "ent-a", "GET", f"{base}/participants/{pid['ent-a']}/agenda")
    assert [item["meeting_id"] for item in agenda["items"]] == sorted(
        (m["id"] for m in meetings if pid["ent-a"] in (m["a_id"], m["b_id"])),
        key=lambda mid: next(m["slot"] for m in meetings if m["id"] == mid),
    )
    assert {item["counterpart_organization"] for item in agenda["items"]} == {"INST-A", "INST-B"}
    csv_response = client.get(f"{base}/participants/{pid['ent-a']}/agenda.csv", headers=world.auth("ent-a"))
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [row["table"] for row in rows] == [str(item["table"]) for item in agenda["items"]]
    call(client, world, "ent-b", "GET", f"{base}/participants/{pid['ent-a']}/agenda", code=403)
    disarmed = next(row for row in rows if row["counterpart_organization"] == "INST-B")
    assert disarmed["counterpart_attendees"] == "'=SUM(1); <b>Bo</b>"
    page = client.get(f"{base}/participants/{pid['ent-a']}/agenda.html", headers=world.auth("ent-a"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;Bo&lt;/b&gt;" in page.text and "<b>Bo" not in page.text
    assert page.text.count("<tr>") == len(agenda["items"]) + 1 and "Ngày kết nối công nghệ" in page.text
    assert (
        client.get(
            f"{base}/participants/{pid['ent-a']}/agenda.html", headers=world.auth("inst-a")
        ).status_code
        == 403
    )
    plan = call(client, world, "broker", "GET", f"{base}/table-plan")
    assert len(plan["slots"]) == 3 and plan["slots"][1]["starts_at"] == "2027-03-05T01:20:00Z"
    assert sum(len(slot["tables"]) for slot in plan["slots"]) == len(meetings)
    call(client, world, "ent-a", "GET", f"{base}/table-plan", code=403)

    # Outcomes come after the day; publishing sends every participant its agenda.
    call(
        client,
        world,
        "broker",
        "POST",
        f"{base}/meetings/{proposal['id']}/outcome",
        {"outcome": "no_show"},
        code=409,
    )
    call(client, world, "broker", "POST", f"{base}/publish")
    call(client, world, "broker", "POST", f"{base}/publish", code=409)
    sent = call(client, world, "broker", "GET", "/api/v1/notifications")["items"]
    published = [n for n in sent if n["event"] == "event.schedule_published"]
    assert sorted(n["organization_id"] for n in published) == sorted(world.org[w] for w in own)

    # ent-a and inst-b confirm their meeting; ent-a cancels the other one, the rest is re-optimised.
    call(client, world, "ent-a", "POST", f"{base}/meetings/{requested['id']}/confirm")
    call(client, world, "ent-b", "POST", f"{base}/meetings/{requested['id']}/confirm", code=403)
    confirmed = call(client, world, "inst-b", "POST", f"{base}/meetings/{requested['id']}/confirm")
    assert confirmed["status"] == "confirmed"
    after = call(client, world, "ent-a", "POST", f"{base}/meetings/{proposal['id']}/cancel")
    assert after["confirmed_kept"] == 1
    call(client, world, "ent-a", "POST", f"{base}/meetings/{proposal['id']}/cancel", code=409)
    now = {m["id"]: m for m in call(client, world, "broker", "GET", f"{base}/meetings")}
    assert now[requested["id"]]["slot"] == requested["slot"] and now[requested["id"]]["status"] == "confirmed"
    assert now[proposal["id"]]["status"] == "cancelled"
    live_pairs = [frozenset((m["a_id"], m["b_id"])) for m in now.values() if m["status"] != "cancelled"]
    assert frozenset((pid["ent-a"], pid["inst-a"])) not in live_pairs
    changed = [
        n
        for n in call(client, world, "broker", "GET", "/api/v1/notifications")["items"]
        if n["event"] == "event.agenda_changed"
    ]
    assert {world.org["ent-a"], world.org["inst-a"]} <= {n["organization_id"] for n in changed}

    # An exclusion added between two organizations that confirmed a meeting blocks re-scheduling.
    call(
        client,
        world,
        "broker",
        "POST",
        f"{base}/exclusions",
        {"organization_id": world.org["ent-a"], "excluded_organization_id": world.org["inst-b"]},
        code=201,
    )
    blocked = call(client, world, "broker", "POST", f"{base}/schedule", code=409)
    assert "Confirmed meetings break the event's rules" in blocked["error"]["message"]

    # After the day: an introduction puts the pair into the broker pipeline as introduced.
    call(client, world, "broker", "PATCH", base, {"status": "closed"})
    call(
        client,
        world,
        "ent-a",
        "POST",
        f"{base}/meetings/{requested['id']}/outcome",
        {"outcome": "no_show"},
        code=403,
    )
    call(
        client,
        world,
        "broker",
        "POST",
        f"{base}/meetings/{requested['id']}/outcome",
        {"outcome": "led_to_introduction", "need_id": ids["welding_need"], "offer_id": ids["welding_offer"]},
        code=422,
    )  # ent-b's need was not at this table
    irrigation = call(
        client,
        world,
        "broker",
        "POST",
        f"{base}/meetings/{requested['id']}/outcome",
        {
            "outcome": "led_to_introduction",
            "need_id": ids["irrigation_need"],
            "offer_id": ids["welding_offer"],
            "note": "they will pilot the cell's controller",
        },
    )
    assert irrigation["outcome"] == "led_to_introduction" and irrigation["match_id"]
    match = call(client, world, "broker", "GET", f"/api/v1/matches/{irrigation['match_id']}")
    assert match["status"] == "introduced" and match["features"]  # scored: the ranker can learn from it
    history = call(client, world, "broker", "GET", f"/api/v1/matches/{irrigation['match_id']}/history")
    assert [e["to_status"] for e in history] == ["accepted", "introduced"]
    call(client, world, "broker", "POST", f"{base}/schedule", code=409)  # closed


def test_inputs_are_bounded_and_roles_enforced(client: TestClient, world: World) -> None:
    good = {"name": "Tech day", "venue": "Hall A", "starts_at": "2027-03-05T08:00:00Z"}
    for bad in (
        {"slots": 49},
        {"tables": 0},
        {"slot_minutes": 1000},
        {"starts_at": "9999-12-31T23:59:00Z"},
        {"min_score": 1.5},
        {"colour": "red"},
    ):
        call(client, world, "broker", "POST", EVENTS, {**good, **bad}, code=422)
    call(client, world, "ent-a", "POST", EVENTS, good, code=403)
    assert client.post(EVENTS, json=good).status_code == 401
    event = call(client, world, "admin", "POST", EVENTS, {**good, "slots": 4}, code=201)
    base = f"{EVENTS}/{event['id']}"
    call(client, world, "ent-a", "POST", f"{base}/participants", {"attendees": ["x"] * 11}, code=422)
    call(client, world, "ent-a", "POST", f"{base}/participants", {"meeting_cap": 5}, code=422)
    call(client, world, "ent-a", "POST", f"{base}/participants", {"available_slots": [4]}, code=422)
    call(
        client,
        world,
        "ent-a",
        "POST",
        f"{base}/participants",
        {"organization_id": world.org["ent-b"]},
        code=403,
    )
    call(client, world, "broker", "POST", f"{base}/participants", {}, code=422)
    assert client.post(f"{base}/participants", json={}).status_code == 401
    call(client, world, "ent-a", "POST", f"{base}/requests", {"target_id": 1}, code=422)  # not registered
    call(client, world, "ent-a", "POST", f"{EVENTS}/999999/participants", {}, code=404)
    assert client.get(f"{EVENTS}/999999").status_code == 404
    listed = client.get(EVENTS).json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Tech day"
