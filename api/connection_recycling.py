"""Closes a keep-alive connection after a number of requests, or at once when this worker carries
clearly more requests than the others (api/worker_load.py), so that API workers share clients.

uvicorn's workers accept from one shared socket, and a connection stays with the worker that accepted
it for good: eight keep-alive clients that all landed on one of two workers left the other idle (the
scale benchmark's throughput halved on one run in two). A client told to close reconnects at once,
and the idle worker, whose event loop answers first, tends to take it: the same remedy as HTTP/2
servers' maximum connection age.
"""

from __future__ import annotations

from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.worker_load import WorkerLoad

# Connections whose requests are counted; past it the oldest are forgotten (they most likely closed:
# ASGI says nothing when a connection ends).
TRACKED_CONNECTIONS = 10_000


class ConnectionRecycling:
    """Pure ASGI middleware: the `max_requests`-th response on a connection says `Connection: close`,
    and so does any response while `load` says this worker is overloaded among `workers`."""

    def __init__(
        self, app: ASGIApp, *, max_requests: int, load: WorkerLoad | None = None, workers: int = 1
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.load = load
        self.workers = workers
        # Requests seen per connection, by the client's (address, port); one event loop, no lock needed.
        self._counts: OrderedDict[tuple[str, int], int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        key = (str(client[0]), int(client[1]))
        count = self._counts.pop(key, 0) + 1
        if count < self.max_requests:
            self._counts[key] = count
            if len(self._counts) > TRACKED_CONNECTIONS:
                self._counts.popitem(last=False)
        worn_out = count >= self.max_requests
        load = self.load

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                worn_out or (load is not None and load.overloaded(self.workers))
            ):
                self._counts.pop(key, None)
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        if load is None:
            await self.app(scope, receive, send_closing)
            return
        load.started()
        try:
            await self.app(scope, receive, send_closing)
        finally:
            load.finished()
