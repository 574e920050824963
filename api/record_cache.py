"""Recently read listing records kept in memory, dropped as soon as their listing changes.

A match reads its ~200 candidates on every request, mostly the same popular listings; reading them
from the store was a sixth of a request at 10^5 listings. Result pages keep the listings as the API
shows them in a second cache of the same kind (api/listing_views.py). The cache follows the same change
notifications as the indexes (this process's commits at once, other workers' through the store
follower), so it is never staler than the indexes it serves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Generic, TypeVar

Key = tuple[str, int]
V = TypeVar("V")


class RecordCache(Generic[V]):
    """A bounded LRU of records by (kind, id); thread-safe."""

    def __init__(self, *, capacity: int) -> None:
        self.capacity = capacity
        self._records: OrderedDict[Key, V] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every change: a read that began before a change may hold the old version, so
        # what it read is not kept (see `read`).
        self._epoch = 0

    def read(
        self,
        kind: str,
        ids: Collection[int],
        load: Callable[[list[int]], Mapping[int, V]],
    ) -> dict[int, V]:
        """The records of `ids`, from memory where held, the rest through `load` (then kept)."""
        with self._lock:
            epoch = self._epoch
            found = {}
            for doc_id in ids:
                record = self._records.get((kind, doc_id))
                if record is not None:
                    self._records.move_to_end((kind, doc_id))
                    found[doc_id] = record
            missing = [doc_id for doc_id in ids if doc_id not in found]
        if not missing:
            return found
        loaded = load(missing)
        found.update(loaded)
        with self._lock:
            if self._epoch == epoch and self.capacity:
                for doc_id, record in loaded.items():
                    self._records[(kind, doc_id)] = record
                while len(self._records) > self.capacity:
                    self._records.popitem(last=False)
        return found

    def discard(self, changes: Iterable[Key]) -> None:
        """Forget changed listings (a change-feed subscriber)."""
        with self._lock:
            self._epoch += 1
            for key in changes:
                self._records.pop((str(key[0]), int(key[1])), None)

    def __len__(self) -> int:
        return len(self._records)
