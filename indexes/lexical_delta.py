"""The in-memory part of the lexical index: documents written since its base segment was merged.

Dicts make single-document updates cheap; `LexicalIndex` merges the delta into a new base before it
grows large (see `needs_merge`), as its dicts take ~10 KiB a listing where the mapped base takes none.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


class Delta:
    """Documents written since the base, in dicts (cheap to update); slots are reused after deletes."""

    def __init__(self) -> None:
        self.slot_of: dict[int, int] = {}
        self.id_of_slot = np.zeros(0, dtype=np.int64)
        self.length_of_slot = np.zeros(0, dtype=np.float64)
        self.free_slots: list[int] = []
        self.term_counts: dict[int, Counter[str]] = {}
        self.postings: dict[str, dict[int, int]] = {}
        # Numpy views of postings, rebuilt lazily for terms an update touched.
        self.posting_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.total_length = 0

    def put(self, doc_id: int, counts: Counter[str]) -> None:
        if doc_id in self.slot_of:
            self.remove(doc_id)
        slot = self.free_slots.pop() if self.free_slots else self._grow()
        self.slot_of[doc_id] = slot
        self.id_of_slot[slot] = doc_id
        length = sum(counts.values())
        self.length_of_slot[slot] = length
        self.total_length += length
        self.term_counts[doc_id] = counts
        for term, tf in counts.items():
            self.postings.setdefault(term, {})[slot] = tf
            self.posting_arrays.pop(term, None)

    def remove(self, doc_id: int) -> None:
        slot = self.slot_of.pop(doc_id)
        for term in self.term_counts.pop(doc_id):
            postings = self.postings[term]
            del postings[slot]
            if not postings:
                del self.postings[term]
            self.posting_arrays.pop(term, None)
        self.total_length -= int(self.length_of_slot[slot])
        self.length_of_slot[slot] = 0
        self.id_of_slot[slot] = -1
        self.free_slots.append(slot)

    def copy(self) -> Delta:
        """An independent copy; the per-document Counters are shared, as they are replaced, never changed."""
        copy = Delta()
        copy.slot_of = dict(self.slot_of)
        copy.id_of_slot = self.id_of_slot.copy()
        copy.length_of_slot = self.length_of_slot.copy()
        copy.free_slots = list(self.free_slots)
        copy.term_counts = dict(self.term_counts)
        copy.postings = {term: dict(postings) for term, postings in self.postings.items()}
        copy.total_length = self.total_length
        return copy

    def arrays(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        if term not in self.posting_arrays:
            postings = self.postings[term]
            slots = np.fromiter(postings.keys(), dtype=np.int64, count=len(postings))
            tfs = np.fromiter(postings.values(), dtype=np.float64, count=len(postings))
            self.posting_arrays[term] = (slots, tfs)
        return self.posting_arrays[term]

    def _grow(self) -> int:
        slot = len(self.slot_of) + len(self.free_slots)
        if slot == len(self.id_of_slot):
            capacity = max(64, 2 * slot)
            self.id_of_slot = np.resize(self.id_of_slot, capacity)
            self.length_of_slot = np.resize(self.length_of_slot, capacity)
            self.length_of_slot[slot:] = 0
        return slot
