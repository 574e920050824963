"""FAISS index of normalised embeddings keyed by database ids: exact while small, HNSW past a threshold.

Vectors live at internal labels 0..n-1 in insertion order; deletes and updates tombstone the old label
(HNSW cannot remove nodes) and searches exclude tombstones with an IDSelector, so deletes cost O(1).
An HNSW base, once saved, is memory-mapped (every worker of a node shares its pages) and read-only:
vectors added after that go to `RecentVectors`, searched exactly beside it, until a compaction.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from core.id_array import IdArray
from indexes.faiss_threads import omp_threads, threads_for
from indexes.vector_files import (
    FORMAT_VERSION,
    BaseFile,
    ids_checksum,
    map_base,
    read_vector_files,
    write_vector_files,
)
from indexes.vector_labels import Labels, bits_between, bits_for
from indexes.vector_recent import RecentVectors, best_of_both, exact_top_k

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
        # Set while `_index` is mapped (read-only) from this file; then adds go to `_recent`. The file
        # is kept open, to read it into memory when the recent vectors grow too many.
        self._base_file: BaseFile | None = None
        self._recent = RecentVectors(dimension)
        self._labels = Labels()

    @property
    def kind(self) -> IndexKind:
        """ "flat" (exact) or "hnsw" (approximate)."""
        return self._kind

    @property
    def mapped(self) -> bool:
        """Whether the base is a memory-mapped file (shared by processes), new vectors kept beside it."""
        return self._base_file is not None

    @property
    def tombstones(self) -> int:
        """Labels still held by the FAISS index for deleted or replaced vectors."""
        return self._labels.tombstones

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and int(item) in self._labels.label_of

    def ids(self) -> IdArray:
        """Database ids currently searchable."""
        return IdArray(self._labels.label_of.ids())

    def vector(self, db_id: int) -> np.ndarray | None:
        """The stored vector of `db_id`, or None when it is not indexed."""
        label = self._labels.label_of.get(int(db_id))
        if label is None:
            return None
        if label < self._index.ntotal:
            return np.asarray(self._index.reconstruct(label))
        return self._recent.rows[label - self._index.ntotal].copy()

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

        self._labels.drop(id_array)
        if self.mapped:
            self._recent.add(vector_array)
        else:
            self._index.add(vector_array)
        self._labels.record(id_array)

    def delete(self, ids: Iterable[int]) -> None:
        """Stop returning `ids` from searches; unknown ids are ignored."""
        self._labels.drop(ids)

    @property
    def needs_compaction(self) -> bool:
        """Whether `compacted()` is due: too many vectors for exact search, or too many tombstones.

        Updates never compact inline, so the caller can rebuild while searches still use this index.
        """
        if self._kind == "flat" and len(self) > self.exact_search_max:
            return True
        # Past that many, the exact search of the recent vectors costs what the graph's does.
        if len(self._recent) > self.exact_search_max:
            return True
        return self._labels.tombstones > COMPACT_TOMBSTONE_FRACTION * self._size

    def compacted(self, *, hold: Callable[[], AbstractContextManager[object]] = nullcontext) -> VectorIndex:
        """A new index of the live vectors without tombstones (flat or HNSW by their count), or, when
        only the recent vectors made it due, the mapped base read into memory with them added to its
        graph; self is only read, so searches may go on against it. No update may run meanwhile, unless
        each takes the lock `hold()` enters: then the copy holds the vectors live at the call, and later
        updates are the caller's to replay onto it (the FAISS index and the label arrays are read only
        under `hold()`)."""
        if self.mapped and self._labels.tombstones <= COMPACT_TOMBSTONE_FRACTION * self._size:
            return self._in_memory(hold)
        started = time.monotonic()
        with hold():
            live_labels = np.flatnonzero(self._labels.id_of_label[: self._size] >= 0)
            live_ids = self._labels.id_of_label[live_labels]  # a copy: labels tombstoned later stay in it
            tombstones = self._labels.tombstones
        copy = self._empty_copy()
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
                    vectors = self._reconstruct(labels)
                copy._index.add(vectors)
                if len(live_labels) > COMPACT_CHUNK:
                    log.info(
                        "compacting %s vectors: %d of %d in %.1f s",
                        copy._kind,
                        start + len(labels),
                        len(live_labels),
                        time.monotonic() - started,
                    )
        copy._labels.record(live_ids)
        log.info(
            "compacted %d vectors (%s, %d tombstones dropped) in %.1f s",
            len(live_labels),
            copy._kind,
            tombstones,
            time.monotonic() - started,
        )
        return copy

    def _in_memory(self, hold: Callable[[], AbstractContextManager[object]]) -> VectorIndex:
        """The mapped base read into memory (from the file kept open: its generation may be gone) with
        the recent vectors added to the graph: every label, tombstones included, stays as it was.
        Seconds where a rebuild of the graph takes minutes, as when a bulk load saves as it goes."""
        started = time.monotonic()
        with hold():
            base_file, recent = self._base_file, self._recent.rows.copy()
            id_of_label = self._labels.id_of_label[: self._size].copy()
        assert base_file is not None
        copy = self._empty_copy()
        copy._kind = "hnsw"
        copy._index = base_file.read_index()
        with omp_threads(max(1, len(os.sched_getaffinity(0)) - 1)):
            copy._index.add(recent)
        copy._labels.record(id_of_label)
        log.info(
            "read %d vectors into memory and added %d recent ones in %.1f s",
            copy._index.ntotal - len(recent),
            len(recent),
            time.monotonic() - started,
        )
        return copy

    def _empty_copy(self) -> VectorIndex:
        return VectorIndex(
            dimension=self.dimension,
            model_name=self.model_name,
            exact_search_max=self.exact_search_max,
            hnsw_m=self.hnsw_m,
            hnsw_ef_construction=self.hnsw_ef_construction,
            hnsw_ef_search=self.hnsw_ef_search,
        )

    def compact(self) -> None:
        """Rebuild in place without tombstones (`compacted()` for a rebuild beside the live index)."""
        self.__dict__.update(self.compacted().__dict__)

    def search(
        self, query_vectors: np.ndarray, k: int, *, allowed_ids: Collection[int] | None = None
    ) -> list[list[tuple[int, float]]]:
        """Best `k` (database id, cosine) per query, best first; only `allowed_ids` when given."""
        queries = self._prepare(query_vectors)
        if k <= 0 or not len(self._labels):
            return [[] for _ in range(len(queries))]
        if allowed_ids is None:
            selected_bits = self._labels.live_bits if self._labels.tombstones else None
            candidate_count = len(self)
        else:
            allowed_labels = self._labels.labels_of(allowed_ids, self._size)
            if len(allowed_labels) == 0:
                return [[] for _ in range(len(queries))]
            if self._kind == "hnsw" and len(allowed_labels) <= EXACT_SUBSET_MAX:
                return self._search_subset(queries, k, allowed_labels)
            selected_bits = bits_for(allowed_labels, self._size)
            candidate_count = len(allowed_labels)

        recent_selected = self._recent_selection(selected_bits)
        with threads_for(len(queries)):
            scores, labels = self._index.search(queries, k, params=self._search_parameters(selected_bits, k))
        if isinstance(self._index, faiss.IndexHNSWFlat):
            # A graph walk through many excluded nodes can come back short; redo those queries exactly.
            in_base = candidate_count - int(recent_selected.sum())
            short = np.flatnonzero((labels >= 0).sum(axis=1) < min(k, in_base))
            if len(short):
                storage = faiss.downcast_index(self._index.storage)
                exact_scores, exact_labels = storage.search(
                    queries[short], k, params=self._search_parameters(selected_bits, k)
                )
                scores[short], labels[short] = exact_scores, exact_labels
        if recent_selected.any():
            recent_scores, rows = self._recent.search(queries, k, recent_selected)
            recent_labels = np.where(rows >= 0, rows + self._index.ntotal, -1)
            scores, labels = best_of_both(k, (scores, labels), (recent_scores, recent_labels))
        return [
            self._hits(row_scores, row_labels) for row_scores, row_labels in zip(scores, labels, strict=True)
        ]

    def save(self, directory: Path) -> None:
        """Write the index into `directory` (`indexes/vector_files.py`); searches may run meanwhile, no
        update may. An HNSW base built in memory is then mapped from the written file, which frees the
        process's own copy and lets every worker share one."""
        meta = {
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "dimension": self.dimension,
            "normalised": True,
            "count": len(self),
            "kind": self._kind,
            "ids_sha256": ids_checksum(self._labels.label_of.ids()),
            "exact_search_max": self.exact_search_max,
            "hnsw_m": self.hnsw_m,
            "hnsw_ef_construction": self.hnsw_ef_construction,
            "hnsw_ef_search": self.hnsw_ef_search,
        }
        base, recent = self._index, self._recent.rows
        name = uuid.uuid4().hex if self._base_file is None else self._base_file.name
        write_vector_files(
            directory,
            base=base,
            base_name=name,
            recent=recent,
            id_of_label=self._labels.id_of_label[: base.ntotal + len(recent)],
            meta=meta,
        )
        if self._kind == "hnsw" and not self.mapped:
            # A search running meanwhile reads the old index or the mapped one: the same vectors and
            # labels, each whole.
            self._index, self._base_file = map_base(directory, name)

    @classmethod
    def load(
        cls, directory: Path, *, expected_model: str, expected_dimension: int | None = None
    ) -> VectorIndex:
        """Read an index saved by `save`, refusing one built for another model, dimension or id set."""
        faiss_index, base_file, recent, id_of_label, meta = read_vector_files(
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
        # None for format 1, read into memory: the next save writes it anew and maps it.
        index._base_file = base_file
        index._recent = RecentVectors(meta["dimension"], recent)
        index._labels.record(id_of_label)
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
        scores, positions = exact_top_k(queries, self._reconstruct(labels), k)
        found = np.where(positions >= 0, labels[positions], -1)
        return [
            self._hits(row_scores, row_labels) for row_scores, row_labels in zip(scores, found, strict=True)
        ]

    @property
    def _size(self) -> int:
        """Labels given out: the base's, then the recent vectors'."""
        return self._index.ntotal + len(self._recent)

    def _reconstruct(self, labels: np.ndarray) -> np.ndarray:
        """The stored vectors of `labels`, from the base or the recent vectors."""
        in_base = labels < self._index.ntotal
        if in_base.all():
            return self._index.reconstruct_batch(labels)
        vectors = np.empty((len(labels), self.dimension), dtype=np.float32)
        if in_base.any():
            vectors[in_base] = self._index.reconstruct_batch(labels[in_base])
        vectors[~in_base] = self._recent.rows[labels[~in_base] - self._index.ntotal]
        return vectors

    def _recent_selection(self, selected_bits: np.ndarray | None) -> np.ndarray:
        """Which recent vectors a search may return: the selected labels, or else the live ones."""
        bits = self._labels.live_bits if selected_bits is None else selected_bits
        return bits_between(bits, self._index.ntotal, len(self._recent))

    def _hits(self, scores: np.ndarray, labels: np.ndarray) -> list[tuple[int, float]]:
        return [
            (int(self._labels.id_of_label[label]), float(score))
            for score, label in zip(scores, labels, strict=True)
            if label >= 0
        ]
