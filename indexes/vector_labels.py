"""Which database id each internal label of a vector index holds, and a bit per live label.

FAISS numbers vectors 0..n-1 in insertion order and HNSW cannot remove one, so a delete or an update
tombstones the old label (id -1, bit cleared); the bits are the IDSelector that hides tombstones.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np

from core.id_array import IdArray
from indexes.id_table import IdTable


class Labels:
    """Database id <-> label; labels are given out in order and never reused."""

    def __init__(self) -> None:
        self.size = 0  # labels given out, tombstones included
        self.label_of = IdTable()
        # Label -> database id, -1 for a tombstone; grown by doubling, valid up to the labels given out.
        self.id_of_label = np.empty(0, dtype=np.int64)
        # Bit per label, set while the label is live.
        self.live_bits = np.empty(0, dtype=np.uint8)
        self.tombstones = 0

    def __len__(self) -> int:
        return len(self.label_of)

    def record(self, ids: np.ndarray) -> None:
        """Give the next labels to `ids` (an id of -1: a tombstone, as loaded)."""
        first_label, end = self.size, self.size + len(ids)
        if end > len(self.id_of_label):
            capacity = max(end, 2 * len(self.id_of_label), 1024)
            grown = np.full(capacity, -1, dtype=np.int64)
            grown[: len(self.id_of_label)] = self.id_of_label
            self.id_of_label = grown
            bits = np.zeros((capacity + 7) // 8, dtype=np.uint8)
            bits[: len(self.live_bits)] = self.live_bits
            self.live_bits = bits
        self.id_of_label[first_label:end] = ids
        live = ids >= 0
        labels = np.arange(first_label, end, dtype=np.int64)[live]
        np.bitwise_or.at(self.live_bits, labels >> 3, (1 << (labels & 7)).astype(np.uint8))
        self.label_of.put(ids[live], labels)
        self.tombstones += int(len(ids) - live.sum())
        self.size = end

    def drop(self, ids: Iterable[int]) -> None:
        """Tombstone the labels of those of `ids` that are live; others are ignored."""
        for db_id in ids:
            label = self.label_of.pop(int(db_id), None)
            if label is None:
                continue
            self.id_of_label[label] = -1
            self.live_bits[label >> 3] &= np.uint8(~(1 << (label & 7)) & 0xFF)
            self.tombstones += 1

    def labels_of(self, ids: Collection[int], size: int) -> np.ndarray:
        """The live labels, below `size`, of those of `ids` held."""
        if isinstance(ids, IdArray) and 8 * len(ids) >= size:
            # Many sorted ids: each label's id looked up among them beats each id looked up in the dict.
            # Tombstoned labels hold -1, which no id is.
            return np.flatnonzero(ids.contains(self.id_of_label[:size]))
        labels, found = self.label_of.lookup(np.fromiter(ids, np.int64, count=len(ids)))
        return labels[found]


def bits_for(labels: np.ndarray, size: int) -> np.ndarray:
    """A bitmap of `size` labels with `labels` set, as FAISS's IDSelectorBitmap reads it."""
    bits = np.zeros((size + 7) // 8, dtype=np.uint8)
    np.bitwise_or.at(bits, labels >> 3, (1 << (labels & 7)).astype(np.uint8))
    return bits


def bits_between(bits: np.ndarray, first: int, count: int) -> np.ndarray:
    """Labels first .. first + count - 1 of a bitmap, as booleans; only their bytes are unpacked, as
    the bitmap covers the whole (maybe 10^6-label) index."""
    unpacked = np.unpackbits(bits[first >> 3 : (first + count + 7) >> 3], bitorder="little")
    return unpacked[first & 7 : (first & 7) + count].astype(bool)
