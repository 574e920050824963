"""A background thread that applies queued listing changes in batches: the shape of every follower."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Change = tuple[str, int]
_STOP: Change = ("", -1)


class ChangeQueue:
    """Queues (kind, id) changes and hands them to `handle` in batches on one daemon thread.

    `tick`, when given, runs after every batch and whenever `tick_interval` seconds pass
    without one (periodic saves). A failing batch or tick is logged and counted and the
    thread keeps going: followers of the store repair themselves on the next full check,
    and a tick that failed (a save) is simply tried again at the next one.
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
        # When the oldest change not yet handled arrived (monotonic), None while idle.
        self._pending_since: float | None = None
        self._pending_lock = threading.Lock()
        self.failures = 0

    def put(self, changes: Iterable[Change]) -> None:
        for change in changes:
            with self._pending_lock:
                if self._pending_since is None:
                    self._pending_since = time.monotonic()
                self._idle.clear()
                self._queue.put(change)

    def qsize(self) -> int:
        return self._queue.qsize()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def lag_seconds(self) -> float:
        """How long the oldest change not yet handled has been waiting; 0 when all are handled."""
        since = self._pending_since
        return 0.0 if since is None else time.monotonic() - since

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
                self.failures += 1
                log.exception("%s: handling %d change(s) failed", self.name, len(batch))
            with self._pending_lock:
                if self._queue.empty():
                    self._pending_since = None
                    self._idle.set()
            self._tick()
            if stop:
                return

    def _tick(self) -> None:
        if self.tick is None:
            return
        try:
            self.tick()
        except Exception:  # e.g. an index save on a full or read-only disk: the next tick tries again
            self.failures += 1
            log.exception("%s: periodic work failed", self.name)
