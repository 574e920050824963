"""A filtered search's scope (`/search/...?sector=...`): from the listing facets when they are on, from SQL
when they are off; either way only listings the filters keep, and each write seen by the next request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.api.conftest import World, need_body, offer_body
from tests.api.routes.test_matching import NEEDS, OFFERS, post, settle

SEARCH_OFFERS, SEARCH_NEEDS = "/api/v1/search/offers", "/api/v1/search/needs"


@pytest.fixture(params=[True, False], ids=["facets", "sql"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.model_copy(update={"listing_facets": request.param})


@pytest.fixture(autouse=True)
def facets_or_sql(client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """With facets on, the SQL id query must not run (it would fail the test)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert (runtime.facets is not None) is settings.listing_facets
    if settings.listing_facets:

        def sql(**_: Any) -> set[int]:
            raise AssertionError("a filtered scope was read in SQL with the facets on")

        monkeypatch.setattr("models.search_scope.visible_ids", sql)


def titles(
    client: TestClient, path: str = SEARCH_OFFERS, who: dict[str, str] | None = None, **params: Any
) -> set[str]:
    response = client.get(path, params={"q": "cảm biến độ mặn", **params}, headers=who or {})
    assert response.status_code == 200, response.text
    page = response.json()
    found = {item["offer" if path == SEARCH_OFFERS else "need"]["title"] for item in page["items"]}
    assert page["total"] == len(found)
    return found


def test_a_filtered_search_returns_what_the_filters_keep_right_after_each_write(
    client: TestClient, world: World
) -> None:
    headers = world.auth("broker")  # staff may change any listing
    a = post(client, world, "inst-a", OFFERS, offer_body(title="Cảm biến độ mặn A", trl=6))
    b = post(client, world, "inst-a", OFFERS, offer_body(title="Cảm biến độ mặn B", trl=7, sector="robotics"))
    c = post(client, world, "inst-b", OFFERS, offer_body(title="Cảm biến độ mặn C", trl=3))
    settle(client)
    agriculture = {"sector": "smart_agriculture"}
    mature = {"sector": "smart_agriculture", "trl_min": 5}
    assert titles(client) == {"Cảm biến độ mặn A", "Cảm biến độ mặn B", "Cảm biến độ mặn C"}
    assert titles(client, **agriculture) == {"Cảm biến độ mặn A", "Cảm biến độ mặn C"}
    assert titles(client, **mature) == {"Cảm biến độ mặn A"}
    assert titles(client, sector="robotics", trl_max=6) == set()

    # Each change is in the very next search's scope: no waiting for a worker.
    def patch(offer: dict[str, Any], **values: Any) -> None:
        assert client.patch(f"{OFFERS}/{offer['id']}", json=values, headers=headers).status_code == 200

    patch(b, sector="smart_agriculture")
    assert titles(client, **mature) == {"Cảm biến độ mặn A", "Cảm biến độ mặn B"}
    patch(a, trl=2)
    assert titles(client, **mature) == {"Cảm biến độ mặn B"}
    patch(c, trl=9)
    assert titles(client, **mature) == {"Cảm biến độ mặn B", "Cảm biến độ mặn C"}
    assert client.post(f"{OFFERS}/{b['id']}/archive", headers=headers).status_code == 200
    assert titles(client, **mature) == {"Cảm biến độ mặn C"}
    assert titles(client, **agriculture, transfer_type="licence") == {
        "Cảm biến độ mặn A",
        "Cảm biến độ mặn C",
    }
    patch(c, transfer_types=["assignment"])
    assert titles(client, **agriculture, transfer_type="licence") == {"Cảm biến độ mặn A"}
    assert client.delete(f"{OFFERS}/{a['id']}", headers=headers).status_code == 204
    assert titles(client, **agriculture) == {"Cảm biến độ mặn C"}

    # A new listing, once indexed, is in the filtered scope.
    post(client, world, "inst-b", OFFERS, offer_body(title="Cảm biến độ mặn D", trl=8))
    settle(client)
    assert titles(client, **mature) == {"Cảm biến độ mặn C", "Cảm biến độ mặn D"}


def test_a_filtered_search_keeps_brokers_only_needs_to_their_owner_and_staff(
    client: TestClient, world: World
) -> None:
    post(
        client, world, "ent-a", NEEDS, need_body(title="Cảm biến độ mặn kín", confidentiality="brokers_only")
    )
    post(client, world, "ent-b", NEEDS, need_body(title="Cảm biến độ mặn mở"))
    settle(client)
    region = {"region": need_body()["region"]}
    both = {"Cảm biến độ mặn kín", "Cảm biến độ mặn mở"}
    assert titles(client, SEARCH_NEEDS, **region) == {"Cảm biến độ mặn mở"}
    assert titles(client, SEARCH_NEEDS, world.auth("ent-b"), **region) == {"Cảm biến độ mặn mở"}
    assert titles(client, SEARCH_NEEDS, world.auth("ent-a"), **region) == both
    assert titles(client, SEARCH_NEEDS, world.auth("broker"), **region) == both
