"""Duplicate and translation links through the API: detection, review, collapsed results, one suggestion
per technology. The link worker is called directly (background workers are off in test apps)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.links import LinkWorker, cluster_map
from api.suggestions import SuggestionWorker
from core.settings import Settings, get_settings
from core.taxonomy import OrgKind, Region, Role
from models.base import transaction
from models.links import LinkStatus, LinkType, ListingLink
from models.matches import Match
from models.organizations import create_api_key, create_organization
from models.search_scope import SearchScope
from scripts.cli import app as cli
from tests.api.conftest import World, need_body, offer_body

EVERY_PUBLISHED = SearchScope(None)

TOPICS = [
    ("Solar panel cleaning robot for rooftop plants", "A tracked robot brushes dust off photovoltaic rows."),
    ("Fish sauce fermentation accelerator", "Endogenous proteases shorten anchovy brine fermentation."),
    ("Concrete 3D printer for low-rise houses", "Gantry extrusion of local aggregate mortar walls."),
    ("Credit scoring from mobile money records", "Alternative data model for micro-merchants lending."),
    ("Shrimp pond dissolved oxygen sensor", "Optical probe with LoRa uplink for aquaculture farms."),
    ("Textile defect inspection camera", "Line-scan vision finds weaving faults on looms."),
]
ORIGINAL = (
    "Drip irrigation controller for durian orchards",
    "Soil moisture probes drive drip irrigation valves over LoRa for durian orchards in the Mekong Delta; "
    "saves 40% water.",
)
REPOST = (
    "Drip irrigation controller for durian orchards (new version)",
    "Soil moisture probes drive drip irrigation valves over LoRa for durian orchards in the Mekong Delta; "
    "saves 40% of water.",
)


def post(client: TestClient, world: World, who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=world.auth(who))
    assert response.status_code == 201, response.text
    return response.json()


def english_offer(title: str, description: str, **overrides: Any) -> dict[str, Any]:
    return offer_body(title=title, description=description, language="en", keywords=[], **overrides)


def runtime_of(client: TestClient) -> Any:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.index_sync.wait_idle(10)
    return runtime


def link_worker(client: TestClient) -> LinkWorker:
    runtime = runtime_of(client)
    return LinkWorker(session_factory=runtime.session_factory, indexes=runtime.index_sync.indexes)


def publish_catalogue(client: TestClient, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """Six distinct offers, an original and its re-post by another institute."""
    for title, description in TOPICS:
        post(client, world, "inst-a", "/api/v1/offers", english_offer(title, description))
    original = post(client, world, "inst-a", "/api/v1/offers", english_offer(*ORIGINAL))
    repost = post(client, world, "inst-b", "/api/v1/offers", english_offer(*REPOST))
    return original, repost


def test_a_repost_is_found_shown_on_both_listings_and_reviewed_by_brokers(
    client: TestClient, world: World
) -> None:
    original, repost = publish_catalogue(client, world)
    outcomes = link_worker(client).process([("offers", repost["id"])])
    assert outcomes["created"] == 1

    for listing_id, other_id in ((original["id"], repost["id"]), (repost["id"], original["id"])):
        (link,) = client.get(f"/api/v1/offers/{listing_id}/links").json()
        ends = {link["listing_a"]["id"], link["listing_b"]["id"]}
        assert ends == {listing_id, other_id}
        assert link["link_type"] == "duplicate" and link["status"] == "proposed"
        assert link["score"] > 1.0 and link["reason"]["word_overlap"] > 0.5
        assert "lora" in link["reason"]["shared_anchors"] and "40" in link["reason"]["shared_anchors"]
        assert "near-copy" in link["reason"]["summary"]
    link_id = link["id"]

    # Only brokers and admins decide; members and anonymous callers are refused.
    decision = {"decision": "dismiss"}
    assert client.post(f"/api/v1/links/{link_id}/decision", json=decision).status_code == 401
    forbidden = client.post(f"/api/v1/links/{link_id}/decision", json=decision, headers=world.auth("inst-a"))
    assert forbidden.status_code == 403
    assert client.get("/api/v1/links", headers=world.auth("inst-b")).status_code == 403
    bad = client.post(
        f"/api/v1/links/{link_id}/decision", json={"decision": "merge"}, headers=world.auth("broker")
    )
    assert bad.status_code == 422
    assert (
        client.post("/api/v1/links/999999/decision", json=decision, headers=world.auth("broker")).status_code
        == 404
    )

    queue = client.get("/api/v1/links", params={"status": "proposed"}, headers=world.auth("broker")).json()
    assert queue["total"] == 1 and queue["items"][0]["id"] == link_id
    dismissed = client.post(f"/api/v1/links/{link_id}/decision", json=decision, headers=world.auth("broker"))
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed" and dismissed.json()["decided_by"] is not None
    again = client.post(f"/api/v1/links/{link_id}/decision", json=decision, headers=world.auth("broker"))
    assert again.status_code == 409

    # A dismissed link is the broker's record: members no longer see it, and it is never proposed again,
    # even after the re-post changes.
    assert client.get(f"/api/v1/offers/{original['id']}/links").json() == []
    assert len(client.get(f"/api/v1/offers/{original['id']}/links", headers=world.auth("broker")).json()) == 1
    patched = client.patch(
        f"/api/v1/offers/{repost['id']}",
        json={"title": REPOST[0] + " 2026"},
        headers=world.auth("inst-b"),
    )
    assert patched.status_code == 200
    runtime_of(client)
    assert link_worker(client).process([("offers", repost["id"])]) == {"kept": 1}
    (stored,) = client.get("/api/v1/links", headers=world.auth("admin")).json()["items"]
    assert stored["status"] == "dismissed"


def test_links_follow_the_listing_out_of_the_exchange(client: TestClient, world: World) -> None:
    original, repost = publish_catalogue(client, world)
    worker = link_worker(client)
    worker.process([("offers", original["id"])])
    archived = client.post(f"/api/v1/offers/{repost['id']}/archive", headers=world.auth("inst-b"))
    assert archived.status_code == 200
    runtime_of(client)
    assert worker.process([("offers", repost["id"])]) == {"withdrawn": 1}
    assert client.get(f"/api/v1/offers/{original['id']}/links").json() == []

    # Deleting a listing deletes its links at once, decided ones included.
    client.patch(f"/api/v1/offers/{repost['id']}", json={"status": "published"}, headers=world.auth("inst-b"))
    runtime_of(client)
    worker.process([("offers", repost["id"])])
    (link,) = client.get(f"/api/v1/offers/{original['id']}/links").json()
    client.post(
        f"/api/v1/links/{link['id']}/decision", json={"decision": "confirm"}, headers=world.auth("broker")
    )
    assert client.delete(f"/api/v1/offers/{repost['id']}", headers=world.auth("inst-b")).status_code == 204
    assert client.get("/api/v1/links", headers=world.auth("broker")).json()["total"] == 0
    assert worker.process([("offers", repost["id"])]) == {}


def test_links_of_a_hidden_listing_are_hidden(client: TestClient, world: World) -> None:
    original, repost = publish_catalogue(client, world)
    link_worker(client).process([("offers", repost["id"])])
    # The link is the worker's; a draft of the re-post afterwards hides it from the public.
    client.patch(f"/api/v1/offers/{repost['id']}", json={"status": "draft"}, headers=world.auth("inst-b"))
    assert client.get(f"/api/v1/offers/{original['id']}/links").json() == []
    assert len(client.get(f"/api/v1/offers/{original['id']}/links", headers=world.auth("inst-b")).json()) == 1
    assert client.get(f"/api/v1/offers/{repost['id']}/links").status_code == 404


def test_search_and_matches_show_one_hit_per_technology(client: TestClient, world: World) -> None:
    original, repost = publish_catalogue(client, world)
    runtime_of(client)
    query = {"q": "drip irrigation controller durian orchards"}
    before = client.get("/api/v1/search/offers", params=query).json()
    assert {original["id"], repost["id"]} <= {item["offer"]["id"] for item in before["items"]}

    link_worker(client).process([("offers", repost["id"])])
    after = client.get("/api/v1/search/offers", params=query).json()
    ids = [item["offer"]["id"] for item in after["items"]]
    assert len({original["id"], repost["id"]} & set(ids)) == 1
    assert after["total"] == before["total"] - 1
    (hit,) = [item for item in after["items"] if item["offer"]["id"] in (original["id"], repost["id"])]
    other = repost["id"] if hit["offer"]["id"] == original["id"] else original["id"]
    assert [also["id"] for also in hit["also_listed_as"]] == [other]

    need = post(client, world, "ent-a", "/api/v1/needs", need_body())
    runtime_of(client)
    matched = client.get(f"/api/v1/needs/{need['id']}/matches", params={"k": 20}).json()["items"]
    matched_ids = [item["offer"]["id"] for item in matched]
    assert len({original["id"], repost["id"]} & set(matched_ids)) == 1
    assert any(item["also_listed_as"] for item in matched)

    # A dismissed link splits the cluster again.
    (link,) = client.get(f"/api/v1/offers/{original['id']}/links").json()
    client.post(
        f"/api/v1/links/{link['id']}/decision", json={"decision": "dismiss"}, headers=world.auth("broker")
    )
    split = client.get("/api/v1/search/offers", params=query).json()
    assert {original["id"], repost["id"]} <= {item["offer"]["id"] for item in split["items"]}


def test_one_technology_is_suggested_once_per_counterpart(client: TestClient, world: World) -> None:
    original, repost = publish_catalogue(client, world)
    need = post(client, world, "ent-a", "/api/v1/needs", need_body())
    runtime = runtime_of(client)
    link_worker(client).process([("offers", original["id"]), ("offers", repost["id"])])
    suggestions = SuggestionWorker(
        settings=runtime.settings.model_copy(update={"suggestion_threshold": 0.0}),
        session_factory=runtime.session_factory,
        matcher=runtime.matcher,
    )
    suggestions.process([("needs", need["id"])])
    # Matching either offer later does not bring its twin to the broker for the same need.
    outcomes = suggestions.process([("offers", original["id"]), ("offers", repost["id"])])
    assert outcomes["clustered"] == 1
    with runtime.session_factory() as session:
        offers = set(session.scalars(select(Match.offer_id).where(Match.need_id == need["id"])))
    assert len(offers & {original["id"], repost["id"]}) == 1


def test_techmatch_links_recomputes_every_listing(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _original, _repost = publish_catalogue(client, world)
    runtime = runtime_of(client)
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("TECHMATCH_DATABASE_URL", runtime.settings.sqlalchemy_url)
    monkeypatch.setenv("TECHMATCH_EMBEDDING_MODEL", "fake:64")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["links"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output
    with runtime.session_factory() as session:
        assert len(list(session.scalars(select(ListingLink)))) == 1


def make_world(client: TestClient) -> World:
    """Two institutes and the exchange, with keys (the `world` fixture is tied to the `client` fixture)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    specs = {
        "admin": (Role.ADMIN, "exchange", OrgKind.EXCHANGE_OPERATOR),
        "inst-a": (Role.INSTITUTE_MEMBER, "inst-a", OrgKind.RESEARCH_INSTITUTE),
        "inst-b": (Role.INSTITUTE_MEMBER, "inst-b", OrgKind.UNIVERSITY),
    }
    org, keys = {}, {}
    with transaction(runtime.session_factory) as session:
        for who, (role, slug, kind) in specs.items():
            values: dict[str, object] = {
                "slug": slug,
                "name": slug.upper(),
                "kind": kind,
                "region": Region.HO_CHI_MINH_CITY,
            }
            org[slug] = create_organization(session=session, values=values).id
            keys[who] = create_api_key(session=session, role=role, name=who, organization_id=org[slug])[1]
    return World(org=org, keys=keys)


