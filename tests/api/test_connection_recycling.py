"""Keep-alive connections are closed after a number of requests, or while a worker is overloaded, so
API workers share their clients."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send

from api.connection_recycling import ConnectionRecycling
from api.worker_load import WorkerLoad
from scripts.bench_load import free_port


async def echo_port(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the client's port: a new port is a new connection."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"connection", b"keep-alive")]})
    await send({"type": "http.response.body", "body": str(scope["client"][1]).encode()})


def responses(
    app: ConnectionRecycling, client: tuple[str, int], count: int
) -> list[list[tuple[bytes, bytes]]]:
    """The response headers of `count` requests from `client`, straight through the middleware."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        for _ in range(count):
            await app({"type": "http", "client": client, "headers": []}, receive, send)

    asyncio.run(run())
    return [message["headers"] for message in sent if message["type"] == "http.response.start"]


def test_every_nth_response_on_a_connection_says_close() -> None:
    app = ConnectionRecycling(echo_port, max_requests=3)
    first = responses(app, ("10.0.0.1", 5000), 7)
    closing = [(b"connection", b"close") in headers for headers in first]
    assert closing == [False, False, True, False, False, True, False]
    # Only one Connection header, the application's keep-alive replaced.
    assert all(sum(name == b"connection" for name, _ in headers) == 1 for headers in first)
    # Another connection counts its own requests.
    assert [(b"connection", b"close") in h for h in responses(app, ("10.0.0.1", 5001), 2)] == [False, False]


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(ConnectionRecycling(echo_port, max_requests=4), port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def test_a_keep_alive_client_reconnects_after_the_limit(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        ports = [client.get("/").text for _ in range(12)]
    # Four requests per connection, then the server closes it and the client opens another.
    assert [len(set(ports[i : i + 4])) for i in range(0, 12, 4)] == [1, 1, 1]
    assert len(set(ports)) == 3


def test_an_overloaded_worker_closes_connections_until_it_is_back_in_line(tmp_path: Path) -> None:
    mine, other = WorkerLoad(tmp_path), WorkerLoad(tmp_path)
    app = ConnectionRecycling(echo_port, max_requests=1000, load=mine, workers=2)
    client = ("10.0.0.1", 5000)
    # Alone with its own request in flight against an idle worker: within one of the average.
    assert [(b"connection", b"close") in h for h in responses(app, client, 2)] == [False, False]
    for _ in range(2):  # two more requests of this worker are waiting in line
        mine.started()
    assert [(b"connection", b"close") in h for h in responses(app, client, 2)] == [True, True]
    for _ in range(2):
        other.started()
    assert [(b"connection", b"close") in h for h in responses(app, client, 1)] == [False]
    # Requests are counted while they run and no longer after.
    assert (mine.in_flight, other.in_flight) == (2, 2)
    mine.close()
    other.close()
