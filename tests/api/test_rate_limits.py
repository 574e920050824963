"""Search and match requests are limited per API key and, for anonymous callers, per address."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import World, need_body


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit_per_key": "3/minute", "rate_limit_per_address": "2/minute"}
    )


def test_anonymous_callers_are_limited_per_address(client: TestClient, world: World) -> None:
    search = "/api/v1/search/offers?q=irrigation"
    assert [client.get(search).status_code for _ in range(2)] == [200, 200]
    limited = client.get(search)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Cheap endpoints are not limited; keys have their own budget.
    assert client.get("/api/v1/offers").status_code == 200
    assert client.get(search, headers=world.auth("ent-a")).status_code == 200


def test_keys_are_limited_each_on_their_own(client: TestClient, world: World) -> None:
    need = client.post("/api/v1/needs", json=need_body(), headers=world.auth("ent-a")).json()
    matches = f"/api/v1/needs/{need['id']}/matches"
    statuses = [client.get(matches, headers=world.auth("ent-a")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(matches, headers=world.auth("broker")).status_code == 200


def test_limits_can_be_switched_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"rate_limits_enabled": False}))) as client:
        assert {client.get("/api/v1/search/needs?q=x").status_code for _ in range(5)} == {200}


def test_a_malformed_limit_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="rate_limit_per_key"):
        Settings(rate_limit_per_key="lots")
