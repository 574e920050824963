"""The broker workflow over HTTP, end to end: suggestions, review, pipeline, webhooks, history and stats."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from matcher.ranker import DEFAULT_VERSION
from models.base import transaction
from models.organizations import get_organization, update_organization
from tests.api.conftest import World, need_body, offer_body
from tests.api.test_webhooks import Receiver

MATCHES = "/api/v1/matches"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The real background workers, with delays short enough for a test."""
    return settings.model_copy(
        update={
            "background_workers": True,
            # A three-offer catalogue under the hash encoder scores its second good offer low; the
            # workflow is under test here, not the threshold.
            "suggestion_threshold": 0.01,
            "webhook_poll_seconds": 0.05,
            "webhook_base_delay_seconds": 0.05,
            "webhook_timeout_seconds": 2.0,
            "webhook_allowed_networks": [ip_network("127.0.0.1/32")],
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def post(client: TestClient, world: World, who: str, path: str, body: dict) -> dict:
    response = client.post(path, json=body, headers=world.auth(who))
    assert response.status_code in (200, 201), response.text
    return response.json()


def settle(client: TestClient) -> None:
    """Wait until published listings are indexed and matched by the background workers."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.index_sync.wait_idle(10)
    assert runtime.components["suggestions"].wait_idle(10)


def test_broker_workflow_end_to_end(client: TestClient, world: World, receiver: Receiver) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.session_factory) as session:
        for slug in ("ent-a", "inst-a", "inst-b"):
            update_organization(
                session=session,
                organization=get_organization(session=session, organization_id=world.org[slug]),
                values={"webhook_url": f"{receiver.url}/{slug}"},
            )
    english = {"language": "en", "keywords": ["irrigation", "drip"]}
    post(
        client,
        world,
        "inst-a",
        "/api/v1/offers",
        offer_body(
            title="Soil moisture drip irrigation controller",
            **english,
            description="Drip irrigation controller for durian orchards driven by soil moisture sensors.",
        ),
    )
    post(
        client,
        world,
        "inst-b",
        "/api/v1/offers",
        offer_body(
            title="Orchard irrigation scheduling with moisture sensors",
            **english,
            description="Sensors and a scheduler water orchards automatically; suits durian and mango.",
        ),
    )
    welding = post(
        client,
        world,
        "inst-b",
        "/api/v1/offers",
        offer_body(
            title="Robotic welding cell",
            sector="robotics",
            language="en",
            keywords=["welding"],
            description="A six-axis welding robot for steel frames.",
        ),
    )
    own_offer = post(
        client,
        world,
        "admin",
        "/api/v1/offers",
        offer_body(title="Our own irrigation kit", organization_id=world.org["ent-a"], **english),
    )
    settle(client)
    need = post(client, world, "ent-a", "/api/v1/needs", need_body())
    settle(client)

    # Suggestions appeared in the background, best first, with what the engine saw.
    queue = client.get(MATCHES, params={"need_id": need["id"]}, headers=world.auth("broker")).json()
    assert queue["total"] >= 2, queue
    scores = [item["score"] for item in queue["items"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= runtime.settings.suggestion_threshold
    assert all(
        item["status"] == "suggested" and item["ranker_version"] == DEFAULT_VERSION for item in queue["items"]
    )
    assert own_offer["id"] not in {item["offer"]["id"] for item in queue["items"]}  # never with itself
    best, worst = queue["items"][0], queue["items"][-1]
    assert set(best["features"]) >= {"lexical", "dense", "similarity", "sector", "trl"} and best["explanation"]["features"]
    assert best["allowed_next"] == ["accepted", "rejected"]

    # Staff only.
    assert client.get(MATCHES, headers=world.auth("ent-a")).status_code == 403
    assert client.get(MATCHES).status_code == 401

    # Review: a rejection needs a known reason, "other" a note.
    review = f"{MATCHES}/{worst['id']}/review"
    bad = client.post(review, json={"decision": "reject", "reason": "other"}, headers=world.auth("broker"))
    assert bad.status_code == 422 and "note" in bad.json()["error"]["message"]
    assert (
        client.post(
            review, json={"decision": "reject", "reason": "no_idea"}, headers=world.auth("broker")
        ).status_code
        == 422
    )
    rejected = post(
        client,
        world,
        "broker",
        review,
        {"decision": "reject", "reason": "not_relevant", "note": "different crop"},
    )
    assert rejected["status"] == "rejected" and rejected["allowed_next"] == []
    accepted = post(client, world, "broker", f"{MATCHES}/{best['id']}/review", {"decision": "accept"})
    assert accepted["status"] == "accepted"

    # Only legal moves; the 409 names what may come next.
    move = f"{MATCHES}/{best['id']}/transition"
    illegal = client.post(move, json={"to": "deal"}, headers=world.auth("broker"))
    assert illegal.status_code == 409
    assert "Allowed next: introduced, lost" in illegal.json()["error"]["message"]
    assert (
        client.post(
            f"{MATCHES}/{worst['id']}/transition", json={"to": "accepted"}, headers=world.auth("broker")
        ).status_code
        == 409
    )

    post(client, world, "broker", move, {"to": "introduced", "note": "Meet at the exchange on Friday"})
    assert runtime.components["webhooks"].wait_idle(10)
    introduced_org = {"ent-a", best["offer"]["organization_name"].lower()}
    assert {path.strip("/") for path, _key, _body in receiver.received} == introduced_org
    keys = [key for _path, key, _body in receiver.received]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(keys)
    for _path, _key, body in receiver.received:
        assert body["event"] == "match.introduced" and body["match"]["id"] == best["id"]
        assert body["note"] == "Meet at the exchange on Friday"

    post(client, world, "broker", move, {"to": "negotiating"})
    lost_without_reason = client.post(move, json={"to": "lost"}, headers=world.auth("broker"))
    assert lost_without_reason.status_code == 422
    done = post(client, world, "broker", move, {"to": "deal", "note": "licence signed"})
    assert done["status"] == "deal"
    closed = client.post(move, json={"to": "lost", "reason": "timing"}, headers=world.auth("broker"))
    assert closed.status_code == 409 and "closed" in closed.json()["error"]["message"]

    history = client.get(f"{MATCHES}/{best['id']}/history", headers=world.auth("broker")).json()
    assert [(e["from_status"], e["to_status"]) for e in history] == [
        (None, "suggested"),
        ("suggested", "accepted"),
        ("accepted", "introduced"),
        ("introduced", "negotiating"),
        ("negotiating", "deal"),
    ]
    assert history[0]["actor_role"] == "system"
    assert all(e["actor_role"] == "broker" and e["actor_api_key_id"] for e in history[1:])
    assert history[-1]["note"] == "licence signed"

    detail = client.get(f"{MATCHES}/{best['id']}", headers=world.auth("broker")).json()
    assert [n["status"] for n in detail["notifications"]] == ["delivered", "delivered"]
    delivered = client.get(
        "/api/v1/notifications", params={"status": "delivered"}, headers=world.auth("admin")
    )
    assert delivered.json()["total"] == 2

    # Queue filters, sort and paging.
    def total(**params: object) -> int:
        response = client.get(MATCHES, params=params, headers=world.auth("broker"))
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total(status="rejected") == 1 and total(status=["deal", "rejected"]) == 2
    assert total(sector="robotics") == 0 and total(sector="smart_agriculture") == queue["total"]
    assert total(organization_id=world.org["ent-a"]) == queue["total"]
    assert total(score_min=best["score"]) >= 1 and total(score_max=0.0) == 0
    page = client.get(MATCHES, params={"limit": 1, "sort": "created_at"}, headers=world.auth("broker")).json()
    assert len(page["items"]) == 1 and page["total"] == queue["total"]
    assert (
        client.get(
            MATCHES, params={"score_min": 0.9, "score_max": 0.1}, headers=world.auth("broker")
        ).status_code
        == 422
    )
    assert client.get(MATCHES, params={"colour": "red"}, headers=world.auth("broker")).status_code == 422

    # A broker adds a pair the engine missed; the hard rules still hold.
    itself = client.post(
        MATCHES, json={"need_id": need["id"], "offer_id": own_offer["id"]}, headers=world.auth("broker")
    )
    assert itself.status_code == 422
    added = post(
        client,
        world,
        "broker",
        MATCHES,
        {"need_id": need["id"], "offer_id": welding["id"], "note": "they also automate pumps"},
    )
    assert (added["status"], added["source"], added["note"]) == (
        "accepted",
        "broker",
        "they also automate pumps",
    )
    assert added["score"] is not None and added["ranker_version"] == DEFAULT_VERSION
    again = client.post(
        MATCHES, json={"need_id": need["id"], "offer_id": welding["id"]}, headers=world.auth("broker")
    )
    assert again.status_code == 409

    stats = client.get("/api/v1/stats", headers=world.auth("broker")).json()
    assert (stats["reviews"], stats["acceptance_rate"]) == (2, 0.5)
    assert stats["acceptance_by_sector"]["smart_agriculture"]["reviews"] == 2
    assert sum(stats["suggestions_by_sector"].values()) == stats["suggestions"]
    assert len(stats["listings_by_week"]) == 12
    assert sum(week["offers"] + week["needs"] for week in stats["listings_by_week"]) >= 2
    assert sum(band["reviews"] for band in stats["acceptance_by_score_band"].values()) == 2
    assert {"suggested", "accepted", "introduced", "negotiating"} <= set(stats["stage_durations"])
    assert client.get("/api/v1/stats", headers=world.auth("inst-a")).status_code == 403
    assert client.get(f"{MATCHES}/999999", headers=world.auth("broker")).status_code == 404
