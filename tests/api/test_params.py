"""Ids, offsets and organization ids outside what the store can hold are a 422, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World, offer_body

HUGE = 2**63  # one past SQLite's and PostgreSQL's largest integer
OUT_OF_RANGE = [str(HUGE), str(2**70), "2147483648", "-1", "0"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_out_of_range_numbers_in_paths_and_queries(client: TestClient, world: World, value: str) -> None:
    staff = world.auth("broker")
    for path, headers in [
        (f"/api/v1/offers/{value}", {}),
        (f"/api/v1/needs/{value}/matches", {}),
        (f"/api/v1/organizations/{value}", {}),
        (f"/api/v1/matches/{value}", staff),
        (f"/api/v1/matches/{value}/history", staff),
        (f"/api/v1/offers?organization_id={value}", {}),
        (f"/api/v1/matches?need_id={value}", staff),
        (f"/api/v1/notifications?organization_id={value}", staff),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 422, (path, response.status_code)
        assert response.json()["error"]["code"] == "invalid"
    if not value.startswith("-") and value != "0":
        for path in ("/api/v1/offers", "/api/v1/organizations", "/api/v1/matches"):
            response = client.get(path, params={"offset": value}, headers=staff)
            assert response.status_code == 422, (path, value)


def test_out_of_range_ids_in_bodies(client: TestClient, world: World) -> None:
    for bad in (HUGE, 2**70, -1, 0, True):
        staff_create = client.post(
            "/api/v1/offers", json=offer_body(organization_id=bad), headers=world.auth("broker")
        )
        assert staff_create.status_code == 422, bad
        excluded = client.post(
            "/api/v1/offers", json=offer_body(excluded_organization_ids=[bad]), headers=world.auth("inst-a")
        )
        assert excluded.status_code == 422, bad
        match = client.post(
            "/api/v1/matches", json={"need_id": bad, "offer_id": 1}, headers=world.auth("broker")
        )
        assert match.status_code == 422, bad
        key = client.post(
            "/api/v1/api-keys",
            json={"name": "x", "role": "broker", "organization_id": bad},
            headers=world.auth("admin"),
        )
        assert key.status_code == 422, bad


def test_references_to_missing_organizations_are_refused(client: TestClient, world: World) -> None:
    missing = 99_999
    for body, who in [
        (offer_body(organization_id=missing), "broker"),
        (offer_body(excluded_organization_ids=[world.org["ent-a"], missing]), "inst-a"),
    ]:
        response = client.post("/api/v1/offers", json=body, headers=world.auth(who))
        assert response.status_code == 422
        assert "99999" in response.json()["error"]["message"]
