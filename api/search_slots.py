"""Admission to the read routes that do the engine's work (search, matches, listing pages): a few at a
time per API process, first come first served, and 503 with Retry-After when too many already wait.

Their work is CPU-bound Python. Run side by side on the thread pool, they only share the GIL (a
process gets one core's worth), each takes as long as all of them together, and switching between
them costs a fifth of the throughput. One at a time, a request waits in line instead of running
slowly. Like a search engine's search thread pool: a fixed size and a bounded queue (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException


class SearchSlots:
    """`slots` requests at once; past `queue_limit` waiting, new ones are turned away."""

    def __init__(self, *, slots: int, queue_limit: int) -> None:
        self.slots = slots
        self.queue_limit = queue_limit
        self._free = asyncio.Semaphore(slots)
        self.waiting = 0
        self.turned_away = 0

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """A slot for the duration of the block; HTTPException 503 when the queue is full."""
        if self._free.locked() and self.waiting >= self.queue_limit:
            self.turned_away += 1
            raise HTTPException(
                503,
                f"The service is busy ({self.waiting} searches waiting); retry in a second.",
                headers={"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await self._free.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._free.release()

    def health(self) -> dict[str, int]:
        return {
            "slots": self.slots,
            "queue_limit": self.queue_limit,
            "waiting": self.waiting,
            "turned_away": self.turned_away,
        }
