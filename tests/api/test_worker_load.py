"""The node's board of requests in flight per API worker: one slot per live worker, shared counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.worker_load import WorkerLoad


def test_workers_take_distinct_slots_and_a_closed_worker_frees_its_own(tmp_path: Path) -> None:
    first, second = WorkerLoad(tmp_path), WorkerLoad(tmp_path)
    assert (first.slot, second.slot) == (0, 1)
    first.close()
    third = WorkerLoad(tmp_path)
    assert third.slot == 0
    second.close()
    third.close()


def test_every_worker_reads_the_others_counts(tmp_path: Path) -> None:
    busy, quiet = WorkerLoad(tmp_path), WorkerLoad(tmp_path)
    for _ in range(3):
        busy.started()
    quiet.started()
    assert busy.in_flight == 3 and quiet.in_flight == 1
    assert list(quiet.board[:2]) == [3, 1]
    # Two more than the other of two workers is one above the average: overloaded.
    assert busy.overloaded(2) and not quiet.overloaded(2)
    quiet.started()
    assert not busy.overloaded(2), "3 against 2 is within one of the average"
    busy.finished()
    busy.finished()
    assert busy.in_flight == 1 and not quiet.overloaded(2)
    busy.close()
    quiet.close()


def test_a_new_worker_on_a_dead_workers_slot_starts_from_zero(tmp_path: Path) -> None:
    gone = WorkerLoad(tmp_path)
    gone.started()
    gone.started()
    gone._claim.close()  # type: ignore[union-attr]  # the process died holding requests
    gone._claim = None
    successor = WorkerLoad(tmp_path)
    assert successor.slot == gone.slot and successor.in_flight == 0
    successor.close()
    gone.close()


def test_more_workers_than_slots_is_an_error(tmp_path: Path) -> None:
    held = [WorkerLoad(tmp_path, slots=2) for _ in range(2)]
    with pytest.raises(RuntimeError, match="more than 2 API workers"):
        WorkerLoad(tmp_path, slots=2)
    for load in held:
        load.close()
