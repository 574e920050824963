"""An institute member uploads offers as JSON Lines and sees the needs matching one of them."""

from __future__ import annotations

import json
import re

import pytest

from core.taxonomy import Role
from tests.web.e2e.conftest import Floor

pytestmark = pytest.mark.integration

OFFERS = [
    {
        "ref": "e2e-upload-1",
        "title": "Hệ thống xử lý nước thải dệt nhuộm bằng keo tụ điện hóa và lọc màng",
        "description": "Keo tụ điện hóa kết hợp lọc màng UF giảm độ màu và COD của nước thải dệt nhuộm.",
        "sector": "environment_water",
        "keywords": ["xử lý nước thải", "dệt nhuộm"],
        "trl": 7,
        "ip_status": "patent",
        "transfer_types": ["licence"],
        "price_min": 800000000,
        "price_max": 1500000000,
        "currency": "VND",
        "region": "southeast",
        "language": "vi",
        "status": "published",
    },
    {"ref": "e2e-upload-2", "title": "A row without its description", "sector": "energy"},
]


def test_institute_member_uploads_offers_and_sees_matching_needs(floor: Floor) -> None:
    floor.sign_in(Role.INSTITUTE_MEMBER, "/my/offers/upload")
    page = floor.page
    content = "\n".join(json.dumps(row, ensure_ascii=False) for row in OFFERS).encode()
    page.set_input_files(
        "#file", files=[{"name": "offers.jsonl", "mimeType": "application/jsonl", "buffer": content}]
    )
    page.check("input[name=skip_invalid]")
    response = floor.submit(
        page.locator('form[action="/my/offers/upload"] button[type=submit]'), "upload report"
    )
    assert response is not None and response.ok
    report = page.locator("main table").first.inner_text()
    assert OFFERS[0]["title"][:40] in report  # the row-by-row report names each row
    assert page.locator("main table tbody tr").count() == 2

    floor.visit("/my/offers", "my offers")
    row = page.locator("tr", has_text=str(OFFERS[0]["title"])[:40])
    assert row.count() == 1
    link = row.locator('a[href$="/matches"]')
    floor.submit(link, "offer matches")
    assert re.search(r"/my/offers/\d+/matches", page.url)
    needs = page.locator("li.card.match")
    assert needs.count() >= 1
