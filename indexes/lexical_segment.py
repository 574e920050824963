"""The immutable base segment of the lexical index: CSR arrays saved as plain .npy files and memory-mapped.

A base holds both directions: term -> (slots, tfs) to score, and slot -> (terms, tfs) to undo the
document frequencies of a document deleted after the base was written. Ids are found by binary search
in a sorted copy, so no per-document Python object is needed; terms are
sorted by their UTF-8 bytes and found by binary search in the mapped vocabulary, so no dict of the
vocabulary is held either.
"""

from __future__ import annotations

import itertools
import os
import uuid
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from indexes.storage import link_from_sibling

_ARRAYS = (
    "ids",  # int64, per slot
    "sorted_ids",  # int64, ascending, to find a slot by id
    "sorted_slots",  # int32, the slot of each of sorted_ids
    "lengths",  # int32, tokens per slot
    "vocab_bytes",  # uint8, the sorted terms' UTF-8 bytes end to end
    "vocab_offsets",  # int64, V + 1
    "term_offsets",  # int64, V + 1, into post_slots / post_tfs
    "post_slots",  # int32, ascending within a term
    "post_tfs",  # int32
    "doc_offsets",  # int64, n + 1, into doc_terms / doc_tfs
    "doc_terms",  # int32
    "doc_tfs",  # int32
)


# Terms whose vocabulary position a segment remembers: ~150 bytes each.
TERM_CACHE_SIZE = 50_000


