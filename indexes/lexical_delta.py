"""The in-memory part of the lexical index: documents written since its base segment was merged.

Dicts make single-document updates cheap; `LexicalIndex` merges the delta into a new base before it
grows large (see `needs_merge`), as its dicts take ~10 KiB a listing where the mapped base takes none.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

DELTA_FILE = "lexical_delta.npz"
DELTA_VOCAB_FILE = "lexical_delta_vocab.json"


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

    def write(self, directory: Path) -> list[int]:
        """Save the documents' term counts (arrays over a vocabulary of their own); their ids, sorted."""
        delta_ids = sorted(self.term_counts)
        vocab = sorted(self.postings)
        term_index = {term: i for i, term in enumerate(vocab)}
        counts = [self.term_counts[doc_id] for doc_id in delta_ids]
        np.savez(
            directory / DELTA_FILE,
            ids=np.array(delta_ids, dtype=np.int64),
            indptr=np.cumsum([0] + [len(c) for c in counts], dtype=np.int64),
            terms=np.array([term_index[t] for c in counts for t in c], dtype=np.int32),
            tfs=np.array([n for c in counts for n in c.values()], dtype=np.int32),
        )
        (directory / DELTA_VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        return delta_ids


def read_delta(directory: Path) -> list[tuple[int, Counter[str]]]:
    """The (id, term counts) of the documents `Delta.write` saved in `directory`."""
    vocab = json.loads((directory / DELTA_VOCAB_FILE).read_text(encoding="utf-8"))
    with np.load(directory / DELTA_FILE) as arrays:
        ids, indptr, terms, tfs = (arrays[k].tolist() for k in ("ids", "indptr", "terms", "tfs"))
    return [
        (doc_id, Counter(dict(zip((vocab[t] for t in terms[start:end]), tfs[start:end], strict=True))))
        for doc_id, start, end in zip(ids, indptr, indptr[1:], strict=False)
    ]
