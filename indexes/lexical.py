"""BM25 over an inverted index keyed by database ids, updated in place as offers and needs change.

bm25s is faster to build but static (every edit would rebuild it); this index scores identically to
bm25s's default Lucene variant and supports upsert/delete of single documents. Most documents live in
a memory-mapped base segment (`indexes/lexical_segment.py`), so memory does not grow with the
catalogue and a start maps files instead of re-reading every document; documents written since the
base live in a small in-memory delta until `merged()` folds them in.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence, Set
from pathlib import Path

import numpy as np

from core.id_array import IdArray
from indexes.errors import IndexMismatchError, IndexStoreError
from indexes.lexical_delta import Delta, read_delta
from indexes.lexical_segment import BaseSegment, merge
from indexes.text import DEFAULT_ANALYZER, Analyzer, compounds_among

META_FILE = "lexical_meta.json"
FORMAT = 2
_BASE_PREFIX = "lexical-base"
_DELETED_FILE = "lexical_deleted.npy"
_DELETED_DF_FILE = "lexical_deleted_df.npy"
# Past this share of the base written or deleted since, merging is worth its cost (see `delta_share`);
# past this many documents the delta's dicts (~10 KiB a listing) outweigh a merge's cost whatever the base.
MERGE_SHARE = 0.2
MERGE_DELTA_DOCUMENTS = 20_000


def ids_checksum(ids: Iterable[int]) -> str:
    """sha256 of the sorted ids, to tell whether a saved index covers the same documents."""
    return hashlib.sha256(np.array(sorted(ids), dtype="<i8").tobytes()).hexdigest()


def _sorted_checksum(ids: np.ndarray) -> str:
    return hashlib.sha256(np.sort(ids).astype("<i8").tobytes()).hexdigest()


class LexicalIndex:
    """BM25 (Lucene variant: idf = ln(1 + (N - df + .5)/(df + .5))) with incremental updates.

    Documents are a base segment (minus a deletion mask) plus a delta; N, document frequencies and the
    average length are counted over both, so scores equal those of one index holding every document.
    Slots: the base's documents first, in id order, then the delta's.
    """

    def __init__(self, *, k1: float = 1.5, b: float = 0.75, analyzer: Analyzer = DEFAULT_ANALYZER) -> None:
        self.k1 = k1
        self.b = b
        self.analyzer = analyzer
        self._base: BaseSegment
        self._deleted: np.ndarray
        self._deleted_df: np.ndarray
        self._deleted_count = self._deleted_length = 0
        self._use_base(BaseSegment.empty(), None)
        self._delta = Delta()
        self._norms: tuple[float, BaseSegment, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._base) - self._deleted_count + len(self._delta.slot_of)

    def __contains__(self, doc_id: object) -> bool:
        if doc_id in self._delta.slot_of:
            return True
        return isinstance(doc_id, int | np.integer) and self._base_slot(int(doc_id)) is not None

    def ids(self) -> set[int]:
        return set(self._base.ids[~self._deleted].tolist()) | set(self._delta.slot_of)

    @property
    def delta_share(self) -> float:
        """Documents written or deleted since the base, over the base's size: merge past `MERGE_SHARE`."""
        return (len(self._delta.slot_of) + self._deleted_count) / max(1, len(self._base))

    @property
    def needs_merge(self) -> bool:
        """Whether `merged()` is due: the delta grew past `MERGE_SHARE` of the base or `MERGE_DELTA_DOCUMENTS`."""
        return self.delta_share > MERGE_SHARE or len(self._delta.slot_of) > MERGE_DELTA_DOCUMENTS

    def document_share(self, text: str) -> float:
        """Share of documents containing the rarest term of `text`: low means the words are telling."""
        terms = self.analyzer.analyze(text)
        if not terms or not len(self):
            return 1.0
        return min(self._frequency(term)[1] for term in terms) / len(self)

    def compound_words(self, doc_id: int) -> frozenset[str] | None:
        """The compounds pyvi formed in an indexed document ("máy_bay"), lower-cased, with their folded
        forms; None if the document is not indexed. Explaining a result reads the listing's words
        from them rather than segmenting its text again, the slowest step of a request."""
        counts = self._delta.term_counts.get(doc_id)
        if counts is not None:
            return compounds_among(counts)
        slot = self._base_slot(doc_id)
        return None if slot is None else frozenset(self._base.compound_terms(slot))

    def upsert(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Add documents, replacing any already indexed under the same id."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        for doc_id, text in zip(ids, texts, strict=True):
            self._discard_from_base(int(doc_id))
            self._delta.put(int(doc_id), Counter(self.analyzer.analyze(text)))

    def delete(self, ids: Iterable[int]) -> None:
        """Remove documents; unknown ids are ignored so a retried delete is harmless."""
        for doc_id in ids:
            if int(doc_id) in self._delta.slot_of:
                self._delta.remove(int(doc_id))
            else:
                self._discard_from_base(int(doc_id))

    def search(
        self,
        query: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,
        max_terms: int | None = None,
    ) -> list[tuple[int, float]]:
        """Up to k (id, BM25 score) best first; only documents sharing a term with the query. With
        `max_terms`, only that many of the query's terms are scored, those of the highest weight
        (repeats x idf), as Lucene's MoreLikeThis does with a document used as a query."""
        n_docs = len(self)
        if not n_docs or k <= 0:
            return []
        base, delta = self._base, self._delta
        in_base = len(base)
        # float32: a long query reads many postings, and half the bytes moved made scoring a quarter
        # faster; base and delta documents are scored by the same steps, so a document's score does
        # not depend on where it lives.
        scores = np.zeros(in_base + len(delta.id_of_slot), dtype=np.float32)
        average_length = (base.total_length - self._deleted_length + delta.total_length) / n_docs
        for idf, term, index in self.query_terms(query, max_terms=max_terms):
            # np.add.at, not `scores[slots] +=`, which reads, adds and writes back in three passes: a
            # match at 10^6 listings adds millions of postings, and this took 36 ms where that took 63.
            if index is not None:
                slots, counts = base.postings(index)
                np.add.at(scores, slots, _weights(counts, self._length_norms(average_length)[slots], idf))
            if term in delta.postings:
                slots, tfs = delta.arrays(term)
                norms = self._norms_of(delta.length_of_slot[slots], average_length)
                np.add.at(scores, in_base + slots, _weights(tfs, norms, idf))
        if self._deleted_count:
            scores[:in_base][self._deleted] = 0.0
        if allowed_ids is not None:
            scores[~self._allowed_slots(allowed_ids, len(scores))] = 0.0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            # Every candidate tied with the k-th best stays, so the id tie-break below decides the page
            # boundary too (an argpartition's cut among ties depends on the slot layout).
            kth_best = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth_best]
        doc_ids = np.empty(len(candidates), dtype=np.int64)
        from_base = candidates < in_base
        doc_ids[from_base] = base.ids[candidates[from_base]]
        doc_ids[~from_base] = delta.id_of_slot[candidates[~from_base] - in_base]
        # Ties broken by id so results are reproducible whatever the slot layout.
        order = np.lexsort((doc_ids, -scores[candidates]))[:k]
        return [(int(i), float(s)) for i, s in zip(doc_ids[order], scores[candidates[order]], strict=True)]

    def query_terms(
        self, query: str, *, max_terms: int | None = None
    ) -> list[tuple[np.float32, str, int | None]]:
        """(weight, term, base vocabulary index) of each query term found in the index: its idf times
        how often the query repeats it, as Lucene adds a repeated term's score as often as it occurs
        (its postings are read once); the `max_terms` heaviest, ties to the alphabetically first."""
        weighted, n_docs = [], len(self)
        for term, repeats in Counter(self.analyzer.analyze_query(query)).items():
            index, df = self._frequency(term)
            if df:
                idf = np.float32(repeats * math.log(1 + (n_docs - df + 0.5) / (df + 0.5)))
                weighted.append((idf, term, index))
        if max_terms is not None and len(weighted) > max_terms:
            # A listing's whole text read up to ~10^6 postings at 10^5 listings, mostly of its
            # commonest words, which move a score least.
            weighted = sorted(weighted, key=lambda weight: (-weight[0], weight[1]))[:max_terms]
        return weighted

    def _norms_of(self, lengths: np.ndarray, average_length: float) -> np.ndarray:
        """k1 * (1 - b + b * length / average length), BM25's length term, as float32."""
        return (self.k1 * (1 - self.b + self.b * lengths / average_length)).astype(np.float32)

    def _length_norms(self, average_length: float) -> np.ndarray:
        """`_norms_of` every base document, which every posting of a search would otherwise compute
        again; kept until the average moves."""
        known = self._norms
        if known is None or known[0] != average_length or known[1] is not self._base:
            norms = self._norms_of(self._base.lengths, average_length)
            # One tuple, replaced whole: a search reading the previous one is unaffected.
            known = self._norms = (average_length, self._base, norms)
        return known[2]

    def merged(self) -> LexicalIndex:
        """A new index whose base holds every document and whose delta is empty.

        Only reads self, so it can run while searches go on; the caller swaps the result in (no write
        may happen to self in between, or it is lost).
        """
        index = LexicalIndex(k1=self.k1, b=self.b, analyzer=self.analyzer)
        index._use_base(merge(self._base, self._deleted, self._delta.term_counts), None)
        return index

    def frozen(self) -> LexicalIndex:
        """A copy to merge from while self goes on changing: the base is shared (it is never written in
        place), the deletion mask and the delta (small: merges keep it so) are copied."""
        index = LexicalIndex(k1=self.k1, b=self.b, analyzer=self.analyzer)
        index._use_base(self._base, self._deleted, self._deleted_df)
        index._delta = self._delta.copy()
        return index

    def save(self, directory: Path) -> None:
        """Write the base (hard-linked when an earlier save wrote it), the deletions, the delta and
        `lexical_meta.json` into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        base, deleted, delta = self._base, self._deleted.copy(), self._delta
        base.write(directory, _BASE_PREFIX)
        np.save(directory / _DELETED_FILE, deleted, allow_pickle=False)
        # Saved rather than recounted at load, which would read the deleted documents' scattered rows.
        np.save(directory / _DELETED_DF_FILE, self._deleted_df.astype(np.int32), allow_pickle=False)
        delta_ids = delta.write(directory)
        live_ids = np.concatenate([base.ids[~deleted], np.array(delta_ids, dtype=np.int64)])
        meta = {
            "format": FORMAT,
            "count": len(live_ids),
            "analyzer_version": self.analyzer.version,
            "ids_sha256": _sorted_checksum(live_ids),
            "k1": self.k1,
            "b": self.b,
            "base": base.name,
            "base_count": len(base),
            "delta_count": len(delta_ids),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if not isinstance(base.ids, np.memmap) and self._base is base:
            # Same content, mapped: the copy a merge built in memory is given back.
            self._base = BaseSegment.open(directory, _BASE_PREFIX, base.name)

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        analyzer: Analyzer = DEFAULT_ANALYZER,
        expected_ids: Collection[int] | None = None,
    ) -> LexicalIndex:
        """Map an index saved by `save`; refuse it if built by another analyzer or for other ids."""
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, code reads {FORMAT}")
            base = BaseSegment.open(directory, _BASE_PREFIX, meta["base"])
            deleted = np.load(directory / _DELETED_FILE)
            deleted_df = np.load(directory / _DELETED_DF_FILE)
            delta_documents = read_delta(directory)
        except (OSError, ValueError, KeyError) as error:
            raise IndexStoreError(f"cannot read lexical index in {directory}: {error}") from error
        if meta["analyzer_version"] != analyzer.version:
            raise IndexMismatchError(
                f"lexical index built with analyzer {meta['analyzer_version']!r}, "
                f"code has {analyzer.version!r}"
            )
        if len(deleted) != len(base) or deleted.dtype != np.bool_ or len(deleted_df) != base.vocabulary_size:
            raise IndexMismatchError(f"lexical index files in {directory} do not match their metadata")
        delta_ids = np.array([doc_id for doc_id, _ in delta_documents], dtype=np.int64)
        live_ids = np.concatenate([base.ids[~deleted], delta_ids])
        checksum = _sorted_checksum(live_ids)
        if checksum != meta["ids_sha256"] or len(live_ids) != meta["count"]:
            raise IndexMismatchError(f"lexical index files in {directory} do not match their metadata")
        if expected_ids is not None and ids_checksum(expected_ids) != checksum:
            raise IndexMismatchError("lexical index covers different ids than expected")
        index = cls(k1=meta["k1"], b=meta["b"], analyzer=analyzer)
        index._use_base(base, deleted, deleted_df)
        # The delta is small (merges keep it so); the base is not read here.
        for doc_id, counts in delta_documents:
            index._delta.put(doc_id, counts)
        return index

    def _use_base(
        self, base: BaseSegment, deleted: np.ndarray | None, deleted_df: np.ndarray | None = None
    ) -> None:
        self._base = base
        self._deleted = np.zeros(len(base), dtype=bool) if deleted is None else np.array(deleted, dtype=bool)
        gone = np.flatnonzero(self._deleted)
        self._deleted_count = len(gone)
        self._deleted_length = int(base.lengths[gone].sum(dtype=np.int64))
        # Per base term, how many deleted documents hold it: subtracted from the base's df.
        self._deleted_df = (base.term_counts(gone) if deleted_df is None else deleted_df).astype(np.int64)

    def _base_slot(self, doc_id: int) -> int | None:
        slot = int(self._base.slots_of(np.array([doc_id], dtype=np.int64))[0])
        return None if slot < 0 or self._deleted[slot] else slot

    def _discard_from_base(self, doc_id: int) -> None:
        slot = self._base_slot(doc_id)
        if slot is None:
            return
        start, end = self._base.doc_offsets[slot], self._base.doc_offsets[slot + 1]
        self._deleted_df[self._base.doc_terms[start:end]] += 1
        self._deleted[slot] = True
        self._deleted_count += 1
        self._deleted_length += int(self._base.lengths[slot])

    def _frequency(self, term: str) -> tuple[int | None, int]:
        """(index of `term` in the base or None, its document frequency over every live document)."""
        index = self._base.term_index(term)
        base_df = 0 if index is None else self._base.document_frequency(index) - int(self._deleted_df[index])
        return index, base_df + len(self._delta.postings.get(term, ()))

    def _allowed_slots(self, allowed_ids: Collection[int], size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        requested = (
            allowed_ids.array
            if isinstance(allowed_ids, IdArray)
            else np.fromiter(allowed_ids, dtype=np.int64, count=len(allowed_ids))
        )
        slots = self._base.slots_of(requested)
        mask[slots[slots >= 0]] = True
        delta = self._delta.slot_of
        if isinstance(allowed_ids, Set) and len(delta) < len(allowed_ids):  # usually a few recent writes
            mask[[len(self._base) + slot for i, slot in delta.items() if i in allowed_ids]] = True
        else:
            mask[[len(self._base) + delta[i] for i in allowed_ids if i in delta]] = True
        return mask


def _weights(tfs: np.ndarray, norms: np.ndarray, idf: np.float32) -> np.ndarray:
    """BM25's idf * tf / (tf + norm) per posting, in float32, computed in `norms` (a gathered copy)."""
    tf = tfs.astype(np.float32)
    norms += tf
    np.divide(tf, norms, out=norms)
    norms *= idf
    return norms
