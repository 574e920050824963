"""Vectors added since a read-only (memory-mapped) HNSW base was written, searched exactly.

A mapped base is shared by every API worker through the page cache, but FAISS cannot add to a mapped
index; new vectors wait here, in memory, until a compaction folds them into a new base.
"""

from __future__ import annotations

import faiss
import numpy as np

from indexes.faiss_threads import threads_for


class RecentVectors:
    """A growing float32 matrix of L2-normalised rows; row i is label `first_label + i` of its index."""

    def __init__(self, dimension: int, rows: np.ndarray | None = None) -> None:
        self._rows = np.zeros((0, dimension), dtype=np.float32) if rows is None else rows
        self._count = len(self._rows)

    def __len__(self) -> int:
        return self._count

    @property
    def rows(self) -> np.ndarray:
        """The vectors, oldest first (a view: read it, do not keep it across an `add`)."""
        return self._rows[: self._count]

    def add(self, vectors: np.ndarray) -> None:
        end = self._count + len(vectors)
        if end > len(self._rows):
            # Doubling keeps an add amortised O(rows added); the matrix is a copy while it grows.
            grown = np.zeros((max(end, 2 * len(self._rows), 256), self._rows.shape[1]), dtype=np.float32)
            grown[: self._count] = self._rows[: self._count]
            self._rows = grown
        self._rows[self._count : end] = vectors
        self._count = end

    def search(self, queries: np.ndarray, k: int, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the best `k` selected rows per query, best first, padded with -inf / -1."""
        chosen = selected[: self._count]
        if chosen.all():  # the usual case: no copy of the rows
            return exact_top_k(queries, self._rows[: self._count], k)
        candidates = np.flatnonzero(chosen)
        scores, positions = exact_top_k(queries, self._rows[candidates], k)
        return scores, np.where(positions >= 0, candidates[positions], -1)


def exact_top_k(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, positions in `vectors`) of the `k` best inner products per query, best first, padded
    with -inf / -1: exact, for a few thousand vectors. Through FAISS on this thread's OpenMP setting,
    not NumPy's matrix product, whose BLAS threads, spinning beside another worker's on 2 cores, cut
    the throughput at 10^5 listings by almost half."""
    if not len(vectors) or k <= 0:
        return (
            np.full((len(queries), max(k, 0)), -np.inf, dtype=np.float32),
            np.full((len(queries), max(k, 0)), -1, dtype=np.int64),
        )
    with threads_for(len(queries)):
        scores, positions = faiss.knn(
            np.ascontiguousarray(queries, dtype=np.float32),
            np.ascontiguousarray(vectors, dtype=np.float32),
            k,
            metric=faiss.METRIC_INNER_PRODUCT,
        )
    scores[positions < 0] = -np.inf
    return scores, positions


def best_of_both(
    k: int, first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The best `k` (scores, labels) per query of two searches' hits (label -1: no hit), best first."""
    labels = np.concatenate([first[1], second[1]], axis=1)
    scores = np.where(labels >= 0, np.concatenate([first[0], second[0]], axis=1), -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(labels, order, axis=1)