def test_the_running_service_links_new_listings_in_the_background(settings: Settings) -> None:
    """The suggestion worker runs the link worker before suggesting; health reports it."""
    live = settings.model_copy(update={"background_workers": True})
    with TestClient(create_app(live)) as client:
        world = make_world(client)
        original, repost = publish_catalogue(client, world)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        # Waiting for the suggestion worker is waiting for the links: it finds them first.
        assert runtime.index_sync.wait_idle(10)
        assert runtime.components["suggestions"].wait_idle(10)
        (link,) = client.get(f"/api/v1/offers/{original['id']}/links").json()
        assert {link["listing_a"]["id"], link["listing_b"]["id"]} == {original["id"], repost["id"]}
        health = client.get("/api/v1/healthz", headers=world.auth("admin")).json()
        assert health["workers"]["links"]["failures"] == 0
        assert health["workers"]["links"]["created"] >= 1


def test_the_link_review_endpoints_answer_each_role(client: TestClient, world: World) -> None:
    first, second = publish_catalogue(client, world)
    assert link_worker(client).process([("offers", second["id"])])["created"] == 1
    (found,) = client.get(f"/api/v1/offers/{first['id']}/links").json()
    link_id = found["id"]
    expected = {None: 401, "inst-a": 403, "ent-a": 403, "broker": 200, "admin": 200}
    for who, status in expected.items():
        headers = world.auth(who) if who else {}
        assert client.get("/api/v1/links", headers=headers).status_code == status, who
        assert client.get(f"/api/v1/links/{link_id}", headers=headers).status_code == status, who
    decision = {"decision": "confirm"}
    for who, status in (("ent-a", 403), ("inst-b", 403), ("admin", 200)):
        answer = client.post(f"/api/v1/links/{link_id}/decision", json=decision, headers=world.auth(who))
        assert answer.status_code == status, (who, answer.text)
    # Anyone who may see both listings reads the link on either of them, members and visitors alike.
    for who in (None, "ent-a", "inst-a"):
        headers = world.auth(who) if who else {}
        (shown,) = client.get(f"/api/v1/offers/{first['id']}/links", headers=headers).json()
        assert shown["status"] == "confirmed", who


