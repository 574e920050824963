"""Keeps one API worker's indexes in line with writes made by any process (issue 11): a thread that reads
what changed in the store every `index_poll_interval` and hands it to the worker's IndexSync.

A transaction stamps `updated_at` before it commits, so a row can appear with a time earlier than
the previous look: each look re-reads `index_poll_overlap_seconds` back and hands on only versions it
has not seen, so a late commit is caught and nothing is handed on twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.leadership import Leadership
from indexes.sync import IndexSync
from models.base import transaction, utcnow
from models.listing_changes import forget_deletions, listing_versions

log = logging.getLogger(__name__)

# Tombstones outlive any follower's look back by far; the leader drops older ones now and then.
TOMBSTONE_DAYS = 1
TOMBSTONE_SWEEP_SECONDS = 3600.0


class StoreFollower:
    """Polls the store for changed and deleted listings; the leader's successor when the leader dies."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        index_sync: IndexSync,
        leadership: Leadership,
        since: datetime,
        interval: float,
        overlap_seconds: float,
        on_leadership: Callable[[datetime], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.index_sync = index_sync
        self.leadership = leadership
        self.interval = interval
        self.overlap = timedelta(seconds=overlap_seconds)
        self.on_leadership = on_leadership
        self.clock = clock
        # Every change committed before `covered_until` has been handed on (minus late commits, which
        # the overlap catches): a successor announces it to followers that start after it.
        self.covered_until = since
        self._seen: dict[tuple[str, int], tuple[datetime, bool]] = {}
        self._last_poll = time.monotonic()
        self._last_sweep = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0
        self.failures = 0

    def poll_once(self) -> set[tuple[str, int]]:
        """One look at the store; the listings handed to IndexSync."""
        started = self.clock()
        with self.session_factory() as session:
            versions = listing_versions(session=session, since=self.covered_until - self.overlap)
        changed = set()
        for kind, listing_id, moment, deleted in versions:
            if self._seen.get((kind, listing_id)) != (moment, deleted):
                self._seen[(kind, listing_id)] = (moment, deleted)
                changed.add((kind, listing_id))
        if changed:
            self.index_sync.notify(changed)
        self.covered_until = started
        # What the next look cannot return again needs no memory.
        horizon = started - self.overlap
        self._seen = {key: seen for key, seen in self._seen.items() if seen[0] >= horizon}
        self._last_poll = time.monotonic()
        self.polls += 1
        return changed

    def lag_seconds(self) -> float:
        """How long since the store was last read; what any other process wrote since is not yet searchable."""
        return time.monotonic() - self._last_poll

    def stale_after(self) -> float:
        return max(5.0, 20 * self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store-follower", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def problems(self) -> list[str]:
        lag = self.lag_seconds()
        return [f"indexes have not read the store for {lag:.0f} s"] if lag > self.stale_after() else []

    def health(self) -> dict[str, Any]:
        return {
            "role": "leader" if self.leadership.is_leader else "follower",
            "pid": os.getpid(),  # tells the workers behind one port apart (scripts/bench_scale.py)
            "lag_seconds": round(self.lag_seconds(), 3),
            "polls": self.polls,
            "failures": self.failures,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
                self._lead_if_free()
                self._sweep_tombstones()
            except Exception:  # the store may be down for a while: the next look tries again
                self.failures += 1
                log.exception("store follower: reading changes failed")

    def _lead_if_free(self) -> None:
        if self.leadership.is_leader or not self.leadership.try_acquire():
            return
        log.warning("the leader of this data directory is gone; this worker takes over")
        if self.on_leadership is not None:
            self.on_leadership(self.covered_until)

    def _sweep_tombstones(self) -> None:
        if not self.leadership.is_leader or time.monotonic() - self._last_sweep < TOMBSTONE_SWEEP_SECONDS:
            return
        self._last_sweep = time.monotonic()
        with transaction(self.session_factory) as session:
            forget_deletions(session=session, before=self.clock() - timedelta(days=TOMBSTONE_DAYS))
