"""A background thread that applies queued listing changes in batches: the shape of every follower."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Change = tuple[str, int]
_STOP: Change = ("", -1)


class ChangeQueue:
    """Queues (kind, id) changes and hands them to `handle` in batches on one daemon thread.

    `tick`, when given, runs after every batch and whenever `tick_interval` seconds pass
    without one (periodic saves). A failing batch is logged and the thread keeps going:
    followers of the store repair themselves on the next full check.
    """

    def __init__(
        self,
        *,
        name: str,
        handle: Callable[[set[Change]], object],
        tick: Callable[[], None] | None = None,
        tick_interval: float | None = None,
    ) -> None:
        self.name = name
        self.handle = handle
        self.tick = tick
        self.tick_interval = tick_interval
        self._queue: queue.Queue[Change] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def put(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self._idle.clear()
            self._queue.put(change)

    def qsize(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Apply what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=60)
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued change has been handled."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            try:
                batch = {self._queue.get(timeout=self.tick_interval)}
            except queue.Empty:
                self._tick()
                continue
            while not self._queue.empty():
                batch.add(self._queue.get_nowait())
            stop = _STOP in batch
            batch.discard(_STOP)
            try:
                if batch:
                    self.handle(batch)
            except Exception:
                log.exception("%s: handling %d change(s) failed", self.name, len(batch))
            if self._queue.empty():
                self._idle.set()
            self._tick()
            if stop:
                return

    def _tick(self) -> None:
        if self.tick is not None:
            self.tick()
