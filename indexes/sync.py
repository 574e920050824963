"""Keeps the listing indexes equal to the store: a full check at start, then every committed change."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping

from core.workers import ChangeQueue
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument

log = logging.getLogger(__name__)

# (kind, ids) -> the indexable documents among them; a listing that is missing from the answer
# (deleted, archived, draft) must leave the index.
DocumentLoader = Callable[[str, Collection[int]], dict[int, IndexDocument]]
# kind -> the ids of its indexable listings, as the loader would find them.
IdLoader = Callable[[str], Collection[int]]

# Listings read per step of a full check: at 10^6 reading every text at once held ~1.2 GB, which the
# process kept after the check.
RECONCILE_BATCH = 20_000


# Saves are spaced by at least this many times the last save's duration (at most 1/20 of the time).
SAVE_COST_FACTOR = 20


class IndexSync:
    """Applies store changes to the indexes on a background thread and saves them periodically.

    The store is the source of truth: whatever happens to the process, `reconcile` at the
    next start re-encodes what changed and drops what went away.
    """

    def __init__(
        self,
        *,
        indexes: Mapping[str, ListingIndex],
        load_documents: DocumentLoader,
        load_ids: IdLoader,
        save_interval: float = 2.0,
        checkpoint_every: int = 2_000,
        saves: bool = True,
    ) -> None:
        self.indexes = indexes
        self.load_documents = load_documents
        self.load_ids = load_ids
        self.save_interval = save_interval
        # False in a follower API worker: only the leader writes generations (two writers would race).
        self.saves = saves
        self.checkpoint_every = checkpoint_every
        self._changes = ChangeQueue(
            name="index-sync", handle=self.apply, tick=self._save, tick_interval=save_interval
        )
        self._dirty: set[str] = set()
        self._next_save = time.monotonic() + save_interval
        self._listeners: list[Callable[[set[tuple[str, int]]], None]] = []

    # --- full checks -------------------------------------------------------------------------

    def reconcile(self, *, show_progress: bool = False) -> dict[str, tuple[int, int]]:
        """Make every index equal to the store and tell listeners what changed; (re-encoded, removed) per kind."""
        report = {}
        changed: set[tuple[str, int]] = set()
        for kind, index in self.indexes.items():
            stale, extra = self._differences(kind, index)
            index.delete(extra)
            ordered = sorted(stale)
            next_save = time.monotonic()
            for start in range(0, len(ordered), self.checkpoint_every):
                chunk = ordered[start : start + self.checkpoint_every]
                documents = self.load_documents(kind, chunk)
                index.upsert(
                    [documents[doc_id] for doc_id in chunk if doc_id in documents],
                    show_progress=show_progress,
                )
                # Gone from the store since the check (a change the follower also brings).
                index.delete(set(chunk) - documents.keys())
                # Saving between chunks bounds the work a crash can cost on a large rebuild; spaced like
                # the worker's saves, since each writes the whole (growing) index.
                if time.monotonic() >= next_save and start + self.checkpoint_every < len(ordered):
                    started = time.monotonic()
                    index.save()
                    next_save = self._spaced(started, time.monotonic())
            if stale or extra:
                # The compaction or merge the upserts started, so the saved generation has it done (as
                # when rebuilds ran inside the upserts) and a `techmatch reindex` exits with none running.
                index.wait_for_rebuild()
                index.save()
            report[kind] = (len(stale), len(extra))
            changed |= {(kind, doc_id) for doc_id in stale | extra}
            if stale or extra:
                log.info("%s index: %d re-encoded, %d removed", kind, len(stale), len(extra))
        if changed:
            for listener in self._listeners:
                listener(changed)
        return report

    def _differences(self, kind: str, index: ListingIndex) -> tuple[set[int], set[int]]:
        """(ids to (re-)encode, ids to drop) for `index` to equal the store, reading the store's texts
        `RECONCILE_BATCH` at a time: only the stale ids are kept."""
        ids = sorted(self.load_ids(kind))
        stale: set[int] = set()
        for start in range(0, len(ids), RECONCILE_BATCH):
            documents = self.load_documents(kind, ids[start : start + RECONCILE_BATCH])
            stale |= index.stale({doc_id: doc.fingerprint for doc_id, doc in documents.items()})
        return stale, index.extra(ids)

    def rebuild(self, *, show_progress: bool = False) -> dict[str, tuple[int, int]]:
        for index in self.indexes.values():
            index.clear()
        return self.reconcile(show_progress=show_progress)

    # --- following changes -------------------------------------------------------------------

    def notify(self, changes: Iterable[tuple[str, int]]) -> None:
        """Queue changed listings; called after their transaction committed."""
        self._changes.put(change for change in changes if change[0] in self.indexes)

    def on_applied(self, listener: Callable[[set[tuple[str, int]]], None]) -> None:
        """Call `listener` with the changes once they are searchable (the suggestion worker uses this)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._changes.start()

    def close(self) -> None:
        """Apply what is queued, save, and stop the worker; a rebuild in flight is dropped, not awaited
        (a compaction takes a minute at 10^5 listings, and the next start redoes it when due)."""
        self._changes.close()
        for index in self.indexes.values():
            index.abandon_rebuild()
        self._save(force=True)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued change is applied (tests and the CLI use this)."""
        return self._changes.wait_idle(timeout)

    def is_alive(self) -> bool:
        return self._changes.is_alive()

    def lag_seconds(self) -> float:
        """How long the oldest committed change not yet applied has waited (0: the indexes are current)."""
        return self._changes.lag_seconds()

    def apply(self, changes: Iterable[tuple[str, int]]) -> None:
        by_kind: dict[str, set[int]] = defaultdict(set)
        for kind, doc_id in changes:
            by_kind[kind].add(doc_id)
        applied: set[tuple[str, int]] = set()
        for kind, ids in by_kind.items():
            index = self.indexes[kind]
            documents = self.load_documents(kind, ids)
            index.upsert(
                [doc for doc in documents.values() if index.fingerprints.get(doc.id) != doc.fingerprint]
            )
            index.delete(ids - set(documents))
            self._dirty.add(kind)
            applied |= {(kind, doc_id) for doc_id in ids}
        for listener in self._listeners:
            listener(applied)

    def lead(self) -> None:
        """Start saving (a follower that took over from a dead leader); what it applied since is saved next."""
        self._dirty.update(self.indexes)
        self.saves = True

    def _save(self, *, force: bool = False) -> None:
        if not self.saves or not self._dirty or (not force and time.monotonic() < self._next_save):
            return
        started = time.monotonic()
        for kind in sorted(self._dirty):
            self.indexes[kind].save()
        self._dirty.clear()
        self._next_save = self._spaced(started, time.monotonic())

    def _spaced(self, started: float, finished: float) -> float:
        """When the next save is due after one that ran from `started` to `finished`.

        A save writes the whole index (a second at 10^5 listings) and changes wait meanwhile; saving
        only shortens the next start (reconcile redoes what a crash lost), so its share of the
        worker's time is bounded by spacing saves by a multiple of what the last one took.
        """
        return finished + max(self.save_interval, SAVE_COST_FACTOR * (finished - started))
