"""Members' pages: my needs and offers, forms with field errors, ownership, introductions, uploads."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.api.conftest import World, need_body, offer_body
from tests.web.conftest import People, csrf_of, sign_in


def settle(client: TestClient) -> None:
    assert client.app.state.runtime.index_sync.wait_idle(10)  # type: ignore[attr-defined]


NEED_FORM = {
    "title": "Cần công nghệ xử lý nước thải dệt nhuộm",
    "description": "Nhà máy dệt cần hệ thống xử lý nước thải nhuộm đạt chuẩn xả thải.",
    "keywords": "nước thải, dệt nhuộm",
    "sector": "environment_water",
    "min_trl": "5",
    "transfer_types": ["licence", "consultancy"],
    "budget_min": "100000000",
    "budget_max": "900000000",
    "currency": "VND",
    "deadline": "2027-06-30",
    "confidentiality": "public",
    "region": "ho_chi_minh_city",
    "language": "vi",
    "status": "published",
}


def test_pages_require_the_right_role(client: TestClient, people: People) -> None:
    assert client.get("/my/needs", follow_redirects=False).status_code == 303
    sign_in(client, people.emails["inst-a"])
    assert client.get("/my/offers").status_code == 200
    assert client.get("/my/needs").status_code == 403
    assert client.get("/my/needs/new").status_code == 403
    assert "Công nghệ của tôi" in client.get("/").text  # the nav link of the role
    assert "Nhu cầu của tôi" not in client.get("/").text


def test_create_need_with_field_errors_then_valid(client: TestClient, people: People) -> None:
    sign_in(client, people.emails["ent-a"])
    bad = {**NEED_FORM, "title": "  ", "min_trl": "12", "budget_min": "9000000000", "budget_max": "1.000",
           "deadline": "30/06/2027", "region": "atlantis", "csrf_token": csrf_of(client, "/my/needs/new")}  # fmt: skip
    response = client.post("/my/needs/new", data=bad, follow_redirects=False)
    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', response.text))
    assert set(errors) == {"title", "min_trl", "budget_max", "deadline", "region"}
    assert errors["min_trl"] == "Hãy chọn mức TRL từ 1 đến 9."
    assert errors["title"] == "Trường này là bắt buộc."
    assert 'value="9000000000"' in response.text  # what was typed comes back
    backwards = {
        **NEED_FORM,
        "budget_min": "900",
        "budget_max": "100",
        "csrf_token": csrf_of(client, "/my/needs/new"),
    }
    response = client.post("/my/needs/new", data=backwards)
    assert response.status_code == 422
    assert re.findall(r'id="([a-z_]+)-error"', response.text) == ["budget_max"]

    data = {**NEED_FORM, "csrf_token": csrf_of(client, "/my/needs/new")}
    response = client.post("/my/needs/new", data=data, follow_redirects=False)
    assert response.status_code == 303
    need_id = int(re.search(r"/my/needs/(\d+)/matches", response.headers["location"]).group(1))  # type: ignore[union-attr]
    need = client.get(f"/api/v1/needs/{need_id}").json()
    assert need["title"] == NEED_FORM["title"] and need["min_trl"] == 5 and need["budget_max"] == 900_000_000
    assert need["keywords"] == ["nước thải", "dệt nhuộm"] and need["transfer_types"] == [
        "licence",
        "consultancy",
    ]
    assert need["organization_name"] == "ENT-A"


def test_edit_and_archive_own_need_but_not_another_organizations(
    client: TestClient, people: People, world: World
) -> None:
    own = client.post("/api/v1/needs", json=need_body(title="Own need"), headers=world.auth("ent-a")).json()
    other = client.post(
        "/api/v1/needs", json=need_body(title="Their need"), headers=world.auth("ent-b")
    ).json()
    hidden = client.post(
        "/api/v1/needs", json=need_body(title="Their draft", status="draft"), headers=world.auth("ent-b")
    ).json()
    sign_in(client, people.emails["ent-a"])
    form = client.get(f"/my/needs/{own['id']}/edit")
    assert form.status_code == 200 and 'value="Own need"' in form.text
    # Another organization's need: 403 when visible, 404 when hidden, on the page and on the post.
    assert client.get(f"/my/needs/{other['id']}/edit").status_code == 403
    assert client.get(f"/my/needs/{hidden['id']}/edit").status_code == 404
    token = csrf_of(client, "/my/needs")
    assert (
        client.post(f"/my/needs/{other['id']}/edit", data={**NEED_FORM, "csrf_token": token}).status_code
        == 403
    )
    assert client.post(f"/my/needs/{other['id']}/archive", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/api/v1/needs/{other['id']}").json()["title"] == "Their need"

    invalid = client.post(
        f"/my/needs/{own['id']}/edit", data={**NEED_FORM, "sector": "", "csrf_token": token}
    )
    assert invalid.status_code == 422 and 'id="sector-error"' in invalid.text
    edited = client.post(
        f"/my/needs/{own['id']}/edit",
        data={**NEED_FORM, "title": "Own need, edited", "csrf_token": token},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert client.get(f"/api/v1/needs/{own['id']}").json()["title"] == "Own need, edited"
    # Without the token nothing changes.
    assert client.post(f"/my/needs/{own['id']}/archive").status_code == 403
    assert (
        client.post(
            f"/my/needs/{own['id']}/archive", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        client.get(f"/api/v1/needs/{own['id']}", headers=world.auth("ent-a")).json()["status"] == "archived"
    )


def test_matching_offers_explained_and_an_introduction_lands_in_the_broker_queue(
    client: TestClient, people: People, world: World
) -> None:
    offer = client.post("/api/v1/offers", json=offer_body(
        title="Hệ thống xử lý nước thải dệt nhuộm", description="Xử lý nước thải dệt nhuộm bằng màng sinh học.",
        sector="environment_water", transfer_types=["licence"],
    ), headers=world.auth("inst-a")).json()  # fmt: skip
    settle(client)
    sign_in(client, people.emails["ent-a"])
    response = client.post(
        "/my/needs/new",
        data={**NEED_FORM, "csrf_token": csrf_of(client, "/my/needs/new")},
        follow_redirects=False,
    )
    matches_path = response.headers["location"]
    need_id = int(re.search(r"/my/needs/(\d+)/", matches_path).group(1))  # type: ignore[union-attr]
    page = client.get(matches_path)
    assert page.status_code == 200
    assert f'id="offer-{offer["id"]}"' in page.text
    assert "Vì sao phù hợp" in page.text and "<mark>" in page.text
    assert (
        client.get("/api/v1/matches", params={"need_id": need_id}, headers=world.auth("broker")).json()[
            "total"
        ]
        == 0
    )

    token = csrf_of(client, matches_path)
    asked = client.post(
        f"/my/needs/{need_id}/introductions",
        data={"offer_id": offer["id"], "note": "Xin gặp", "csrf_token": token},
        follow_redirects=False,
    )
    assert asked.status_code == 303 and "requested=created" in asked.headers["location"]
    queue = client.get(
        "/api/v1/matches", params={"status": "suggested", "need_id": need_id}, headers=world.auth("broker")
    ).json()
    assert queue["total"] == 1
    match = queue["items"][0]
    assert (
        match["offer"]["id"] == offer["id"]
        and "Xin gặp" in match["note"]
        and people.emails["ent-a"] in match["note"]
    )
    history = client.get(f"/api/v1/matches/{match['id']}/history", headers=world.auth("broker")).json()
    assert history[-1]["reason"] == "introduction_requested"
    again = client.post(
        f"/my/needs/{need_id}/introductions",
        data={"offer_id": offer["id"], "csrf_token": token},
        follow_redirects=False,
    )
    assert "requested=already_requested" in again.headers["location"]
    assert (
        client.get("/api/v1/matches", params={"need_id": need_id}, headers=world.auth("broker")).json()[
            "total"
        ]
        == 1
    )
    # Not for another organization's need.
    other = client.post("/api/v1/needs", json=need_body(), headers=world.auth("ent-b")).json()
    refused = client.post(
        f"/my/needs/{other['id']}/introductions", data={"offer_id": offer["id"], "csrf_token": token}
    )
    assert refused.status_code == 403


def test_institute_uploads_offers_with_a_row_by_row_report_and_sees_matching_needs(
    client: TestClient, people: People, world: World
) -> None:
    client.post(
        "/api/v1/needs",
        json=need_body(title="Soil moisture irrigation for durian"),
        headers=world.auth("ent-a"),
    )
    rows = [
        {**offer_body(title="Tưới nhỏ giọt theo độ ẩm đất"), "ref": "u-1"},
        {**offer_body(title="Bad TRL"), "trl": 12, "ref": "u-2"},
        {**offer_body(title="Someone else's"), "org": "inst-b", "ref": "u-3"},
    ]
    body = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()
    sign_in(client, people.emails["inst-a"])
    token = csrf_of(client, "/my/offers/upload")
    strict = client.post(
        "/my/offers/upload", data={"csrf_token": token}, files={"file": ("offers.jsonl", body)}
    )
    assert strict.status_code == 422
    assert client.get("/api/v1/offers").json()["total"] == 0  # all or nothing
    report = re.findall(r'<tr class="row-([a-z_]+)">\s*<td>(\d+)</td>', strict.text)
    assert report == [("not_imported", "1"), ("rejected", "2"), ("rejected", "3")]
    lenient = client.post(
        "/my/offers/upload",
        data={"csrf_token": token, "skip_invalid": "1"},
        files={"file": ("offers.jsonl", body)},
    )
    assert lenient.status_code == 200
    assert re.findall(r'<tr class="row-([a-z_]+)">', lenient.text) == ["created", "rejected", "rejected"]
    offers = client.get("/api/v1/offers").json()["items"]
    assert [(o["title"], o["organization_name"]) for o in offers] == [
        ("Tưới nhỏ giọt theo độ ẩm đất", "INST-A")
    ]
    assert (
        client.post(
            "/my/offers/upload", data={"csrf_token": token}, files={"file": ("offers.xlsx", b"x")}
        ).status_code
        == 422
    )
    assert client.post("/my/offers/upload", files={"file": ("offers.jsonl", body)}).status_code == 403

    settle(client)
    matches = client.get(f"/my/offers/{offers[0]['id']}/matches")
    assert matches.status_code == 200 and "Soil moisture irrigation for durian" in matches.text
    assert "Yêu cầu giới thiệu" not in matches.text  # introductions are requested from the need's side