def rows(offsets: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Positions in a CSR data array of the entries of rows `selected`, row after row."""
    starts = np.asarray(offsets[selected], dtype=np.int64)
    sizes = np.asarray(offsets[selected + 1], dtype=np.int64) - starts
    if not len(sizes):
        return np.zeros(0, dtype=np.int64)
    shifts = np.repeat(starts - np.cumsum(sizes) + sizes, sizes)
    return shifts + np.arange(int(sizes.sum()), dtype=np.int64)


@dataclass(frozen=True)
class BaseSegment:
    """Documents as they were at the last merge; never modified, only replaced by a merge."""

    ids: np.ndarray
    sorted_ids: np.ndarray
    sorted_slots: np.ndarray
    lengths: np.ndarray
    vocab_bytes: np.ndarray
    vocab_offsets: np.ndarray
    term_offsets: np.ndarray
    post_slots: np.ndarray
    post_tfs: np.ndarray
    doc_offsets: np.ndarray
    doc_terms: np.ndarray
    doc_tfs: np.ndarray
    # Names the files, so a later save finds and hard-links them instead of writing them again.
    name: str
    total_length: int
    # When mapped: doc_terms' file, open, and where its data starts. One document's row (explaining a
    # result) is read with pread: touching the mapping maps 64 KiB around the row (the kernel's
    # fault-around), and at 10^6 listings a run's explanations left ~550 MiB of it in the workers.
    terms_fd: int = -1
    terms_offset: int = 0

    @classmethod
    def empty(cls) -> BaseSegment:
        return cls.from_forward(
            ids=np.zeros(0, dtype=np.int64),
            lengths=np.zeros(0, dtype=np.int32),
            vocab=[],
            doc_offsets=np.zeros(1, dtype=np.int64),
            doc_terms=np.zeros(0, dtype=np.int32),
            doc_tfs=np.zeros(0, dtype=np.int32),
        )

    @classmethod
    def from_forward(
        cls,
        *,
        ids: np.ndarray,
        lengths: np.ndarray,
        vocab: Sequence[bytes],
        doc_offsets: np.ndarray,
        doc_terms: np.ndarray,
        doc_tfs: np.ndarray,
    ) -> BaseSegment:
        """Build the postings and the id lookup from documents (rows) over a sorted vocabulary."""
        # The transpose of the documents' term matrix is the postings, each term's slots ascending
        # (scipy's counting transpose: ten times numpy's stable argsort).
        postings = sparse.csr_matrix(
            (doc_tfs, doc_terms, doc_offsets), shape=(len(ids), len(vocab)), copy=False
        ).tocsc()
        id_order = np.argsort(ids, kind="stable")
        return cls(
            ids=ids,
            sorted_ids=ids[id_order],
            sorted_slots=id_order.astype(np.int32),
            lengths=lengths,
            vocab_bytes=np.frombuffer(b"".join(vocab), dtype=np.uint8),
            vocab_offsets=np.cumsum([0, *map(len, vocab)], dtype=np.int64),
            term_offsets=postings.indptr.astype(np.int64, copy=False),
            post_slots=postings.indices.astype(np.int32, copy=False),
            post_tfs=postings.data.astype(np.int32, copy=False),
            doc_offsets=doc_offsets,
            doc_terms=doc_terms,
            doc_tfs=doc_tfs,
            name=uuid.uuid4().hex,
            total_length=int(lengths.sum(dtype=np.int64)),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocab_offsets) - 1

    @cached_property
    def _vocab_views(self) -> tuple[memoryview, np.ndarray]:
        # A memoryview and a list-free array: a term lookup takes ~20 slices.
        return np.asarray(self.vocab_bytes).data, np.asarray(self.vocab_offsets)

    def term_bytes(self, index: int) -> bytes:
        blob, offsets = self._vocab_views
        return blob[offsets[index] : offsets[index + 1]].tobytes()

    def vocabulary(self) -> list[bytes]:
        """Every term, in order (a merge needs them; searches look terms up one by one)."""
        blob = self.vocab_bytes.tobytes()
        offsets = self.vocab_offsets.tolist()
        return [blob[start:end] for start, end in itertools.pairwise(offsets)]

    @cached_property
    def _term_indexes(self) -> dict[str, int | None]:
        return {}

    def term_index(self, term: str) -> int | None:
        """Position of `term` in the vocabulary, None if absent; answers are kept (up to
        TERM_CACHE_SIZE terms), as the same words come back in query after query."""
        known = self._term_indexes
        if term in known:
            return known[term]
        found = self._find_term(term)
        if len(known) < TERM_CACHE_SIZE:
            known[term] = found
        return found

    def _find_term(self, term: str) -> int | None:
        key = term.encode("utf-8")
        low, high = 0, self.vocabulary_size
        while low < high:
            middle = (low + high) // 2
            if self.term_bytes(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low if low < self.vocabulary_size and self.term_bytes(low) == key else None

    def compound_terms(self, slot: int) -> list[str]:
        """The terms of the document in `slot` that join syllables ("máy_bay"): pyvi's compounds."""
        start, end = int(self.doc_offsets[slot]), int(self.doc_offsets[slot + 1])
        if self.terms_fd < 0:
            row = self.doc_terms[start:end]
        else:
            size = self.doc_terms.dtype.itemsize
            read = os.pread(self.terms_fd, size * (end - start), self.terms_offset + size * start)
            row = np.frombuffer(read, dtype=self.doc_terms.dtype)
        terms = np.asarray(row, dtype=np.int64)
        if not len(terms):
            return []
        # Every term's bytes gathered at once and searched for "_", rather than decoding each term.
        sizes = self.vocab_offsets[terms + 1] - self.vocab_offsets[terms]
        joins = np.asarray(self.vocab_bytes)[rows(self.vocab_offsets, terms)] == ord("_")
        joined = np.logical_or.reduceat(joins, np.cumsum(sizes) - sizes)
        return [self.term_bytes(term).decode("utf-8") for term in terms[joined].tolist()]

    def document_frequency(self, index: int) -> int:
        return int(self.term_offsets[index + 1] - self.term_offsets[index])

    def postings(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.term_offsets[index], self.term_offsets[index + 1]
        return self.post_slots[start:end], self.post_tfs[start:end]

    def slots_of(self, doc_ids: np.ndarray) -> np.ndarray:
        """Slot of each id, -1 for ids not in the base."""
        positions = np.searchsorted(self.sorted_ids, doc_ids)
        found = positions < len(self.ids)
        found[found] = self.sorted_ids[positions[found]] == doc_ids[found]
        slots = np.full(len(doc_ids), -1, dtype=np.int64)
        slots[found] = self.sorted_slots[positions[found]]
        return slots

    def term_counts(self, slots: np.ndarray) -> np.ndarray:
        """How many of the documents in `slots` contain each term (length V)."""
        return np.bincount(self.doc_terms[rows(self.doc_offsets, slots)], minlength=self.vocabulary_size)

    # --- files -------------------------------------------------------------------------------

    def write(self, directory: Path, prefix: str) -> None:
        """Write the arrays uncompressed (so they can be mapped), or hard-link them from the generation
        directory beside `directory` that already holds this base: the base never changes, and saves
        come every few seconds."""
        for array_name in _ARRAYS:
            target = directory / self._file(prefix, array_name)
            if not link_from_sibling(target):
                np.save(target, np.ascontiguousarray(getattr(self, array_name)), allow_pickle=False)

    @classmethod
    def open(cls, directory: Path, prefix: str, name: str) -> BaseSegment:
        """Map the arrays read-only; pages are read when a search touches them."""
        # Plain ndarray views of the maps: np.memmap's own slicing costs microseconds a slice in Python,
        # and scoring a listing's text as a query slices postings hundreds of times.
        maps = {
            array_name: np.load(directory / f"{prefix}-{name}-{array_name}.npy", mmap_mode="r")
            for array_name in _ARRAYS
        }
        arrays = {array_name: np.asarray(mapped) for array_name, mapped in maps.items()}
        if len(arrays["ids"]) + 1 != len(arrays["doc_offsets"]) or len(arrays["vocab_offsets"]) != len(
            arrays["term_offsets"]
        ):
            raise ValueError(f"lexical base {name} has arrays of inconsistent sizes")
        terms_fd = os.open(directory / f"{prefix}-{name}-doc_terms.npy", os.O_RDONLY)
        segment = cls(
            **arrays,
            name=name,
            total_length=int(arrays["lengths"].sum(dtype=np.int64)),
            terms_fd=terms_fd,
            terms_offset=int(maps["doc_terms"].offset),
        )
        weakref.finalize(segment, os.close, terms_fd)
        return segment

    def _file(self, prefix: str, array_name: str) -> str:
        return f"{prefix}-{self.name}-{array_name}.npy"


def merge(base: BaseSegment, deleted: np.ndarray, additions: Mapping[int, Counter[str]]) -> BaseSegment:
    """A new base holding the base's documents not `deleted` and `additions` (id -> term counts).

    Reads its arguments only, so searches can go on over them meanwhile; terms left in no document
    are dropped.
    """
    vocabulary = base.vocabulary()
    unique_terms: set[str] = set()
    for counts in additions.values():
        unique_terms.update(counts)
    # Code point order is UTF-8 byte order, the vocabulary's.
    added_terms = sorted(unique_terms)
    encoded = [term.encode("utf-8") for term in added_terms]
    positions = [bisect_left(vocabulary, term) for term in encoded]
    known = [p < len(vocabulary) and vocabulary[p] == t for p, t in zip(positions, encoded, strict=True)]
    new_terms = [t for t, is_known in zip(encoded, known, strict=True) if not is_known]
    insert_at = np.array([p for p, is_known in zip(positions, known, strict=True) if not is_known], np.int64)
    # Both lists are sorted, so each keeps its order and is shifted by the other's entries before it.
    old_to_merged = np.arange(len(vocabulary)) + np.searchsorted(
        insert_at, np.arange(len(vocabulary)), side="right"
    )
    new_to_merged = insert_at + np.arange(len(new_terms))
    merged_vocabulary: list[bytes] = [b""] * (len(vocabulary) + len(new_terms))
    for index, term in zip(old_to_merged.tolist(), vocabulary, strict=True):
        merged_vocabulary[index] = term
    for index, term in zip(new_to_merged.tolist(), new_terms, strict=True):
        merged_vocabulary[index] = term
    new_indexes = iter(new_to_merged.tolist())
    index_of = {
        term: int(old_to_merged[position]) if is_known else next(new_indexes)
        for term, position, is_known in zip(added_terms, positions, known, strict=True)
    }

    # Filled in place: at 10^6 documents each entry array is ~400 MB, so no concatenated copies.
    kept = ~deleted
    sizes = np.diff(base.doc_offsets)
    added_ids = sorted(additions)
    added_rows = [additions[doc_id] for doc_id in added_ids]
    added_entries = [index_of[term] for counts in added_rows for term in counts]
    kept_entries = int(sizes[kept].sum())
    terms = np.empty(kept_entries + len(added_entries), dtype=np.int32)
    tfs = np.empty(len(terms), dtype=np.int32)
    to_merged = old_to_merged.astype(np.int32)
    if kept.all():
        np.take(to_merged, base.doc_terms, out=terms[:kept_entries], mode="clip")
        tfs[:kept_entries] = base.doc_tfs
    else:
        entry_kept = np.repeat(kept, sizes)
        np.take(to_merged, base.doc_terms[entry_kept], out=terms[:kept_entries], mode="clip")
        tfs[:kept_entries] = base.doc_tfs[entry_kept]
        del entry_kept
    terms[kept_entries:] = added_entries
    tfs[kept_entries:] = [tf for counts in added_rows for tf in counts.values()]
    # Kept documents keep their order, added ones follow: no entry is moved.
    ids = np.concatenate([base.ids[kept], np.array(added_ids, dtype=np.int64)])
    lengths = np.concatenate(
        [base.lengths[kept], np.array([sum(c.values()) for c in added_rows], dtype=np.int32)]
    ).astype(np.int32)
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.concatenate([sizes[kept], [len(c) for c in added_rows]]).astype(np.int64), out=offsets[1:])
    used = np.bincount(terms, minlength=len(merged_vocabulary)) > 0
    if not used.all():
        # Elementwise, so taking into the indices' own array is safe.
        np.take((np.cumsum(used) - 1).astype(np.int32), terms, out=terms, mode="clip")
        merged_vocabulary = [
            term for term, is_used in zip(merged_vocabulary, used.tolist(), strict=True) if is_used
        ]
    return BaseSegment.from_forward(
        ids=ids, lengths=lengths, vocab=merged_vocabulary, doc_offsets=offsets, doc_terms=terms, doc_tfs=tfs
    )
