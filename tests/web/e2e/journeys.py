"""Steps the journeys share: a member asking for an introduction through the browser."""

from __future__ import annotations

import re

from tests.web.e2e.conftest import Floor


def request_introduction(floor: Floor, *, need_path: str) -> tuple[str, str]:
    """On a need's matches page, ask for an introduction to the first offer; (need title, offer title)."""
    floor.visit(need_path, "need matches")
    # Offers the brokers have not taken up or closed yet still offer the request.
    offers = floor.page.locator("li.card.match:has(form.introduction)")
    assert offers.count() >= 1, "no matching offer to ask an introduction for"
    first = offers.first
    offer_title = first.locator("h2").first.inner_text()
    need_title = floor.page.locator("p.lead a").inner_text()
    response = floor.submit(first.locator("form.introduction button[type=submit]"), "introduction requested")
    assert response is not None and response.ok
    assert re.search(r"requested=(created|added)", floor.page.url), floor.page.url
    return need_title, offer_title


def own_need(floor: Floor, index: int) -> str:
    """The matches page of one of the signed-in enterprise member's needs (tests each use their own)."""
    floor.visit("/my/needs", "my needs")
    link = floor.page.locator('a[href^="/my/needs/"][href$="/matches"]').nth(index)
    href = link.get_attribute("href")
    assert href
    return href
