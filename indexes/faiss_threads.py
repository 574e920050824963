"""How many OpenMP threads a FAISS call on this thread may use: one for a few queries, all for many."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import faiss

# Fewer queries than this are searched on the calling thread only: an OpenMP team's fork/join costs
# more than a few queries take, and on a busy 2-core machine it turned a 0.3 ms search into 1.5-24 ms.
PARALLEL_QUERIES_MIN = 16


def threads_for(query_count: int) -> AbstractContextManager[None]:
    """One thread for a search of fewer than `PARALLEL_QUERIES_MIN` queries, else FAISS's default."""
    return omp_threads(None if query_count >= PARALLEL_QUERIES_MIN else 1)


@contextmanager
def omp_threads(count: int | None) -> Iterator[None]:
    """FAISS calls on this thread use `count` OpenMP threads meanwhile; None leaves the count as it is."""
    if count is None:
        yield
        return
    # The OpenMP thread count is per calling thread, so this does not slow other threads' work.
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)
