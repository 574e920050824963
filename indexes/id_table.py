"""A map of listing id to an int64 value held as two sorted arrays, for per-listing facts of an index.

A Python dict of 500,000 ints costs ~100 bytes an entry in every worker (~170 MB per listing kind for a
fingerprint, a language and a vector label); these arrays cost 16. Changes go to a small dict first and
are merged into the arrays once it holds a sixteenth of them, so a write costs O(1) amortised and a
merge at 10^6 listings a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping

import numpy as np

# Changes kept aside before a merge, at least; and at most this share of the merged entries.
MERGE_MIN = 1024
MERGE_SHARE = 16


class IdTable(MutableMapping[int, int]):
    """Int id -> int64 value. Writes must be exclusive of each other and of reads that iterate (`arrays`,
    `lookup`: the owning index's lock); a point read (`in`, `get`) is safe beside a write, as a merge
    swaps in the merged arrays, as one pair, before it empties the changes."""

    def __init__(self, ids: np.ndarray | None = None, values: np.ndarray | None = None) -> None:
        ids = np.empty(0, np.int64) if ids is None else np.asarray(ids, np.int64).reshape(-1)
        values = np.empty(0, np.int64) if values is None else np.asarray(values, np.int64).reshape(-1)
        if len(ids) != len(values):
            raise ValueError(f"{len(ids)} ids for {len(values)} values")
        order = np.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            raise ValueError("repeated ids")
        self._merged = (ids, values)
        # Id -> value written since the last merge, None for removed; it wins over the arrays.
        self._changes: dict[int, int | None] = {}
        self._size = len(ids)

    def _get(self, key: int) -> int | None:
        changes = self._changes  # read before the arrays: see the class docstring
        if key in changes:
            return changes[key]
        ids, values = self._merged
        at = int(np.searchsorted(ids, key))
        return int(values[at]) if at < len(ids) and int(ids[at]) == key else None

    def __getitem__(self, key: int) -> int:
        value = self._get(int(key))
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and self._get(int(key)) is not None

    def __setitem__(self, key: int, value: int) -> None:
        key = int(key)
        if key not in self:
            self._size += 1
        self._changes[key] = int(value)
        self._merge_if_due()

    def __delitem__(self, key: int) -> None:
        key = int(key)
        if key not in self:
            raise KeyError(key)
        self._changes[key] = None
        self._size -= 1
        self._merge_if_due()

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids().tolist())

    def _merge_if_due(self) -> None:
        if len(self._changes) > max(MERGE_MIN, len(self._merged[0]) // MERGE_SHARE):
            self._merged = self.arrays()
            self._changes = {}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, values), ids sorted; new arrays when changes are pending, else the held ones."""
        held_ids, held_values = self._merged
        if not self._changes:
            return held_ids, held_values
        kept = ~_isin_sorted(held_ids, _sorted_keys(self._changes))
        written = [(key, value) for key, value in self._changes.items() if value is not None]
        new_ids = np.fromiter((key for key, _ in written), np.int64, count=len(written))
        new_values = np.fromiter((value for _, value in written), np.int64, count=len(written))
        ids = np.concatenate([held_ids[kept], new_ids])
        values = np.concatenate([held_values[kept], new_values])
        order = np.argsort(ids, kind="stable")
        return ids[order], values[order]

    def ids(self) -> np.ndarray:
        """The ids held, sorted."""
        return self.arrays()[0]

    def lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, found) for each of `ids`: whether it is held, and its value where it is (0 elsewhere)."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        values = np.zeros(len(ids), np.int64)
        found = np.zeros(len(ids), bool)
        held_ids, held_values = self._merged
        if len(held_ids):
            at = np.minimum(np.searchsorted(held_ids, ids), len(held_ids) - 1)
            found = held_ids[at] == ids
            values = np.where(found, held_values[at], 0)
        if self._changes:
            for i in np.flatnonzero(_isin_sorted(ids, _sorted_keys(self._changes))):
                value = self._changes[int(ids[i])]
                found[i] = value is not None
                values[i] = 0 if value is None else value
        return values, found

    def put(self, ids: np.ndarray, values: np.ndarray) -> None:
        """Set `values` for `ids` (unique; new or held), merged at once when they are many (a load's
        10^6 labels), else as single writes."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        values = np.asarray(values, np.int64).reshape(-1)
        if len(ids) < MERGE_MIN:
            for key, value in zip(ids.tolist(), values.tolist(), strict=True):
                self[key] = value
            return
        held_ids, held_values = self.arrays()
        order = np.argsort(ids, kind="stable")
        new_ids, new_values = ids[order], values[order]
        if np.any(new_ids[1:] == new_ids[:-1]):
            raise ValueError("repeated ids")
        kept = ~_isin_sorted(held_ids, new_ids)
        merged = np.concatenate([held_ids[kept], new_ids])
        order = np.argsort(merged, kind="stable")
        self._merged = (merged[order], np.concatenate([held_values[kept], new_values])[order])
        self._changes = {}
        self._size = len(merged)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove those of `ids` held; the others are ignored."""
        for key in ids:
            if key in self:
                del self[key]

    def __repr__(self) -> str:
        return f"IdTable(<{len(self)} ids>)"


def _sorted_keys(changes: Mapping[int, object]) -> np.ndarray:
    return np.sort(np.fromiter(changes.keys(), np.int64, count=len(changes)))


def _isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of `values` is among `sorted_keys` (sorted, unique), by binary search."""
    if not len(sorted_keys):
        return np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    result: np.ndarray = sorted_keys[at] == values
    return result
