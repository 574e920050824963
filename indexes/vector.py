"""FAISS index of normalised embeddings keyed by database ids: exact while small, HNSW past a threshold.

Vectors live at internal labels 0..n-1 in insertion order; deletes and updates tombstone the old label
(HNSW cannot remove nodes) and searches exclude tombstones with an IDSelector, so deletes cost O(1).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from core.id_array import IdArray
from indexes.faiss_threads import omp_threads, threads_for
from indexes.vector_files import FORMAT_VERSION, ids_checksum, read_vector_files, write_vector_files

log = logging.getLogger(__name__)
IndexKind = Literal["flat", "hnsw"]

# Past this share of dead labels, searches waste effort on them and memory holds them: rebuild.
COMPACT_TOMBSTONE_FRACTION = 0.25
# Vectors reconstructed and added per step of a compaction (50,000 x 384 floats: 73 MiB).
COMPACT_CHUNK = 50_000
# A filter this selective is answered by scoring its vectors directly: HNSW would have to walk far
# through filtered-out nodes to fill a page, while a small dot product is exact and quick.
EXACT_SUBSET_MAX = 4096


class VectorIndex:
    """Inner-product search over L2-normalised vectors keyed by int64 database ids; not thread-safe."""

    def __init__(
        self,
        *,
        dimension: int,
        model_name: str,
        exact_search_max: int = 20_000,
        hnsw_m: int = 32,
        hnsw_ef_construction: int = 80,
        hnsw_ef_search: int = 64,
    ) -> None:
        self.dimension = dimension
        self.model_name = model_name
        self.exact_search_max = exact_search_max
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construction = hnsw_ef_construction
        self.hnsw_ef_search = hnsw_ef_search
        self._index: faiss.Index = faiss.IndexFlatIP(dimension)
        self._kind: IndexKind = "flat"
        self._label_of: dict[int, int] = {}
        # Internal label -> database id, -1 for a tombstone; grown by doubling, valid up to ntotal.
        self._id_of_label = np.empty(0, dtype=np.int64)
        # Bit per internal label, set while the label is live: the IDSelector that hides tombstones.
        self._live_bits = np.empty(0, dtype=np.uint8)
        self._tombstones = 0

    @property
    def kind(self) -> IndexKind:
        """ "flat" (exact) or "hnsw" (approximate)."""
        return self._kind

    @property
    def tombstones(self) -> int:
        """Labels still held by the FAISS index for deleted or replaced vectors."""
        return self._tombstones

    def __len__(self) -> int:
        return len(self._label_of)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and int(item) in self._label_of

    def ids(self) -> set[int]:
        """Database ids currently searchable."""
        return set(self._label_of)

    def vector(self, db_id: int) -> np.ndarray | None:
        """The stored vector of `db_id`, or None when it is not indexed."""
        label = self._label_of.get(int(db_id))
        return None if label is None else np.asarray(self._index.reconstruct(label))

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under `ids`; an id already present has its old vector replaced."""
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        vector_array = self._prepare(vectors)
        if len(id_array) != len(vector_array):
            raise ValueError(f"{len(id_array)} ids for {len(vector_array)} vectors")
        if len(id_array) == 0:
            return
        # The last occurrence of a repeated id wins, as if the rows were upserted one by one.
        _, last_from_end = np.unique(id_array[::-1], return_index=True)
        keep = np.sort(len(id_array) - 1 - last_from_end)
        id_array, vector_array = id_array[keep], vector_array[keep]

        self._tombstone(self._label_of.pop(int(db_id)) for db_id in id_array if int(db_id) in self._label_of)
        first_label = self._index.ntotal
        self._index.add(vector_array)
        self._record_labels(id_array, first_label)

    def delete(self, ids: Iterable[int]) -> None:
        """Stop returning `ids` from searches; unknown ids are ignored."""
        self._tombstone(self._label_of.pop(int(db_id)) for db_id in ids if int(db_id) in self._label_of)

    @property
    def needs_compaction(self) -> bool:
        """Whether `compacted()` is due: too many vectors for exact search, or too many tombstones.

        Updates never compact inline, so the caller can rebuild while searches still use this index.
        """
        if self._kind == "flat" and len(self) > self.exact_search_max:
            return True
        return self._tombstones > COMPACT_TOMBSTONE_FRACTION * self._index.ntotal

    def compacted(self, *, hold: Callable[[], AbstractContextManager[object]] = nullcontext) -> VectorIndex:
        """A new index of the live vectors without tombstones (flat or HNSW by their count); self is only
        read, so searches may go on against it. No update may run meanwhile, unless each takes the lock
        `hold()` enters: then the copy holds the vectors live at the call, and later updates are the
        caller's to replay onto it (the FAISS index and the label arrays are read only under `hold()`)."""
        started = time.monotonic()
        with hold():
            live_labels = np.flatnonzero(self._id_of_label[: self._index.ntotal] >= 0)
            live_ids = self._id_of_label[live_labels]  # a copy: labels tombstoned later stay in it
            tombstones = self._tombstones
        copy = VectorIndex(
            dimension=self.dimension,
            model_name=self.model_name,
            exact_search_max=self.exact_search_max,
            hnsw_m=self.hnsw_m,
            hnsw_ef_construction=self.hnsw_ef_construction,
            hnsw_ef_search=self.hnsw_ef_search,
        )
        copy._kind = "hnsw" if len(live_labels) > self.exact_search_max else "flat"
        copy._index = copy._new_index(copy._kind)
        # In chunks: a reconstructed copy of every vector at once would double the memory of a large
        # index, and each chunk is a progress report on a rebuild that takes minutes at 10^6. One core
        # is left to the searches running meanwhile.
        with omp_threads(max(1, len(os.sched_getaffinity(0)) - 1)):
            for start in range(0, len(live_labels), COMPACT_CHUNK):
                labels = live_labels[start : start + COMPACT_CHUNK]
                # Labels are never reused, so a label live at the call still holds that vector.
                with hold():
                    vectors = self._index.reconstruct_batch(labels)
                copy._index.add(vectors)
                if len(live_labels) > COMPACT_CHUNK:
                    log.info(
                        "compacting %s vectors: %d of %d in %.1f s",
                        copy._kind,
                        start + len(labels),
                        len(live_labels),
                        time.monotonic() - started,
                    )
        copy._record_labels(live_ids, 0)
        log.info(
            "compacted %d vectors (%s, %d tombstones dropped) in %.1f s",
            len(live_labels),
            copy._kind,
            tombstones,
            time.monotonic() - started,
        )
        return copy

    def compact(self) -> None:
        """Rebuild in place without tombstones (`compacted()` for a rebuild beside the live index)."""
        self.__dict__.update(self.compacted().__dict__)

    def search(
        self, query_vectors: np.ndarray, k: int, *, allowed_ids: Collection[int] | None = None
    ) -> list[list[tuple[int, float]]]:
        """Best `k` (database id, cosine) per query, best first; only `allowed_ids` when given."""
        queries = self._prepare(query_vectors)
        if k <= 0 or not self._label_of:
            return [[] for _ in range(len(queries))]
        if allowed_ids is None:
            selected_bits = self._live_bits if self._tombstones else None
            candidate_count = len(self)
        else:
            allowed_labels = self._labels_of(allowed_ids)
            if len(allowed_labels) == 0:
                return [[] for _ in range(len(queries))]
            if self._kind == "hnsw" and len(allowed_labels) <= EXACT_SUBSET_MAX:
                return self._search_subset(queries, k, allowed_labels)
            selected_bits = self._bits_for(allowed_labels)
            candidate_count = len(allowed_labels)

        with threads_for(len(queries)):
            scores, labels = self._index.search(queries, k, params=self._search_parameters(selected_bits, k))
        if isinstance(self._index, faiss.IndexHNSWFlat):
            # A graph walk through many excluded nodes can come back short; redo those queries exactly.
            short = np.flatnonzero((labels >= 0).sum(axis=1) < min(k, candidate_count))
            if len(short):
                storage = faiss.downcast_index(self._index.storage)
                exact_scores, exact_labels = storage.search(
                    queries[short], k, params=self._search_parameters(selected_bits, k)
                )
                scores[short], labels[short] = exact_scores, exact_labels
        return [
            self._hits(row_scores, row_labels) for row_scores, row_labels in zip(scores, labels, strict=True)
        ]

    def save(self, directory: Path) -> None:
        """Write the FAISS index, the label -> id map and `vector_meta.json` into `directory`; only reads
        self, so searches may run meanwhile."""
        meta = {
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "dimension": self.dimension,
            "normalised": True,
            "count": len(self),
            "kind": self._kind,
            "ids_sha256": ids_checksum(np.fromiter(self._label_of, dtype=np.int64, count=len(self))),
            "exact_search_max": self.exact_search_max,
            "hnsw_m": self.hnsw_m,
            "hnsw_ef_construction": self.hnsw_ef_construction,
            "hnsw_ef_search": self.hnsw_ef_search,
        }
        write_vector_files(directory, self._index, self._id_of_label[: self._index.ntotal], meta)

    @classmethod
    def load(
        cls, directory: Path, *, expected_model: str, expected_dimension: int | None = None
    ) -> VectorIndex:
        """Read an index saved by `save`, refusing one built for another model, dimension or id set."""
        faiss_index, id_of_label, meta = read_vector_files(
            directory, expected_model=expected_model, expected_dimension=expected_dimension
        )
        index = cls(
            dimension=meta["dimension"],
            model_name=meta["model_name"],
            exact_search_max=meta["exact_search_max"],
            hnsw_m=meta["hnsw_m"],
            hnsw_ef_construction=meta["hnsw_ef_construction"],
            hnsw_ef_search=meta["hnsw_ef_search"],
        )
        index._index = faiss_index
        index._kind = meta["kind"]
        index._record_labels(id_of_label, 0)
        return index

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        array = np.array(vectors, dtype=np.float32, order="C", ndmin=2, copy=True)
        if array.shape[1] != self.dimension:
            raise ValueError(f"vectors have dimension {array.shape[1]}, index has {self.dimension}")
        # Normalised here so scores are cosines whatever the caller passed.
        faiss.normalize_L2(array)
        return array

    def _new_index(self, kind: IndexKind) -> faiss.Index:
        if kind == "flat":
            return faiss.IndexFlatIP(self.dimension)
        index = faiss.IndexHNSWFlat(self.dimension, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.hnsw_ef_construction
        index.hnsw.efSearch = self.hnsw_ef_search
        return index

    def _record_labels(self, ids: np.ndarray, first_label: int) -> None:
        end = first_label + len(ids)
        if end > len(self._id_of_label):
            capacity = max(end, 2 * len(self._id_of_label), 1024)
            grown = np.full(capacity, -1, dtype=np.int64)
            grown[: len(self._id_of_label)] = self._id_of_label
            self._id_of_label = grown
            bits = np.zeros((capacity + 7) // 8, dtype=np.uint8)
            bits[: len(self._live_bits)] = self._live_bits
            self._live_bits = bits
        self._id_of_label[first_label:end] = ids
        # A loaded index may carry tombstones (id -1): they stay out of the map and the live bits.
        live = ids >= 0
        labels = np.arange(first_label, end, dtype=np.int64)[live]
        np.bitwise_or.at(self._live_bits, labels >> 3, (1 << (labels & 7)).astype(np.uint8))
        self._label_of.update(zip(ids[live].tolist(), labels.tolist(), strict=True))
        self._tombstones += int(len(ids) - live.sum())

    def _tombstone(self, labels: Iterable[int]) -> None:
        for label in labels:
            self._id_of_label[label] = -1
            self._live_bits[label >> 3] &= np.uint8(~(1 << (label & 7)) & 0xFF)
            self._tombstones += 1

    def _labels_of(self, ids: Collection[int]) -> np.ndarray:
        """The live labels of those of `ids` the index holds."""
        if isinstance(ids, IdArray) and 8 * len(ids) >= self._index.ntotal:
            # Many sorted ids: each label's id looked up among them beats each id looked up in the dict.
            # Tombstoned labels hold -1, which no id is.
            return np.flatnonzero(ids.contains(self._id_of_label[: self._index.ntotal]))
        return np.fromiter(
            (self._label_of[int(db_id)] for db_id in ids if int(db_id) in self._label_of), dtype=np.int64
        )

    def _bits_for(self, labels: np.ndarray) -> np.ndarray:
        bits = np.zeros((self._index.ntotal + 7) // 8, dtype=np.uint8)
        np.bitwise_or.at(bits, labels >> 3, (1 << (labels & 7)).astype(np.uint8))
        return bits

    def _search_parameters(self, selected_bits: np.ndarray | None, k: int) -> faiss.SearchParameters:
        selector = (
            faiss.IDSelectorBitmap(len(selected_bits), faiss.swig_ptr(selected_bits))
            if selected_bits is not None
            else None
        )
        if self._kind == "hnsw":
            # The bundled faiss stubs omit SearchParametersHNSW, which the runtime has.
            parameters = faiss.SearchParametersHNSW(efSearch=max(self.hnsw_ef_search, k))  # type: ignore[attr-defined]
        else:
            parameters = faiss.SearchParameters()
        if selector is not None:
            parameters.sel = selector
        return parameters

    def _search_subset(
        self, queries: np.ndarray, k: int, labels: np.ndarray
    ) -> list[list[tuple[int, float]]]:
        vectors = self._index.reconstruct_batch(labels)
        scores = queries @ vectors.T
        top = min(k, len(labels))
        results = []
        for row in scores:
            best = np.argpartition(-row, top - 1)[:top]
            best = best[np.argsort(-row[best], kind="stable")]
            results.append(self._hits(row[best], labels[best]))
        return results

    def _hits(self, scores: np.ndarray, labels: np.ndarray) -> list[tuple[int, float]]:
        return [
            (int(self._id_of_label[label]), float(score))
            for score, label in zip(scores, labels, strict=True)
            if label >= 0
        ]
