"""How many requests each API worker of a node has in flight, on a small shared memory-mapped board.

Keep-alive connections stay with the worker that accepted them, and the kernel hands new ones out
blindly: eight clients over two workers are split 6:2 or worse more than one time in four, and the
busier worker's requests then queue twice as long. A worker that sees it carries clearly more than
the average closes the connection after answering (api/connection_recycling.py); the client
reconnects and may land on a quieter worker.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from pathlib import Path
from typing import IO

import numpy as np

BOARD_FILE = "worker-load.bin"
SLOTS = 64


class WorkerLoad:
    """This worker's slot on the node's board: a counter of its requests in flight, read by all."""

    def __init__(self, data_dir: Path, *, slots: int = SLOTS) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._claim: IO[str] | None = None
        self.slot = self._take_slot(data_dir, slots)
        path = data_dir / BOARD_FILE
        with open(path, "a+b") as handle:
            if os.fstat(handle.fileno()).st_size < slots * 4:
                handle.truncate(slots * 4)
        self._file = open(path, "r+b")  # noqa: SIM115 (mapped for the process lifetime)
        self._map = mmap.mmap(self._file.fileno(), slots * 4)
        self.board = np.frombuffer(self._map, dtype=np.int32, count=slots)
        self.board[self.slot] = 0

    def _take_slot(self, data_dir: Path, slots: int) -> int:
        """The first slot no live worker holds (a lock file per slot: a dead worker frees its own)."""
        for slot in range(slots):
            handle = open(data_dir / f"worker-load-{slot}.lock", "a+", encoding="utf-8")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self._claim = handle
            return slot
        raise RuntimeError(f"more than {slots} API workers share {data_dir}")

    def started(self) -> None:
        self.board[self.slot] += 1

    def finished(self) -> None:
        self.board[self.slot] -= 1

    @property
    def in_flight(self) -> int:
        return int(self.board[self.slot])

    def overloaded(self, workers: int) -> bool:
        """Whether this worker has at least two requests in flight more than the average of the first
        `workers` slots (a worker that died leaves its count until another takes its slot)."""
        counts = self.board[: max(workers, self.slot + 1)]
        return bool(self.in_flight - counts.mean() >= 1.0)

    def close(self) -> None:
        self.board[self.slot] = 0
        del self.board
        self._map.close()
        self._file.close()
        if self._claim is not None:
            self._claim.close()
            self._claim = None
