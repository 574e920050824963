"""An anonymous visitor searches without diacritics and opens an offer."""

from __future__ import annotations

import re

import pytest

from tests.web.e2e.conftest import Floor

pytestmark = pytest.mark.integration


def test_visitor_searches_without_diacritics_and_opens_an_offer(floor: Floor) -> None:
    floor.visit("/", "home")
    page = floor.page
    page.fill("#q", "xu ly nuoc thai")
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    floor.shoot("search results")
    assert "/search?" in page.url
    results = page.locator('h3 a[href^="/offers/"]')
    assert results.count() >= 1
    first_title = results.first.inner_text()
    assert "nước thải" in first_title.lower() or "wastewater" in first_title.lower(), first_title
    assert page.locator("mark").count() >= 1  # matched words highlighted
    floor.submit(results.first, "offer")
    assert re.search(r"/offers/\d+$", page.url), page.url
    assert page.locator("h1").inner_text() == first_title
