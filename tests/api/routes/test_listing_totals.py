"""List totals come from the process's listing facets: exact, and right on the very next request after a
write through the API (create, change, archive, delete) or the floor."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from models.facets import ListingFacets
from tests.api.conftest import World, need_body, offer_body
from tests.api.routes.test_listings import NEEDS, OFFERS, create


def total(
    client: TestClient, path: str, who: str | None = None, world: World | None = None, **params: object
) -> int:
    headers = world.auth(who) if who and world else {}
    page = client.get(path, params=params, headers=headers).json()
    assert page["total_exact"] is True
    return int(page["total"])


def test_totals_follow_every_write_at_once(client: TestClient, world: World) -> None:
    assert isinstance(client.app.state.runtime.facets, ListingFacets)  # type: ignore[attr-defined]
    a = create(client, world, "inst-a", OFFERS, offer_body(trl=5, transfer_types=["licence"]))
    b = create(client, world, "inst-a", OFFERS, offer_body(trl=7, transfer_types=["assignment", "licence"]))
    create(client, world, "inst-b", OFFERS, offer_body(trl=8, transfer_types=["joint_venture"]))
    licensed = {"trl_min": 5, "transfer_type": "licence"}
    assert total(client, OFFERS, **licensed) == 2
    assert total(client, OFFERS) == 3

    headers = world.auth("inst-a")
    assert client.patch(f"{OFFERS}/{a['id']}", json={"trl": 4}, headers=headers).status_code == 200
    assert total(client, OFFERS, **licensed) == 1
    patched = client.patch(f"{OFFERS}/{b['id']}", json={"transfer_types": ["consultancy"]}, headers=headers)
    assert patched.status_code == 200
    assert total(client, OFFERS, **licensed) == 0
    assert total(client, OFFERS, transfer_type="consultancy") == 1

    # Archived: gone for others, still there for its owner and staff.
    assert client.post(f"{OFFERS}/{b['id']}/archive", headers=headers).status_code == 200
    assert total(client, OFFERS) == 2
    assert total(client, OFFERS, "inst-a", world) == 3
    assert total(client, OFFERS, "broker", world, status="archived") == 1
    # A draft again: the same.
    assert client.patch(f"{OFFERS}/{a['id']}", json={"status": "draft"}, headers=headers).status_code == 200
    assert total(client, OFFERS) == 1
    assert total(client, OFFERS, "inst-b", world) == 1
    assert total(client, OFFERS, "inst-a", world, organization_id=world.org["inst-a"]) == 2

    assert client.delete(f"{OFFERS}/{a['id']}", headers=headers).status_code == 204
    assert total(client, OFFERS, "broker", world) == 2
    assert total(client, OFFERS, "inst-a", world, organization_id=world.org["inst-a"]) == 1


def test_hidden_needs_are_counted_for_their_owner_and_staff_only(client: TestClient, world: World) -> None:
    secret = create(client, world, "ent-a", NEEDS, need_body(min_trl=3, confidentiality="brokers_only"))
    create(client, world, "ent-b", NEEDS, need_body(min_trl=4))
    assert [total(client, NEEDS, who, world) for who in (None, "ent-b", "ent-a", "broker")] == [1, 1, 2, 2]
    opened = client.patch(
        f"{NEEDS}/{secret['id']}", json={"confidentiality": "public"}, headers=world.auth("ent-a")
    )
    assert opened.status_code == 200
    assert [total(client, NEEDS, who, world) for who in (None, "ent-b")] == [2, 2]
    assert total(client, NEEDS, trl_max=3) == 1


def test_totals_are_exact_past_the_sql_cap(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.listings.COUNT_CAP", 2)
    for i in range(3):
        create(client, world, "inst-a", OFFERS, offer_body(title=f"Counted offer {i}"))
    assert total(client, OFFERS) == 3
    # The floor's browse page and organization page count them the same way.
    heading = client.get("/search", params={"kind": "offers"}).text.split('id="results-heading">')[1]
    assert heading.split()[0] == "3"
    narrowed = client.get("/search", params={"kind": "offers", "trl_min": 7}).text
    assert narrowed.split('id="results-heading">')[1].split()[0] == "0"


def test_facets_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"listing_facets": False}))) as client:
        assert client.app.state.runtime.facets is None  # type: ignore[attr-defined]
        assert client.get(OFFERS).json()["total"] == 0
