"""Admission to the engine's read routes: a fixed number at once, first come first served, 503 past the
queue's limit; writes and health checks never wait for it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from api.runtime import Runtime
from api.search_slots import SearchSlots
from tests.api.conftest import World, offer_body


def test_requests_past_the_slots_wait_in_arrival_order_and_past_the_queue_are_turned_away() -> None:
    async def scenario() -> tuple[list[str], int, dict[str, int]]:
        slots = SearchSlots(slots=1, queue_limit=2)
        order: list[str] = []
        first_in = asyncio.Event()
        release_first = asyncio.Event()

        async def request(name: str, hold: asyncio.Event | None = None) -> None:
            async with slots.hold():
                order.append(name)
                if hold is not None:
                    first_in.set()
                    await hold.wait()

        first = asyncio.create_task(request("first", release_first))
        await first_in.wait()
        waiting = [asyncio.create_task(request(name)) for name in ("second", "third")]
        await asyncio.sleep(0)
        with pytest.raises(HTTPException) as refused:
            async with slots.hold():
                order.append("fourth")
        assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "1"}
        busy = slots.health()
        release_first.set()
        await asyncio.gather(first, *waiting)
        return order, slots.turned_away, busy

    order, turned_away, busy = asyncio.run(scenario())
    assert order == ["first", "second", "third"]
    assert turned_away == 1
    assert busy == {"slots": 1, "queue_limit": 2, "waiting": 2, "turned_away": 1}


@pytest.mark.parametrize("slots", [1, 3])
def test_no_more_than_the_slots_run_at_once(slots: int) -> None:
    async def scenario() -> int:
        admission = SearchSlots(slots=slots, queue_limit=100)
        running = most = 0

        async def request() -> None:
            nonlocal running, most
            async with admission.hold():
                running += 1
                most = max(most, running)
                await asyncio.sleep(0.001)
                running -= 1

        await asyncio.gather(*(request() for _ in range(12)))
        assert admission.health()["waiting"] == 0
        return most

    assert asyncio.run(scenario()) == slots


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


@contextmanager
def full_queue(client: TestClient) -> Iterator[SearchSlots]:
    """The app's only slot taken and its queue (one place) full, on the app's own event loop."""
    slots = runtime_of(client).search_slots = SearchSlots(slots=1, queue_limit=1)
    portal = client.portal
    assert portal is not None
    holder: AbstractAsyncContextManager[None] = slots.hold()
    portal.call(holder.__aenter__)

    async def wait_in_line() -> None:
        async with slots.hold():
            pass

    waiter = portal.start_task_soon(wait_in_line)
    while slots.health()["waiting"] < 1:
        portal.call(asyncio.sleep, 0.001)
    try:
        yield slots
    finally:
        portal.call(holder.__aexit__, None, None, None)
        waiter.result(timeout=5)


def test_searches_matches_and_lists_answer_503_while_the_queue_is_full(
    client: TestClient, world: World
) -> None:
    offer = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a")).json()
    engine_routes = [
        "/api/v1/search/offers?q=water",
        "/api/v1/search/needs?q=water",
        f"/api/v1/offers/{offer['id']}/matches",
        "/api/v1/offers",
        "/api/v1/needs?trl_min=3",
        "/search?q=water",
    ]
    with full_queue(client) as slots:
        for url in engine_routes:
            busy = client.get(url)
            assert busy.status_code == 503, url
            assert busy.headers["Retry-After"] == "1", url
            if url.startswith("/api/"):
                assert busy.json()["error"]["code"] == "unavailable"
        assert slots.turned_away == len(engine_routes)
        assert client.get(f"/api/v1/offers/{offer['id']}").status_code == 200
        written = client.post(
            "/api/v1/offers", json=offer_body(title="Another"), headers=world.auth("inst-a")
        )
        assert written.status_code == 201
        health = client.get("/api/v1/healthz", headers=world.auth("broker")).json()
        assert health["search_slots"] == {"slots": 1, "queue_limit": 1, "waiting": 1, "turned_away": 6}
    for url in engine_routes:
        assert client.get(url).status_code == 200, url
    assert runtime_of(client).search_slots.health()["waiting"] == 0
