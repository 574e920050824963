"""Offers and needs over HTTP: CRUD, filters, pages, roles, confidentiality and bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World, need_body, offer_body

OFFERS = "/api/v1/offers"
NEEDS = "/api/v1/needs"


def create(client: TestClient, world: World, who: str, path: str, body: dict) -> dict:
    response = client.post(path, json=body, headers=world.auth(who))
    assert response.status_code == 201, response.text
    return response.json()


def test_offer_crud_round_trip(client: TestClient, world: World) -> None:
    created = create(client, world, "inst-a", OFFERS, offer_body())
    assert created["organization_id"] == world.org["inst-a"]
    assert created["status"] == "published"
    assert created["organization_name"] == "INST-A"

    read = client.get(f"{OFFERS}/{created['id']}").json()
    assert read["title"] == offer_body()["title"]

    patched = client.patch(
        f"{OFFERS}/{created['id']}", json={"trl": 7, "keywords": ["drip"]}, headers=world.auth("inst-a")
    )
    assert patched.status_code == 200
    assert (patched.json()["trl"], patched.json()["keywords"]) == (7, ["drip"])

    archived = client.post(f"{OFFERS}/{created['id']}/archive", headers=world.auth("inst-a"))
    assert archived.json()["status"] == "archived"
    assert client.get(f"{OFFERS}/{created['id']}").status_code == 404  # anonymous no longer sees it
    assert client.get(f"{OFFERS}/{created['id']}", headers=world.auth("inst-a")).status_code == 200

    assert client.delete(f"{OFFERS}/{created['id']}", headers=world.auth("inst-a")).status_code == 204
    assert client.get(f"{OFFERS}/{created['id']}", headers=world.auth("admin")).status_code == 404


def test_need_crud_round_trip(client: TestClient, world: World) -> None:
    created = create(client, world, "ent-a", NEEDS, need_body())
    assert (created["min_trl"], created["deadline"]) == (6, "2027-06-30")
    patched = client.patch(
        f"{NEEDS}/{created['id']}", json={"budget_max": 900_000_000}, headers=world.auth("ent-a")
    )
    assert patched.json()["budget_max"] == 900_000_000
    assert client.delete(f"{NEEDS}/{created['id']}", headers=world.auth("ent-a")).status_code == 204


def test_filters_and_pagination(client: TestClient, world: World) -> None:
    for trl in range(1, 10):
        create(client, world, "inst-a", OFFERS, offer_body(title=f"Offer at TRL {trl}", trl=trl))
    create(
        client,
        world,
        "inst-b",
        OFFERS,
        offer_body(
            title="Robot arm",
            sector="robotics",
            trl=5,
            ip_status="patent",
            language="en",
            region="ha_noi",
            transfer_types=["joint_venture"],
        ),
    )
    page = client.get(OFFERS, params={"trl_min": 4, "trl_max": 6, "limit": 2, "sort": "trl"}).json()
    assert page["total"] == 4
    assert [item["trl"] for item in page["items"]] == [4, 5]
    second = client.get(
        OFFERS, params={"trl_min": 4, "trl_max": 6, "limit": 2, "offset": 2, "sort": "trl"}
    ).json()
    assert [item["trl"] for item in second["items"]] == [5, 6]

    def titles(**params: object) -> list[str]:
        return [item["title"] for item in client.get(OFFERS, params={**params, "limit": 100}).json()["items"]]

    assert titles(sector="robotics") == ["Robot arm"]
    assert titles(ip_status="patent") == ["Robot arm"]
    assert titles(transfer_type="joint_venture") == ["Robot arm"]
    assert titles(region="ha_noi", language="en") == ["Robot arm"]
    assert len(titles(sector=["robotics", "smart_agriculture"])) == 10
    assert len(titles(organization_id=world.org["inst-a"])) == 9
    assert titles(sort="-trl")[:2] == ["Offer at TRL 9", "Offer at TRL 8"]


def test_drafts_are_visible_to_owner_and_staff_only(client: TestClient, world: World) -> None:
    draft = create(client, world, "inst-a", OFFERS, offer_body(status="draft"))
    assert client.get(OFFERS).json()["total"] == 0
    assert client.get(OFFERS, headers=world.auth("inst-b")).json()["total"] == 0
    assert client.get(OFFERS, headers=world.auth("inst-a")).json()["total"] == 1
    assert client.get(f"{OFFERS}/{draft['id']}", headers=world.auth("broker")).status_code == 200
    assert client.get(f"{OFFERS}/{draft['id']}", headers=world.auth("ent-a")).status_code == 404


def test_brokers_only_needs_are_hidden_from_others(client: TestClient, world: World) -> None:
    secret = create(client, world, "ent-a", NEEDS, need_body(confidentiality="brokers_only"))
    create(client, world, "ent-a", NEEDS, need_body(title="A public need"))
    for who in (None, "ent-b", "inst-a"):
        headers = world.auth(who) if who else {}
        assert client.get(f"{NEEDS}/{secret['id']}", headers=headers).status_code == 404
        listed = client.get(NEEDS, headers=headers).json()
        assert [item["title"] for item in listed["items"]] == ["A public need"]
        assert listed["total"] == 1
    for who in ("ent-a", "broker", "admin"):
        assert client.get(f"{NEEDS}/{secret['id']}", headers=world.auth(who)).status_code == 200
        assert client.get(NEEDS, headers=world.auth(who)).json()["total"] == 2


# (who, path, expected status) for creating a listing for the caller's own organization.
CREATE_MATRIX = [
    (None, OFFERS, 401),
    (None, NEEDS, 401),
    ("admin", OFFERS, 201),
    ("admin", NEEDS, 201),
    ("broker", OFFERS, 201),
    ("broker", NEEDS, 201),
    ("inst-a", OFFERS, 201),
    ("inst-a", NEEDS, 403),
    ("ent-a", OFFERS, 403),
    ("ent-a", NEEDS, 201),
]


@pytest.mark.parametrize(("who", "path", "expected"), CREATE_MATRIX)
def test_create_permissions(
    client: TestClient, world: World, who: str | None, path: str, expected: int
) -> None:
    body = offer_body() if path == OFFERS else need_body()
    owner = "inst-a" if path == OFFERS else "ent-a"
    if who in ("admin", "broker"):
        body["organization_id"] = world.org[owner]
    headers = world.auth(who) if who else {}
    assert client.post(path, json=body, headers=headers).status_code == expected


def test_members_cannot_create_for_another_organization(client: TestClient, world: World) -> None:
    body = offer_body(organization_id=world.org["inst-b"])
    assert client.post(OFFERS, json=body, headers=world.auth("inst-a")).status_code == 403
    staff_without_owner = client.post(OFFERS, json=offer_body(), headers=world.auth("broker"))
    assert staff_without_owner.status_code == 422


@pytest.mark.parametrize("path", [OFFERS, NEEDS])
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, 401),
        ("inst-b", 403),
        ("ent-b", 403),
        ("inst-a", "owner"),
        ("ent-a", "owner"),
        ("broker", 200),
        ("admin", 200),
    ],
)
def test_write_permissions_on_existing_listing(
    client: TestClient, world: World, path: str, who: str | None, expected: int | str
) -> None:
    owner = "inst-a" if path == OFFERS else "ent-a"
    listing = create(client, world, owner, path, offer_body() if path == OFFERS else need_body())
    if expected == "owner":  # the owner's member may write; the other side's member role may not
        expected = 200 if who == owner else 403
    headers = world.auth(who) if who else {}
    url = f"{path}/{listing['id']}"
    assert client.patch(url, json={"title": "Changed"}, headers=headers).status_code == expected
    assert client.post(f"{url}/archive", headers=headers).status_code == expected
    assert client.delete(url, headers=headers).status_code == (204 if expected == 200 else expected)
    still_there = client.get(url, headers=world.auth("admin")).status_code
    assert still_there == (404 if expected == 200 else 200)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sector": "space_mining"}, "sector"),
        ({"trl": 12}, "trl"),
        ({"trl": 0}, "trl"),
        ({"title": "   "}, "title"),
        ({"description": "x" * 1_000_000}, "description"),
        ({"price_min": 10, "price_max": 5}, "price"),
        ({"currency": "EUR"}, "currency"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_offer_input_is_a_422_with_a_readable_message(
    client: TestClient, world: World, overrides: dict, field: str
) -> None:
    response = client.post(OFFERS, json=offer_body(**overrides), headers=world.auth("inst-a"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["message"]


def test_malformed_json_and_bad_patch(client: TestClient, world: World) -> None:
    response = client.post(
        OFFERS, content=b'{"title": ', headers={**world.auth("inst-a"), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]
    offer = create(client, world, "inst-a", OFFERS, offer_body())
    url = f"{OFFERS}/{offer['id']}"
    assert client.patch(url, json={"title": None}, headers=world.auth("inst-a")).status_code == 422
    assert client.patch(url, json={"price_min": 10**12}, headers=world.auth("inst-a")).status_code == 422
    assert client.get(url).json()["title"] == offer["title"]


def test_unknown_query_parameter_and_bad_filters(client: TestClient) -> None:
    assert client.get(OFFERS, params={"sectr": "ai"}).status_code == 422
    assert client.get(OFFERS, params={"sector": "nope"}).status_code == 422
    assert client.get(OFFERS, params={"trl_min": 7, "trl_max": 3}).status_code == 422
    assert client.get(OFFERS, params={"limit": 1000}).status_code == 422
    assert client.get(f"{OFFERS}/999999").status_code == 404
    assert client.get(OFFERS, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_refs_are_per_organization_so_hidden_listings_do_not_leak(client: TestClient, world: World) -> None:
    hidden = create(client, world, "inst-a", OFFERS, offer_body(external_ref="HCM-1", status="draft"))
    assert client.get(f"{OFFERS}/{hidden['id']}", headers=world.auth("inst-b")).status_code == 404
    # Another organization may use the same ref: no 409 reveals the draft.
    other = create(client, world, "inst-b", OFFERS, offer_body(external_ref="HCM-1"))
    assert other["external_ref"] == "HCM-1"
    # Within one organization a ref still names one listing.
    again = client.post(OFFERS, json=offer_body(external_ref="HCM-1"), headers=world.auth("inst-a"))
    assert again.status_code == 409


def test_long_lists_count_up_to_the_cap_and_say_so(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without listing facets (TECHMATCH_LISTING_FACETS=false) lists count in SQL, up to the cap.
    client.app.state.runtime.facets = None  # type: ignore[attr-defined]
    monkeypatch.setattr("models.listings.COUNT_CAP", 2)
    for i in range(3):
        create(client, world, "inst-a", OFFERS, offer_body(title=f"Capped offer {i}", trl=6 + i))
    page = client.get(OFFERS).json()
    assert (page["total"], page["total_exact"], len(page["items"])) == (2, False, 3)
    narrow = client.get(OFFERS, params={"trl_min": 8}).json()
    assert (narrow["total"], narrow["total_exact"], len(narrow["items"])) == (1, True, 1)
    # The floor says "2+" where the API says total 2, not exact.
    heading = client.get("/search", params={"kind": "offers"}).text.split('id="results-heading">')[1]
    assert heading.split()[0] == "2+"
