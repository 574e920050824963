"""What the browser must not get away with: a form without its CSRF token, script access to the session
cookie, another organization's edit page."""

from __future__ import annotations

import httpx
import pytest

from core.taxonomy import Role
from scripts.demo import DEMO_KEYS
from tests.web.e2e.conftest import Floor, FloorServer

pytestmark = pytest.mark.integration


def test_a_form_post_without_its_csrf_token_is_refused(floor: Floor) -> None:
    floor.sign_in(Role.ENTERPRISE_MEMBER, "/my/needs/new")
    page = floor.page
    page.fill("#title", "A need posted from a forged form")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((field) => field.remove())")
    floor.allow(403, r"^/my/needs/new$")
    response = floor.submit(page.locator("main form.form button[type=submit]"), "refused without token")
    assert response is not None and response.status == 403
    floor.visit("/my/needs", "my needs after refusal")
    assert page.locator("text=A need posted from a forged form").count() == 0


def test_the_session_cookie_is_httponly_and_samesite(floor: Floor) -> None:
    floor.sign_in(Role.BROKER, "/")
    cookies = {cookie["name"]: cookie for cookie in floor.context.cookies()}
    session = cookies["tm_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] in ("Lax", "Strict")
    assert "tm_session" not in floor.page.evaluate("document.cookie")


def test_a_member_cannot_open_another_organizations_edit_page(
    floor: Floor, floor_server: FloorServer
) -> None:
    broker = {"Authorization": f"Bearer {DEMO_KEYS[Role.BROKER][0]}"}
    _key, slug = DEMO_KEYS[Role.ENTERPRISE_MEMBER]
    with httpx.Client(base_url=floor_server.url, headers=broker) as api:
        organizations = api.get("/api/v1/organizations", params={"limit": 100}).json()["items"]
        needs = api.get("/api/v1/needs", params={"limit": 100, "status": "published"}).json()
    own_id = next(org["id"] for org in organizations if org["slug"] == slug)
    others = [need for need in needs["items"] if need["organization_id"] != own_id]
    mine = [need for need in needs["items"] if need["organization_id"] == own_id]
    assert others and mine
    floor.sign_in(Role.ENTERPRISE_MEMBER, "/my/needs")
    floor.allow(403, rf"^/my/needs/{others[0]['id']}/edit$")
    floor.allow(404, rf"^/my/needs/{others[0]['id']}/edit$")
    response = floor.visit(f"/my/needs/{others[0]['id']}/edit", "another organization's edit page")
    assert response is not None and response.status in (403, 404)
    assert floor.page.locator("form.form #title").count() == 0
    response = floor.visit(f"/my/needs/{mine[0]['id']}/edit", "own edit page")
    assert response is not None and response.status == 200
    assert floor.page.locator("form.form #title").input_value() == mine[0]["title"]
