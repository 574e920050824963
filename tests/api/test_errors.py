"""The one error shape, kept small whatever the input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from core.settings import Settings
from tests.api.conftest import World, need_body

NEEDS = "/api/v1/needs"


def test_many_unknown_keys_are_one_short_error(client: TestClient, world: World) -> None:
    body = {**need_body(), **{f"k{i}": i for i in range(50_000)}}
    response = client.post(NEEDS, json=body, headers=world.auth("ent-a"))
    assert response.status_code == 422
    assert len(response.content) < 4_000
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "'k0'" in error["message"] and "49990 more" in error["message"]
    assert len(error["details"]) == 1


def test_reported_problems_are_capped(client: TestClient, world: World, settings: Settings) -> None:
    body = need_body(keywords=[""] * 30, transfer_types=["nope"] * 5, sector="nope", min_trl=99)
    response = client.post(NEEDS, json=body, headers=world.auth("ent-a"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["details"]) == settings.max_reported_errors
    assert "more problem(s) not listed" in error["message"]
