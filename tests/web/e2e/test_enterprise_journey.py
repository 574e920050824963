"""An enterprise member posts a need in the browser, sees the matching offers and asks for an introduction."""

from __future__ import annotations

import re

import pytest

from core.taxonomy import Role
from tests.web.e2e.conftest import Floor

pytestmark = pytest.mark.integration

TITLE = "Cần công nghệ xử lý nước thải dệt nhuộm cho nhà máy ở Bình Dương"
DESCRIPTION = (
    "Nhà máy dệt nhuộm của chúng tôi thải 800 m3 nước thải mỗi ngày, độ màu và COD cao. "
    "Chúng tôi cần công nghệ xử lý nước thải đạt QCVN 13-MT:2015/BTNMT, có thể lắp trong 6 tháng."
)


def test_enterprise_member_posts_a_need_sees_matching_offers_and_requests_an_introduction(
    floor: Floor,
) -> None:
    floor.sign_in(Role.ENTERPRISE_MEMBER, "/my/needs")
    page = floor.page
    floor.submit(page.locator('a[href="/my/needs/new"]'), "new need")
    page.fill("#title", TITLE)
    page.fill("#description", DESCRIPTION)
    page.fill("#keywords", "xử lý nước thải, dệt nhuộm, COD")
    page.select_option("#sector", "environment_water")
    page.select_option("#min_trl", "5")
    page.check("input[name=transfer_types][value=licence]")
    page.fill("#budget_min", "500000000")
    page.fill("#budget_max", "2000000000")
    page.select_option("#region", "southeast")
    page.select_option("#language", "vi")
    page.select_option("#status", "published")
    response = floor.submit(page.locator("main form.form button[type=submit]"), "need created")
    assert response is not None and response.ok
    assert re.search(r"/my/needs/\d+/matches", page.url), page.url
    assert page.locator("p.lead").inner_text() == TITLE

    offers = page.locator("li.card.match")
    assert offers.count() >= 1
    titles = " ".join(offers.locator("h2").all_inner_texts()).lower()
    assert "nước thải" in titles or "wastewater" in titles
    first = offers.first
    response = floor.submit(first.locator("form.introduction button[type=submit]"), "introduction requested")
    assert response is not None and response.ok
    assert "requested=created" in page.url  # a new pair in the brokers' queue
