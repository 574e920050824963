"""The change queue every store follower runs on."""

from __future__ import annotations

import threading
import time

from core.workers import ChangeQueue


def test_changes_arrive_in_batches_and_failures_do_not_stop_the_thread() -> None:
    seen: list[set[tuple[str, int]]] = []
    gate = threading.Event()

    def handle(batch: set[tuple[str, int]]) -> None:
        gate.wait(5)
        seen.append(batch)
        if ("offers", 1) in batch:
            raise RuntimeError("boom")

    changes = ChangeQueue(name="test", handle=handle)
    changes.start()
    changes.put([("offers", 1)])
    changes.put([("offers", 2), ("needs", 2), ("offers", 2)])
    gate.set()
    assert changes.wait_idle(5)
    changes.put([("needs", 9)])
    changes.close()
    assert set().union(*seen) == {("offers", 1), ("offers", 2), ("needs", 2), ("needs", 9)}
    assert seen[-1] == {("needs", 9)}  # the thread survived the failing batch


def test_tick_runs_after_batches_and_when_idle() -> None:
    ticks: list[float] = []
    changes = ChangeQueue(
        name="test",
        handle=lambda batch: None,
        tick=lambda: ticks.append(time.monotonic()),
        tick_interval=0.02,
    )
    changes.start()
    time.sleep(0.15)
    assert len(ticks) >= 3  # idle ticks
    before = len(ticks)
    changes.put([("offers", 1)])
    assert changes.wait_idle(5)
    changes.close()
    assert len(ticks) > before


def test_a_failing_tick_does_not_stop_the_thread() -> None:
    """A save that fails once (a read-only index folder) must not end indexing until restart."""
    ticks: list[int] = []
    handled: list[set[tuple[str, int]]] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 1:
            raise OSError("read-only file system")

    changes = ChangeQueue(name="test", handle=handled.append, tick=tick, tick_interval=10)
    changes.start()
    changes.put([("offers", 1)])
    assert changes.wait_idle(5)
    changes.put([("offers", 2)])
    assert changes.wait_idle(5)
    assert changes.is_alive()
    changes.close()
    assert handled == [{("offers", 1)}, {("offers", 2)}]
    assert len(ticks) >= 2 and changes.failures == 1


def test_lag_is_the_age_of_the_oldest_unhandled_change() -> None:
    gate = threading.Event()
    changes = ChangeQueue(name="test", handle=lambda batch: gate.wait(5))
    assert changes.lag_seconds() == 0.0
    changes.start()
    changes.put([("offers", 1)])
    time.sleep(0.1)
    assert changes.lag_seconds() >= 0.1
    gate.set()
    assert changes.wait_idle(5)
    assert changes.lag_seconds() == 0.0
    changes.close()
    assert not changes.is_alive()
