"""A broker works the queue in the browser: accepts a suggestion by keyboard, introduces the pair, and the
dashboard counts the introduction."""

from __future__ import annotations

import re

import pytest

from core.taxonomy import Role
from tests.web.e2e.conftest import Floor
from tests.web.e2e.journeys import own_need, request_introduction

pytestmark = pytest.mark.integration


def introductions(floor: Floor) -> int:
    floor.visit("/dashboard", "dashboard")
    assert floor.page.locator("#chart-funnel svg title").count() == 1
    return int(re.sub(r"\D", "", floor.page.locator("#total-introduced strong").inner_text()))


def test_broker_finds_a_requested_introduction_accepts_it_introduces_it_and_the_dashboard_counts_it(
    floor: Floor,
) -> None:
    # An enterprise member asks for an introduction on one of the demo's needs.
    floor.sign_in(Role.ENTERPRISE_MEMBER, "/my/needs")
    need_title, offer_title = request_introduction(floor, need_path=own_need(floor, 0))
    floor.sign_out()

    floor.sign_in(Role.BROKER, "/dashboard")
    before = introductions(floor)
    floor.visit("/broker/queue?status=suggested&requested=true&sort=-created_at", "queue of requests")
    item = floor.page.locator("[data-queue] .queue-item", has_text=need_title).filter(has_text=offer_title)
    assert item.count() == 1
    assert item.locator(".requested").count() == 1
    match_id = item.get_attribute("data-match")
    # Keyboard: J selects the first match and moves down; a click selects this one; A accepts it.
    floor.page.locator("body").press("j")
    assert "selected" in (floor.page.locator("[data-queue] .queue-item").first.get_attribute("class") or "")
    item.locator(".pair").click()
    assert "selected" in (item.get_attribute("class") or "")
    with floor.page.expect_navigation():
        floor.page.keyboard.press("a")
    floor.shoot("queue after accepting")
    assert f"moved={match_id}" in floor.page.url
    assert floor.page.locator(f"#match-{match_id}").count() == 0  # no longer waiting for review

    floor.visit(f"/broker/matches/{match_id}", "match")
    need_card, offer_card = floor.page.locator("#need-title"), floor.page.locator("#offer-title")
    assert need_card.inner_text() == need_title and offer_card.inner_text() == offer_title
    need_box, offer_box = need_card.bounding_box(), offer_card.bounding_box()
    assert need_box and offer_box and offer_box["x"] > need_box["x"] + 200  # side by side at desktop width
    floor.submit(
        floor.page.locator("form.move:has(input[name=to][value=introduced]) button[type=submit]"),
        "match introduced",
    )
    assert floor.page.locator("h1 .stage-introduced").count() == 1
    history = floor.page.locator(".history li")
    assert history.count() >= 3  # requested (and perhaps suggested before), accepted, introduced

    floor.visit("/broker/pipeline", "pipeline")
    card = floor.page.locator(f'section[aria-labelledby=stage-introduced] [data-match="{match_id}"]')
    assert card.count() == 1
    card.locator("summary").click()
    assert card.locator(".history li").count() == history.count()

    assert introductions(floor) == before + 1


def test_a_rejection_needs_a_reason(floor: Floor) -> None:
    floor.sign_in(Role.ENTERPRISE_MEMBER, "/my/needs")
    need_title, _offer_title = request_introduction(floor, need_path=own_need(floor, 1))
    floor.sign_out()
    floor.sign_in(Role.BROKER, "/broker/queue")
    item = floor.page.locator("[data-queue] .queue-item", has_text=need_title).first
    match_id = item.get_attribute("data-match")
    reason = item.locator("select[name=reason]")
    # R without a chosen reason posts nothing and puts the focus on the reason list...
    item.locator(".pair").click()
    floor.page.keyboard.press("r")
    assert reason.evaluate("element => element === document.activeElement")
    assert floor.page.url.endswith("/broker/queue")
    # ...the button is refused by the browser too (a required select)...
    item.locator("form[data-reject] button[type=submit]").click()
    assert floor.page.url.endswith("/broker/queue")
    # ...and with a reason the match leaves the queue, the reason in its history.
    reason.select_option("duplicate")
    floor.submit(item.locator("form[data-reject] button[type=submit]"), "queue after rejecting")
    assert f"moved={match_id}" in floor.page.url
    floor.visit(f"/broker/matches/{match_id}", "rejected match")
    assert floor.page.locator("h1 .stage-rejected").count() == 1
    last = floor.page.locator(".history li").last.inner_text()
    assert "·" in last  # the reason follows the stage
    assert floor.page.locator("form.move").count() == 0  # closed
