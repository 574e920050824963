"""Rebuilding a ListingIndex's vector and lexical indexes beside the live ones while updates go on.

A rebuild copies what it needs under the writer lock (cheaply), builds outside it, and meanwhile every
update is applied to the live indexes, so searches see it at once, and also recorded in a journal.
The journal is replayed onto the rebuilt copies, which nothing else can see, and the copies are swapped
in: the writer lock is held only for the copy, for each chunk of vectors read (a memcpy), for the
journal's last few documents and for the swap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from indexes.lexical import LexicalIndex
from indexes.vector import VectorIndex

if TYPE_CHECKING:
    from indexes.catalog import ListingIndex

log = logging.getLogger(__name__)
# Below this many listings a rebuild takes milliseconds (a flat copy, a small merge): it runs in the
# updating thread, so a small catalogue's update returns with its index compact and starts no thread.
BACKGROUND_MIN_LISTINGS = 1_000
# Journalled documents replayed under the writer lock at the end; more are replayed outside it first
# (64 HNSW inserts took ~100 ms at 10^5 listings), so a bulk import during a rebuild does not stall updates.
REPLAY_LOCKED_MAX = 64
# Documents a journal may hold before further upserts wait for the rebuild to end: a bulk import during a
# minutes-long compaction at 10^6 listings would otherwise keep every vector and text it wrote in memory
# a second time (20,000 listings of 384 floats and ~1 KB of text: ~50 MB).
JOURNAL_MAX_DOCUMENTS = 20_000


class Abandoned(Exception):
    """The indexes a rebuild started from were replaced (load, clear) or the process is stopping."""


@dataclass(frozen=True)
class _Upsert:
    ids: np.ndarray
    vectors: np.ndarray
    texts: Sequence[str]


@dataclass(frozen=True)
class _Delete:
    ids: list[int]


class Journal:
    """Updates applied to the live indexes since a rebuild copied them, in order, to apply to its result."""

    def __init__(self) -> None:
        self._entries: list[_Upsert | _Delete] = []
        self.upserted = 0  # documents upserted in the entries held now

    def upsert(self, ids: np.ndarray, vectors: np.ndarray, texts: Sequence[str]) -> None:
        self._entries.append(_Upsert(ids, vectors, list(texts)))
        self.upserted += len(ids)

    def delete(self, ids: list[int]) -> None:
        self._entries.append(_Delete(list(ids)))

    def take(self) -> list[_Upsert | _Delete]:
        entries, self._entries = self._entries, []
        self.upserted = 0
        return entries


def replay(
    entries: Sequence[_Upsert | _Delete], vectors: VectorIndex | None, lexical: LexicalIndex | None
) -> None:
    """Apply journalled updates to the rebuilt indexes (None: that one was not rebuilt, the live one is kept)."""
    for entry in entries:
        if isinstance(entry, _Upsert):
            if vectors is not None:
                vectors.upsert(entry.ids, entry.vectors)
            if lexical is not None:
                lexical.upsert(entry.ids.tolist(), entry.texts)
        else:
            if vectors is not None:
                vectors.delete(np.array(entry.ids, dtype=np.int64))
            if lexical is not None:
                lexical.delete(entry.ids)


def _size(entries: Sequence[_Upsert | _Delete]) -> int:
    return sum(len(entry.ids) for entry in entries)


class Rebuilds:
    """One rebuild at a time of one ListingIndex: in a daemon thread past `BACKGROUND_MIN_LISTINGS`, or in
    the calling thread; updates record themselves here (under the writer lock) while one runs."""

    def __init__(self, owner: ListingIndex) -> None:
        self._owner = owner
        self._running = threading.Lock()
        self._thread: threading.Thread | None = None
        self._journal: Journal | None = None
        # Bumped when the live indexes are replaced wholesale: a rebuild from the former ones is dropped.
        self._epoch = 0

    @property
    def running(self) -> bool:
        return self._running.locked()

    # --- called by updates, under the owner's writer lock ---------------------------------------

    def record_upsert(self, ids: np.ndarray, vectors: np.ndarray, texts: Sequence[str]) -> None:
        if self._journal is not None:
            self._journal.upsert(ids, vectors, texts)

    def record_delete(self, ids: list[int]) -> None:
        if self._journal is not None:
            self._journal.delete(ids)

    def wait_for_room(self) -> None:
        """Before an upsert, outside the writer lock: while a rebuild's journal holds
        `JOURNAL_MAX_DOCUMENTS` upserted documents, wait for the rebuild to end (it replays them)."""
        journal = self._journal
        if journal is not None and journal.upserted >= JOURNAL_MAX_DOCUMENTS:
            log.info(
                "%s index: %d updates wait for the rebuild in progress", self._owner.kind, journal.upserted
            )
            self.wait()

    def invalidate(self) -> None:
        """The live indexes were replaced (load, clear): a rebuild in flight is abandoned, not swapped in."""
        self._epoch += 1
        self._journal = None

    # --- starting, waiting, stopping ------------------------------------------------------------

    def request(self, *, vectors: bool, lexical: bool) -> None:
        """After an update: rebuild what is due unless a rebuild runs already (a no-op then: the next
        update asks again if it is still due). Errors are logged, and the next update retries."""
        if not self._running.acquire(blocking=False):
            return
        if len(self._owner) < BACKGROUND_MIN_LISTINGS:
            try:
                self._run_logged(vectors=vectors, lexical=lexical)
            finally:
                self._running.release()
            return

        def run() -> None:
            try:
                self._run_logged(vectors=vectors, lexical=lexical)
            finally:
                self._running.release()

        self._thread = threading.Thread(
            target=run, name=f"ListingIndex-rebuild-{self._owner.kind}", daemon=True
        )
        self._thread.start()

    def run(self, *, vectors: bool, lexical: bool) -> None:
        """Rebuild in the calling thread, after the rebuild running now if any; errors are raised."""
        with self._running:
            try:
                self._run(vectors=vectors, lexical=lexical)
            except Abandoned:
                log.info(
                    "%s index rebuild abandoned (shutdown, or its indexes were replaced)", self._owner.kind
                )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no rebuild runs; False if one still does after `timeout` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self._running.acquire(timeout=-1 if timeout is None else timeout):
            self._running.release()
            return True
        return False

    def abandon(self, timeout: float = 1.0) -> None:
        """Drop a rebuild in flight (shutdown): the live indexes are intact and whole, so only its work is
        lost; a chunked vector compaction stops at its next chunk, a merge is left to finish unused."""
        with self._owner._writer:
            self.invalidate()
        self.wait(timeout)

    # --- the rebuild itself ---------------------------------------------------------------------

    def _run_logged(self, *, vectors: bool, lexical: bool) -> None:
        try:
            self._run(vectors=vectors, lexical=lexical)
        except Abandoned:
            log.info("%s index rebuild abandoned (shutdown, or its indexes were replaced)", self._owner.kind)
        except Exception:
            log.exception(
                "%s index rebuild failed; the live indexes stay, the next update retries", self._owner.kind
            )

    def _run(self, *, vectors: bool, lexical: bool) -> None:
        owner = self._owner
        with owner._writer:
            epoch = self._epoch
            source_vectors = owner.vectors
            # The vectors are read in chunks under the writer lock (`_hold`); the lexical delta and
            # deletion mask are small enough to copy now, the base is never written in place.
            source_lexical = owner.lexical.frozen() if lexical else None
            journal = self._journal = Journal()
        try:
            new_vectors = source_vectors.compacted(hold=lambda: self._hold(epoch)) if vectors else None
            new_lexical = source_lexical.merged() if source_lexical is not None else None
            while True:
                with owner._writer:
                    if self._epoch != epoch:
                        raise Abandoned
                    pending = journal.take()
                    if _size(pending) <= REPLAY_LOCKED_MAX:
                        # The copies are seen by nothing yet: only the swap needs the read lock.
                        replay(pending, new_vectors, new_lexical)
                        with owner._lock.write_lock():
                            if new_vectors is not None:
                                owner.vectors = new_vectors
                            if new_lexical is not None:
                                owner.lexical = new_lexical
                        return
                replay(pending, new_vectors, new_lexical)
        finally:
            with owner._writer:
                if self._journal is journal:
                    self._journal = None

    @contextmanager
    def _hold(self, epoch: int) -> Iterator[None]:
        """The writer lock around one chunk read from the live vectors, which no update may grow meanwhile."""
        with self._owner._writer:
            if self._epoch != epoch:
                raise Abandoned
            yield
