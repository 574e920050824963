"""Organizations and API keys over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World

ORGS = "/api/v1/organizations"


def test_staff_register_organizations_members_cannot(client: TestClient, world: World) -> None:
    body = {
        "slug": "vast",
        "name": "Viện Hàn lâm",
        "kind": "research_institute",
        "region": "ha_noi",
        "webhook_url": "https://hooks.vast.example/techmatch",
    }
    assert client.post(ORGS, json=body).status_code == 401
    assert client.post(ORGS, json=body, headers=world.auth("inst-a")).status_code == 403
    created = client.post(ORGS, json=body, headers=world.auth("broker"))
    assert created.status_code == 201
    assert client.post(ORGS, json=body, headers=world.auth("admin")).status_code == 409  # duplicate slug
    assert (
        client.post(
            ORGS, json={**body, "slug": "x", "kind": "startup"}, headers=world.auth("admin")
        ).status_code
        == 422
    )


def test_webhook_url_is_visible_to_owner_and_staff_only(client: TestClient, world: World) -> None:
    org_id = world.org["ent-a"]
    hook = "https://hooks.ent-a.example/techmatch"
    assert (
        client.patch(f"{ORGS}/{org_id}", json={"webhook_url": hook}, headers=world.auth("ent-b")).status_code
        == 403
    )
    assert (
        client.patch(f"{ORGS}/{org_id}", json={"webhook_url": hook}, headers=world.auth("ent-a")).status_code
        == 200
    )
    assert client.get(f"{ORGS}/{org_id}").json()["webhook_url"] is None
    assert client.get(f"{ORGS}/{org_id}", headers=world.auth("ent-a")).json()["webhook_url"] == hook
    assert client.get(f"{ORGS}/{org_id}", headers=world.auth("broker")).json()["webhook_url"] == hook
    page = client.get(ORGS, params={"kind": "enterprise"}).json()
    assert page["total"] == 2


def test_only_admins_issue_keys_and_keys_work(client: TestClient, world: World) -> None:
    body = {"name": "new member", "role": "enterprise_member", "organization_id": world.org["ent-b"]}
    assert client.post("/api/v1/api-keys", json=body, headers=world.auth("broker")).status_code == 403
    created = client.post("/api/v1/api-keys", json=body, headers=world.auth("admin"))
    assert created.status_code == 201
    key = created.json()["key"]
    need = {
        "title": "t",
        "description": "d",
        "sector": "ai",
        "min_trl": 3,
        "region": "ha_noi",
        "language": "en",
    }
    response = client.post("/api/v1/needs", json=need, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201
    assert response.json()["organization_id"] == world.org["ent-b"]
    missing_org = {**body, "organization_id": 99999}
    assert client.post("/api/v1/api-keys", json=missing_org, headers=world.auth("admin")).status_code == 404


def test_anonymous_organization_changes_are_401(client: TestClient, world: World) -> None:
    response = client.patch(f"{ORGS}/{world.org['ent-a']}", json={"name": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("role", "org", "status"),
    [
        ("enterprise_member", None, 422),
        ("institute_member", None, 422),
        ("institute_member", "ent-a", 422),
        ("enterprise_member", "inst-b", 422),
        ("broker", "inst-a", 422),
        ("institute_member", "inst-b", 201),  # a university
        ("enterprise_member", "ent-a", 201),
        ("broker", None, 201),
        ("admin", "exchange", 201),
    ],
)
def test_key_roles_must_fit_the_organization(
    client: TestClient, world: World, role: str, org: str | None, status: int
) -> None:
    body = {"name": "k", "role": role, "organization_id": world.org[org] if org else None}
    response = client.post("/api/v1/api-keys", json=body, headers=world.auth("admin"))
    assert response.status_code == status, response.text


def test_required_fields_cannot_be_cleared(client: TestClient, world: World) -> None:
    org = f"{ORGS}/{world.org['ent-a']}"
    for field in ("name", "region"):
        response = client.patch(org, json={field: None}, headers=world.auth("ent-a"))
        assert response.status_code == 422, field
    assert client.patch(org, json={"website": None}, headers=world.auth("ent-a")).status_code == 200
