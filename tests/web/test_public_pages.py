"""Pages for everyone: search with facets and highlighted words, listing details, organization pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from models.base import transaction, utcnow
from models.links import LinkStatus, LinkType, ListingLink
from tests.api.conftest import World, need_body, offer_body


def post(client: TestClient, world: World, who: str, path: str, body: dict) -> dict:
    response = client.post(path, json=body, headers=world.auth(who))
    assert response.status_code == 201, response.text
    return response.json()


def settle(client: TestClient) -> None:
    assert client.app.state.runtime.index_sync.wait_idle(10)  # type: ignore[attr-defined]


def result_titles(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", title)
        for title in re.findall(r'<h3><a href="/[a-z]+/\d+">(.*?)</a></h3>', html)
    ]


def test_search_without_diacritics_highlights_the_matched_words(client: TestClient, world: World) -> None:
    water = post(client, world, "inst-a", "/api/v1/offers", offer_body(
        title="Xử lý nước thải dệt nhuộm", description="Công nghệ xử lý nước thải cho nhà máy dệt.",
        sector="environment_water",
    ))  # fmt: skip
    post(client, world, "inst-b", "/api/v1/offers", offer_body(
        title="Robot hàn ống", description="Robot hàn tự động.", sector="robotics",
    ))  # fmt: skip
    settle(client)
    page = client.get("/search", params={"q": "xu ly nuoc thai"})
    assert page.status_code == 200
    assert result_titles(page.text)[0] == "Xử lý nước thải dệt nhuộm"
    assert (
        "<mark>nước thải</mark>" in page.text.lower() or "<mark>xử lý nước thải</mark>" in page.text.lower()
    )
    assert f'href="/offers/{water["id"]}"' in page.text

    detail = client.get(f"/offers/{water['id']}")
    assert detail.status_code == 200
    assert "Xử lý nước thải dệt nhuộm" in detail.text
    assert "Môi trường và nước" in detail.text  # the sector, in Vietnamese
    assert "300.000.000 ₫" in detail.text  # VND as Vietnamese writes it


def test_facets_filter_the_results_and_english_formats_money_its_way(
    client: TestClient, world: World
) -> None:
    post(
        client,
        world,
        "inst-a",
        "/api/v1/offers",
        offer_body(title="Cảm biến độ ẩm đất", trl=4, ip_status="patent"),
    )
    post(client, world, "inst-b", "/api/v1/offers", offer_body(
        title="Drone phun thuốc", sector="robotics", trl=8, price_min=2_000_000_000, price_max=3_000_000_000,
    ))  # fmt: skip
    settle(client)
    assert set(result_titles(client.get("/search").text)) == {"Cảm biến độ ẩm đất", "Drone phun thuốc"}
    assert result_titles(client.get("/search", params={"sector": "robotics"}).text) == ["Drone phun thuốc"]
    assert result_titles(client.get("/search", params={"trl_max": "5"}).text) == ["Cảm biến độ ẩm đất"]
    assert result_titles(client.get("/search", params={"ip_status": "patent"}).text) == ["Cảm biến độ ẩm đất"]
    assert result_titles(client.get("/search", params={"price_from": "1000000000"}).text) == [
        "Drone phun thuốc"
    ]
    assert result_titles(client.get("/search", params={"region": "ha_noi"}).text) == []
    # Empty and unknown facet values are ignored, not errors: the form sends empty selects.
    lenient = client.get("/search", params={"trl_min": "", "sector": "no-such-sector", "page": "x"})
    assert lenient.status_code == 200 and len(result_titles(lenient.text)) == 2

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]
    client.post("/language", data={"language": "en", "csrf_token": token})
    drone = client.get("/search", params={"sector": "robotics"}).text
    assert "1 technology offer" in drone
    offer_id = re.search(r'href="/offers/(\d+)"', drone).group(1)  # type: ignore[union-attr]
    assert "2,000,000,000 ₫" in client.get(f"/offers/{offer_id}").text


def test_needs_search_hides_brokers_only_needs_and_drafts(client: TestClient, world: World) -> None:
    post(client, world, "ent-a", "/api/v1/needs", need_body(title="Public irrigation need"))
    secret = post(
        client,
        world,
        "ent-a",
        "/api/v1/needs",
        need_body(title="Secret irrigation need", confidentiality="brokers_only"),
    )
    draft = post(
        client, world, "ent-b", "/api/v1/needs", need_body(title="Draft irrigation need", status="draft")
    )
    settle(client)
    titles = result_titles(client.get("/search", params={"q": "irrigation", "kind": "needs"}).text)
    assert titles == ["Public irrigation need"]
    assert client.get(f"/needs/{secret['id']}").status_code == 404
    assert client.get(f"/needs/{draft['id']}").status_code == 404
    assert "text/html" in client.get(f"/needs/{draft['id']}").headers["content-type"]


def test_a_filtered_search_takes_its_ids_from_the_listing_facets_and_sees_a_change_at_once(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sql(**_: Any) -> set[int]:
        raise AssertionError("a filtered scope was read in SQL with the facets on")

    monkeypatch.setattr("models.search_scope.visible_ids", sql)
    sensor = post(client, world, "inst-a", "/api/v1/offers", offer_body(title="Cảm biến mặn", trl=4))
    post(client, world, "inst-b", "/api/v1/offers", offer_body(
        title="Cảm biến mặn số", trl=8, price_min=2_000_000_000, price_max=3_000_000_000,
    ))  # fmt: skip
    settle(client)

    def titles(**params: str) -> set[str]:
        return set(result_titles(client.get("/search", params={"q": "cảm biến mặn", **params}).text))

    assert titles(trl_min="6") == {"Cảm biến mặn số"}
    assert titles(trl_min="6", price_to="1000000000") == set()
    changed = client.patch(f"/api/v1/offers/{sensor['id']}", json={"trl": 7}, headers=world.auth("inst-a"))
    assert changed.status_code == 200
    assert titles(trl_min="6") == {"Cảm biến mặn", "Cảm biến mặn số"}
    assert titles(trl_min="6", price_to="1000000000") == {"Cảm biến mặn"}
    browse = client.get("/search", params={"trl_min": "6"}).text  # no text: newest first, counted
    assert set(result_titles(browse)) == {"Cảm biến mặn", "Cảm biến mặn số"}


def test_organization_page_lists_its_published_listings(client: TestClient, world: World) -> None:
    post(client, world, "inst-a", "/api/v1/offers", offer_body(title="Published offer"))
    post(client, world, "inst-a", "/api/v1/offers", offer_body(title="Draft offer", status="draft"))
    page = client.get(f"/organizations/{world.org['inst-a']}")
    assert page.status_code == 200
    assert "INST-A" in page.text and "Published offer" in page.text and "Draft offer" not in page.text
    assert client.get("/organizations/999999").status_code == 404


def test_linked_listings_show_on_the_detail_page_and_collapse_in_search(
    client: TestClient, world: World
) -> None:
    vietnamese = post(client, world, "inst-a", "/api/v1/offers", offer_body(
        title="Xử lý nước thải dệt nhuộm bằng màng sinh học", description="Công nghệ xử lý nước thải dệt.",
    ))  # fmt: skip
    english = post(client, world, "inst-a", "/api/v1/offers", offer_body(
        title="Biofilm treatment of textile dyeing wastewater", description="Treats dyeing wastewater.",
        language="en",
    ))  # fmt: skip
    hidden = post(client, world, "inst-b", "/api/v1/offers", offer_body(
        title="Bản nháp xử lý nước thải dệt", status="draft",
    ))  # fmt: skip
    settle(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.session_factory) as session:
        now = utcnow()
        for other, status in ((english["id"], LinkStatus.CONFIRMED), (hidden["id"], LinkStatus.CONFIRMED)):
            low, high = sorted((vietnamese["id"], other))
            session.add(ListingLink(
                kind="offers", listing_a_id=low, listing_b_id=high, link_type=LinkType.TRANSLATION,
                score=1.05, reason={}, status=status, created_at=now, updated_at=now,
            ))  # fmt: skip

    detail = client.get(f"/offers/{vietnamese['id']}")
    assert detail.status_code == 200
    assert "Cùng công nghệ này ở nơi khác trên sàn" in detail.text
    assert f'href="/offers/{english["id"]}"' in detail.text and "bản dịch" in detail.text
    assert "đã được môi giới xác nhận" in detail.text
    assert "Bản nháp" not in detail.text  # a draft the visitor may not see stays hidden

    page = client.get("/search", params={"q": "nuoc thai det nhuom"})
    titles = result_titles(page.text)
    # One hit for the technology, the other language under "also listed as".
    assert len([t for t in titles if "nước thải dệt nhuộm" in t.lower() or "dyeing" in t.lower()]) == 1
    assert "Cũng được đăng là:" in page.text


def test_browsing_without_a_query_pages_newest_first_and_counts_only_what_the_viewer_may_see(
    client: TestClient, world: World
) -> None:
    titles = [f"Browse offer {i}" for i in range(22)]
    for title in titles:
        post(client, world, "inst-a", "/api/v1/offers", offer_body(title=title))
    post(client, world, "inst-a", "/api/v1/offers", offer_body(title="Browse draft", status="draft"))
    first = client.get("/search", params={"kind": "offers"}).text
    second = client.get("/search", params={"kind": "offers", "page": 2}).text
    shown = result_titles(first) + result_titles(second)
    assert shown[:22] == titles[::-1]
    assert "Browse draft" not in shown
    assert len(result_titles(first)) == 20
