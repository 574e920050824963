"""The brokers' pages over a fresh store: queue, review, match page, pipeline board and dashboard."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.access import Viewer
from core.taxonomy import Role
from models.base import transaction
from models.introductions import request_introduction
from models.matches import Match
from tests.api.conftest import World, need_body, offer_body
from tests.models.test_matches import suggest
from tests.web.conftest import People, csrf_of, sign_in
from tests.web.test_catalogues import english_messages_that_differ_in_vietnamese, visible_text

MATCH_IDS = re.compile(r'data-match="(\d+)"')


@pytest.fixture
def pairs(client: TestClient, world: World) -> list[int]:
    """Two suggestions waiting for review (need of ent-a with an offer of inst-a, then of inst-b), by id."""

    def post(who: str, path: str, body: dict) -> int:
        response = client.post(f"/api/v1/{path}", json=body, headers=world.auth(who))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    need = post("ent-a", "needs", need_body(status="published"))
    offers = [
        post("inst-a", "offers", offer_body(status="published")),
        post("inst-b", "offers", offer_body(title="Bộ điều khiển tưới theo độ ẩm", status="published")),
    ]
    factory = client.app.state.runtime.session_factory  # type: ignore[attr-defined]
    for offer, score in zip(offers, (0.81, 0.62), strict=True):
        assert suggest(factory, need, offer, score=score) == "created"
    with factory() as session:
        return list(session.scalars(select(Match.id).order_by(Match.id)))


def broker(client: TestClient, people: People) -> str:
    """Sign in as the broker; returns the session's CSRF token."""
    sign_in(client, people.emails["broker"])
    return csrf_of(client, "/broker/queue")


def test_only_staff_open_the_broker_pages(client: TestClient, people: People) -> None:
    for path in ("/broker/queue", "/broker/pipeline", "/dashboard", "/broker/matches/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")
    sign_in(client, people.emails["ent-a"])
    for path in ("/broker/queue", "/broker/pipeline", "/dashboard"):
        assert client.get(path).status_code == 403


def test_queue_review_pipeline_and_dashboard(client: TestClient, people: People, pairs: list[int]) -> None:
    token = broker(client, people)
    # Broker-made matches wait for review like suggestions; filters narrow the queue.
    assert sorted(map(int, MATCH_IDS.findall(client.get("/broker/queue").text))) == pairs
    assert MATCH_IDS.findall(client.get("/broker/queue", params={"sector": "textiles_apparel"}).text) == []
    assert len(MATCH_IDS.findall(client.get("/broker/queue", params={"status": ""}).text)) == 2
    assert client.get("/broker/queue", params={"status": "nonsense"}).status_code == 422
    assert client.get("/broker/queue", params={"score_min": "0.55"}).status_code == 422

    first, second = pairs
    # A member's request for an introduction joins the waiting suggestion; the queue can show only those.
    assert MATCH_IDS.findall(client.get("/broker/queue", params={"requested": "true"}).text) == []
    factory = client.app.state.runtime.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        match = session.get_one(Match, second)
        member = Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=match.need.organization_id)
        outcome = request_introduction(
            session=session,
            need=match.need,
            offer=match.offer,
            requester=member,
            requester_label="Introduction requested by ent-a",
            scoring=None,
        )
        assert outcome.outcome == "added"
    requested = client.get("/broker/queue", params={"requested": "true"}).text
    assert MATCH_IDS.findall(requested) == [str(second)] and 'class="requested"' in requested
    accepted = client.post(
        f"/broker/matches/{first}/review",
        data={"decision": "accept", "csrf_token": token, "next": "/broker/queue?status=suggested"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/broker/queue?status=suggested&moved={first}"
    assert MATCH_IDS.findall(client.get("/broker/queue").text) == [str(second)]

    # A rejection without a reason is refused on the match page, which says why; with one it is taken.
    refused = client.post(
        f"/broker/matches/{second}/review", data={"decision": "reject", "csrf_token": token}
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    unknown = client.post(
        f"/broker/matches/{second}/review",
        data={"decision": "reject", "reason": "bored", "csrf_token": token},
    )
    assert unknown.status_code == 422
    rejected = client.post(
        f"/broker/matches/{second}/review",
        data={"decision": "reject", "reason": "price_budget", "csrf_token": token},
    )
    assert rejected.status_code == 200 and "stage-rejected" in rejected.text

    # Along the pipeline: a jump is a conflict, the next stage is fine and its history is on the board.
    assert (
        client.post(f"/broker/matches/{first}/move", data={"to": "deal", "csrf_token": token}).status_code
        == 409
    )
    moved = client.post(f"/broker/matches/{first}/move", data={"to": "introduced", "csrf_token": token})
    assert moved.status_code == 200 and "h1" in moved.text
    page = client.get(f"/broker/matches/{first}").text
    assert 'id="need-title"' in page and 'id="offer-title"' in page
    assert page.count("<li>\n    <time") == 3  # suggested, accepted, introduced
    board = client.get("/broker/pipeline").text
    introduced = board.split('id="stage-introduced"', 1)[1].split("</section>", 1)[0]
    assert f'data-match="{first}"' in introduced

    dashboard = client.get("/dashboard").text
    assert re.search(r'id="total-introduced">[^<]*<strong>1</strong>', dashboard)
    assert dashboard.count("<svg") == 5

    # The board's form sends its reason list with every move: a move that takes no reason ignores it.
    onward = client.post(
        f"/broker/matches/{first}/move", data={"to": "negotiating", "reason": "timing", "csrf_token": token}
    )
    assert onward.status_code == 200 and "stage-negotiating" in onward.text

    # Every post needs the session's token.
    assert client.post(f"/broker/matches/{first}/move", data={"to": "negotiating"}).status_code == 403


def test_broker_pages_in_vietnamese_show_no_english_message_and_switch_to_english(
    client: TestClient, people: People, pairs: list[int]
) -> None:
    token = broker(client, people)
    first, second = pairs
    client.post(f"/broker/matches/{first}/review", data={"decision": "accept", "csrf_token": token})
    client.post(f"/broker/matches/{first}/move", data={"to": "introduced", "csrf_token": token})
    paths = [
        "/broker/queue",
        "/broker/queue?status=",
        f"/broker/matches/{first}",
        f"/broker/matches/{second}",
        "/broker/pipeline",
        "/dashboard",
    ]
    english = english_messages_that_differ_in_vietnamese()
    for path in paths:
        html = client.get(path).text
        assert '<html lang="vi">' in html, path
        text = visible_text(html)
        assert not [message for message in english if message in text], path
    client.post("/language", data={"language": "en", "csrf_token": token, "next": "/"})
    assert "Suggestion queue" in client.get("/broker/queue").text
    assert "Pipeline funnel" in client.get("/dashboard").text
    assert "Why the engine paired them" in client.get(f"/broker/matches/{first}").text