def test_clusters_over_published_listings_leave_out_links_to_a_draft(client: TestClient, world: World) -> None:
    original, repost = publish_catalogue(client, world)
    link_worker(client).process([("offers", repost["id"])])
    factory = runtime_of(client).session_factory
    with factory() as session:
        cluster = min(original["id"], repost["id"])
        expected = {original["id"]: cluster, repost["id"]: cluster}
        assert cluster_map(session=session, kind="offers", scope=EVERY_PUBLISHED) == expected
    client.patch(f"/api/v1/offers/{repost['id']}", json={"status": "draft"}, headers=world.auth("inst-b"))
    with factory() as session:
        assert cluster_map(session=session, kind="offers", scope=EVERY_PUBLISHED) == {}
        assert cluster_map(session=session, kind="offers") == expected


def test_clusters_never_join_two_visible_listings_through_a_hidden_one(
    client: TestClient, world: World
) -> None:
    """A chain of links A - H - B where H is a brokers-only need: for a viewer H is hidden from, A and B
    stay apart; staff (nothing hidden) see one cluster."""
    ids = [
        post(client, world, "ent-a", "/api/v1/needs", need_body(title="Chain need A"))["id"],
        post(
            client,
            world,
            "ent-a",
            "/api/v1/needs",
            need_body(title="Chain need H", confidentiality="brokers_only"),
        )["id"],
        post(client, world, "ent-b", "/api/v1/needs", need_body(title="Chain need B"))["id"],
    ]
    a, hidden, b = ids
    factory = runtime_of(client).session_factory
    with transaction(factory) as session:
        for low, high in ((a, hidden), (hidden, b)):
            session.add(
                ListingLink(
                    kind="needs", listing_a_id=min(low, high), listing_b_id=max(low, high),
                    link_type=LinkType.DUPLICATE, score=1.0, reason={}, status=LinkStatus.CONFIRMED,
                )
            )  # fmt: skip
    with factory() as session:
        everything = cluster_map(session=session, kind="needs", scope=EVERY_PUBLISHED)
        assert everything == {a: min(ids), hidden: min(ids), b: min(ids)}
        seen = cluster_map(session=session, kind="needs", scope=SearchScope(None, frozenset({hidden})))
        assert seen == {}
