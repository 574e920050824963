"""Result pages show organizations' names read at most a second ago: a rename made by another worker
(straight in the store here) appears within that second, one made through this process at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api import listing_views
from api.runtime import Runtime
from models.base import transaction
from models.organizations import Organization
from tests.api.conftest import World, offer_body


def shown_names(client: TestClient) -> set[str]:
    items = client.get("/api/v1/search/offers", params={"q": "tưới nhỏ giọt"}).json()["items"]
    assert items
    return {item["offer"]["organization_name"] for item in items}


def test_a_rename_elsewhere_shows_within_a_second_and_one_here_at_once(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(listing_views.time, "monotonic", lambda: clock[0])
    created = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a"))
    assert created.status_code == 201
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.index_sync.wait_idle(10)
    assert shown_names(client) == {"INST-A"}
    with transaction(runtime.session_factory) as session:
        session.execute(
            update(Organization).where(Organization.id == world.org["inst-a"]).values(name="Viện A")
        )
    clock[0] += listing_views.NAME_SECONDS / 2
    assert shown_names(client) == {"INST-A"}, "read again before its second was up"
    clock[0] += listing_views.NAME_SECONDS / 2
    assert shown_names(client) == {"Viện A"}
    renamed = client.patch(
        f"/api/v1/organizations/{world.org['inst-a']}", json={"name": "Viện B"}, headers=world.auth("inst-a")
    )
    assert renamed.status_code == 200
    assert shown_names(client) == {"Viện B"}
