"""One leader among the API workers sharing a data directory (issue 11): it alone writes index
generations and runs the background workers; the others follow. An exclusive `flock` held for the
process's lifetime decides, so a leader that dies, however it dies, frees the role at once."""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCK_FILE = "leader.lock"
READY_FILE = "leader.ready"


class Leadership:
    """This process's claim on the leader lock of `data_dir`, and the leader's readiness notice."""

    def __init__(self, data_dir: Path) -> None:
        self.lock_path = data_dir / LOCK_FILE
        self.ready_path = data_dir / READY_FILE
        # Names this leadership, not the process: a pid may come back after a restart.
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._lock_file: IO[str] | None = None

    @property
    def is_leader(self) -> bool:
        return self._lock_file is not None

    def try_acquire(self) -> bool:
        """Take the lead if nobody holds it; never blocks. True while this process leads."""
        if self._lock_file is not None:
            return True
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process lifetime)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(self.token)
        handle.flush()
        self._lock_file = handle
        log.info("API worker %d leads %s", os.getpid(), self.lock_path.parent)
        return True

    def announce_ready(self, *, since: datetime) -> None:
        """Tell followers the saved indexes hold every change committed before `since`."""
        temp = self.ready_path.with_name(f"{READY_FILE}.{self.token}.tmp")
        temp.write_text(f"{self.token}\n{since.isoformat()}\n", encoding="utf-8")
        os.replace(temp, self.ready_path)

    def leader_ready(self) -> datetime | None:
        """The `since` the current leader announced, or None while it is still preparing its indexes."""
        try:
            holder = self.lock_path.read_text(encoding="utf-8").strip()
            token, since = self.ready_path.read_text(encoding="utf-8").split()
        except (FileNotFoundError, ValueError):
            return None
        return datetime.fromisoformat(since) if holder and token == holder else None

    def wait_for_leader(self, *, poll_seconds: float = 0.2) -> datetime | None:
        """Block until the leader is ready and return its `since`; None if this process took the lead."""
        waiting_since = time.monotonic()
        next_note = waiting_since + 10
        while True:
            if self.try_acquire():
                return None
            since = self.leader_ready()
            if since is not None:
                return since
            if time.monotonic() > next_note:
                log.info("waiting %.0f s for the leader's indexes", time.monotonic() - waiting_since)
                next_note += 10
            time.sleep(poll_seconds)

    def release(self) -> None:
        if self._lock_file is None:
            return
        if self.leader_ready() is not None:
            self.ready_path.unlink(missing_ok=True)
        self._lock_file.close()
        self._lock_file = None
