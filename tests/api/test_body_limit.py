"""Request bodies past the limit are refused with 413 before parsing or authentication."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi.testclient import TestClient

from core.settings import Settings
from tests.api.conftest import World, need_body

NEEDS = "/api/v1/needs"


def test_a_declared_length_over_the_limit_is_refused_unread(
    client: TestClient, settings: Settings, world: World
) -> None:
    body = json.dumps(need_body(description="x" * settings.max_body_bytes))
    for headers in ({}, world.auth("ent-a")):  # anonymous callers are refused before the 401
        response = client.post(NEEDS, content=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"


def test_a_chunked_body_is_cut_off_at_the_limit(client: TestClient, settings: Settings) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(2 * settings.max_body_bytes // 65_536):
            yield b"x" * 65_536
        yield b'"}'

    response = client.post(NEEDS, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_bodies_within_the_limit_still_work(client: TestClient, world: World) -> None:
    response = client.post(NEEDS, json=need_body(), headers=world.auth("ent-a"))
    assert response.status_code == 201
