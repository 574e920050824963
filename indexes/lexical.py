"""BM25 over an inverted index keyed by database ids, updated in place as offers and needs change.

bm25s is faster to build but static (every edit would rebuild it); this index scores identically to
bm25s's default Lucene variant and supports upsert/delete of single documents.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np

from indexes.errors import IndexMismatchError, IndexStoreError
from indexes.text import DEFAULT_ANALYZER, Analyzer

META_FILE = "lexical_meta.json"
_POSTINGS_FILE = "lexical_docs.npz"
_VOCAB_FILE = "lexical_vocab.json"


def ids_checksum(ids: Iterable[int]) -> str:
    """sha256 of the sorted ids, to tell whether a saved index covers the same documents."""
    return hashlib.sha256(np.array(sorted(ids), dtype="<i8").tobytes()).hexdigest()


class LexicalIndex:
    """BM25 (Lucene variant: idf = ln(1 + (N - df + .5)/(df + .5))) with incremental updates.

    Documents live in slots (array positions) so scoring is vectorised; a deleted document's slot is
    reused by the next insert.
    """

    def __init__(self, *, k1: float = 1.5, b: float = 0.75, analyzer: Analyzer = DEFAULT_ANALYZER) -> None:
        self.k1 = k1
        self.b = b
        self.analyzer = analyzer
        self._slot_of: dict[int, int] = {}
        self._id_of_slot = np.zeros(0, dtype=np.int64)
        self._length_of_slot = np.zeros(0, dtype=np.float64)
        self._free_slots: list[int] = []
        self._term_counts: dict[int, Counter[str]] = {}
        self._postings: dict[str, dict[int, int]] = {}
        # Numpy views of postings, rebuilt lazily for terms an update touched.
        self._posting_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    def ids(self) -> set[int]:
        return set(self._slot_of)

    def document_share(self, text: str) -> float:
        """Share of documents containing the rarest term of `text`: low means the words are telling."""
        terms = self.analyzer.analyze(text)
        if not terms or not self._slot_of:
            return 1.0
        return min(len(self._postings.get(term, ())) for term in terms) / len(self._slot_of)

    def upsert(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Add documents, replacing any already indexed under the same id."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        for doc_id, text in zip(ids, texts, strict=True):
            self._put(int(doc_id), Counter(self.analyzer.analyze(text)))

    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents; unknown ids are ignored so a retried delete is harmless."""
        for doc_id in ids:
            if int(doc_id) in self._slot_of:
                self._remove(int(doc_id))

    def search(
        self, query: str, k: int, *, allowed_ids: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Up to k (id, BM25 score) best first; only documents sharing a term with the query."""
        if not self._slot_of or k <= 0:
            return []
        scores = np.zeros(len(self._id_of_slot), dtype=np.float64)
        n_docs = len(self._slot_of)
        length_norm = self.k1 * (1 - self.b + self.b * self._length_of_slot / (self._total_length / n_docs))
        for term in self.analyzer.analyze_query(query):
            if term not in self._postings:
                continue
            slots, tfs = self._arrays(term)
            idf = math.log(1 + (n_docs - len(slots) + 0.5) / (len(slots) + 0.5))
            scores[slots] += idf * tfs / (tfs + length_norm[slots])
        if allowed_ids is not None:
            allowed = [self._slot_of[i] for i in allowed_ids if i in self._slot_of]
            mask = np.zeros(len(scores), dtype=bool)
            mask[allowed] = True
            scores[~mask] = 0.0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        # Ties broken by id so results are reproducible whatever the slot layout.
        order = np.lexsort((self._id_of_slot[candidates], -scores[candidates]))
        best = candidates[order]
        return [(int(i), float(s)) for i, s in zip(self._id_of_slot[best], scores[best], strict=True)]

    def save(self, directory: Path) -> None:
        """Write the documents' term counts and `lexical_meta.json` into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        doc_ids = sorted(self._term_counts)
        vocab = sorted(self._postings)
        term_index = {term: i for i, term in enumerate(vocab)}
        counts = [self._term_counts[doc_id] for doc_id in doc_ids]
        np.savez_compressed(
            directory / _POSTINGS_FILE,
            ids=np.array(doc_ids, dtype=np.int64),
            indptr=np.cumsum([0] + [len(c) for c in counts], dtype=np.int64),
            terms=np.array([term_index[t] for c in counts for t in c], dtype=np.int32),
            tfs=np.array([n for c in counts for n in c.values()], dtype=np.int32),
        )
        (directory / _VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        meta = {
            "count": len(doc_ids),
            "analyzer_version": self.analyzer.version,
            "ids_sha256": ids_checksum(doc_ids),
            "k1": self.k1,
            "b": self.b,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        analyzer: Analyzer = DEFAULT_ANALYZER,
        expected_ids: Collection[int] | None = None,
    ) -> LexicalIndex:
        """Read an index saved by `save`; refuse it if built by another analyzer or for other ids."""
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            vocab = json.loads((directory / _VOCAB_FILE).read_text(encoding="utf-8"))
            arrays = np.load(directory / _POSTINGS_FILE)
            doc_ids, indptr, terms, tfs = (arrays[k] for k in ("ids", "indptr", "terms", "tfs"))
        except (OSError, ValueError, KeyError) as error:
            raise IndexStoreError(f"cannot read lexical index in {directory}: {error}") from error
        if meta["analyzer_version"] != analyzer.version:
            raise IndexMismatchError(
                f"lexical index built with analyzer {meta['analyzer_version']!r}, "
                f"code has {analyzer.version!r}"
            )
        checksum = ids_checksum(int(i) for i in doc_ids)
        if checksum != meta["ids_sha256"] or len(doc_ids) != meta["count"]:
            raise IndexMismatchError(f"lexical index files in {directory} do not match their metadata")
        if expected_ids is not None and ids_checksum(expected_ids) != checksum:
            raise IndexMismatchError("lexical index covers different ids than expected")
        index = cls(k1=meta["k1"], b=meta["b"], analyzer=analyzer)
        for row, doc_id in enumerate(doc_ids):
            start, end = indptr[row], indptr[row + 1]
            counts = Counter(
                {vocab[t]: int(n) for t, n in zip(terms[start:end], tfs[start:end], strict=True)}
            )
            index._put(int(doc_id), counts)
        return index

    def _put(self, doc_id: int, counts: Counter[str]) -> None:
        if doc_id in self._slot_of:
            self._remove(doc_id)
        slot = self._free_slots.pop() if self._free_slots else self._grow()
        self._slot_of[doc_id] = slot
        self._id_of_slot[slot] = doc_id
        length = sum(counts.values())
        self._length_of_slot[slot] = length
        self._total_length += length
        self._term_counts[doc_id] = counts
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[slot] = tf
            self._posting_arrays.pop(term, None)

    def _remove(self, doc_id: int) -> None:
        slot = self._slot_of.pop(doc_id)
        for term in self._term_counts.pop(doc_id):
            postings = self._postings[term]
            del postings[slot]
            if not postings:
                del self._postings[term]
            self._posting_arrays.pop(term, None)
        self._total_length -= int(self._length_of_slot[slot])
        self._length_of_slot[slot] = 0
        self._id_of_slot[slot] = -1
        self._free_slots.append(slot)

    def _grow(self) -> int:
        slot = len(self._slot_of) + len(self._free_slots)
        if slot == len(self._id_of_slot):
            capacity = max(64, 2 * slot)
            self._id_of_slot = np.resize(self._id_of_slot, capacity)
            self._length_of_slot = np.resize(self._length_of_slot, capacity)
            self._length_of_slot[slot:] = 0
        return slot

    def _arrays(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        if term not in self._posting_arrays:
            postings = self._postings[term]
            slots = np.fromiter(postings.keys(), dtype=np.int64, count=len(postings))
            tfs = np.fromiter(postings.values(), dtype=np.float64, count=len(postings))
            self._posting_arrays[term] = (slots, tfs)
        return self._posting_arrays[term]
