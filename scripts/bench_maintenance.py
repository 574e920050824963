"""Search latency while a ListingIndex saves and compacts, against the same searches at rest.

Run `python -m scripts.bench_maintenance [--listings 10000 100000] [--rest-seconds 5] [--saves 3]`.
One thread searches without pause (a dense and a lexical search per request, as the API makes them)
while the main thread adds 2,000 listings, saves the index, saves it holding the read lock (as before
the writer lock), then deletes 26 % of the listings, which makes the vector index
compact (rebuild without the tombstones, HNSW past exact_search_max) and the lexical index merge
its delta and deletions into a new base, both beside the live indexes. Vectors are synthetic clustered
unit vectors (scripts.bench_index), given to the index by a stand-in encoder; texts are listing-like
word sequences, so the BM25 index is real.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np

from core.settings import Settings, get_settings
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument
from indexes.lexical import LexicalIndex
from indexes.vector import VectorIndex
from scripts.bench_index import DIMENSION, mixture, print_table, synthetic_texts, synthetic_vectors

K = 20
QUERY_COUNT = 200
BUILD_CHUNK = 10_000
# Listings written while searches run, in one batch as the index worker may get them after an import.
WRITTEN = 2_000


class ListedVectors:
    """Stand-in encoder: hands out precomputed vectors in order, so building measures the index, not a
    model; queries are looked up by text."""

    model_name = f"bench-synthetic-{DIMENSION}"
    dimension = DIMENSION
    languages = frozenset({"en"})
    confident_spread = 0.0
    symmetric = False

    def __init__(self, passages: np.ndarray, queries: dict[str, np.ndarray]) -> None:
        self._passages = passages
        self._next = 0
        self._queries = queries

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        rows = self._passages[self._next : self._next + len(texts)]
        self._next += len(texts)
        return rows

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._queries[text] for text in texts])


class Searcher:
    """Runs requests back to back on its own thread, recording when each started and how long it took."""

    def __init__(self, index: ListingIndex, queries: list[str]) -> None:
        self.index, self.queries = index, queries
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        position = 0
        while not self._stop.is_set():
            query = self.queries[position % len(self.queries)]
            position += 1
            started = time.perf_counter()
            self.index.dense_search(query, K)
            self.index.lexical_search(query, K)
            self.samples.append((started, time.perf_counter() - started))

    def __enter__(self) -> Searcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[float]:
        """Latencies (ms) of the requests that were running at any moment of [start, end]."""
        # The request in flight at `end` (maybe the one that waited longest) is recorded when it ends.
        while not self.samples or self.samples[-1][0] <= end:
            time.sleep(0.001)
        return [took * 1000 for began, took in self.samples if began <= end and began + took >= start]


@contextmanager
def recording(owner: type, method: str) -> Iterator[list[tuple[float, float]]]:
    """(start, end) of every call of `owner.method` made inside the block."""
    windows: list[tuple[float, float]] = []
    real = getattr(owner, method)

    def recorded(self: object, **options: object) -> object:
        began = time.perf_counter()
        result = real(self, **options)
        windows.append((began, time.perf_counter()))
        return result

    with mock.patch.object(owner, method, recorded):
        yield windows


def timed(searcher: Searcher, operation: Callable[[], object]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    operation()
    ended = time.perf_counter()
    return ended - started, searcher.between(started, ended)


def latency_row(name: str, seconds: Sequence[float], latencies: list[float]) -> dict[str, str]:
    return {
        "phase": name,
        "duration s (median)": f"{statistics.median(seconds):.2f}" if seconds else "-",
        "requests": str(len(latencies)),
        "search p50 ms": f"{np.percentile(latencies, 50):.1f}",
        "p99 ms": f"{np.percentile(latencies, 99):.1f}",
        "max ms": f"{max(latencies):.1f}",
    }


def build(size: int, root: Path, seed: int) -> tuple[ListingIndex, list[str], list[IndexDocument]]:
    """The index of `size` listings, the query texts, and WRITTEN more listings to add later."""
    rng = np.random.default_rng(seed)
    centers, basis = mixture(rng)
    texts = synthetic_texts(size + WRITTEN, 60, rng)
    query_texts = [f"{text} q{i}" for i, text in enumerate(synthetic_texts(QUERY_COUNT, 8, rng))]
    query_vectors = synthetic_vectors(QUERY_COUNT, rng, centers=centers, basis=basis)
    encoder = ListedVectors(
        synthetic_vectors(size + WRITTEN, rng, centers=centers, basis=basis),
        dict(zip(query_texts, query_vectors, strict=True)),
    )
    index = ListingIndex(kind="offers", root=root, encoder=encoder, settings=Settings(data_dir=root))
    for start in range(0, size, BUILD_CHUNK):
        index.upsert(
            [
                IndexDocument(i + 1, texts[i], language="en")
                for i in range(start, min(size, start + BUILD_CHUNK))
            ]
        )
    index.wait_for_rebuild()  # "at rest" is measured with no compaction or merge left running
    later = [IndexDocument(i + 1, texts[i], language="en") for i in range(size, size + WRITTEN)]
    return index, query_texts, later


def bench(size: int, *, rest_seconds: float, saves: int, seed: int) -> list[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-maintenance-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        index, queries, later = build(size, root, seed)
        print(
            f"{size:,} listings built in {time.perf_counter() - started:.1f} s ({index.vectors.kind})",
            flush=True,
        )
        rows = []
        with Searcher(index, queries) as searcher:
            time.sleep(0.5)  # warm-up, not counted
            rest_start = time.perf_counter()
            time.sleep(rest_seconds)
            rows.append(latency_row("at rest", [], searcher.between(rest_start, time.perf_counter())))

            def upsert_and_rebuild() -> None:
                index.upsert(later)
                index.wait_for_rebuild()

            took, latencies = timed(searcher, upsert_and_rebuild)
            rows.append(latency_row(f"upsert {WRITTEN:,} listings at once", [took], latencies))
            save_runs = [timed(searcher, index.save) for _ in range(saves)]
            rows.append(
                latency_row("save", [s for s, _ in save_runs], [ms for _, run in save_runs for ms in run])
            )

            # The former behaviour, for comparison: the save holding the read lock throughout.
            def locked_save() -> None:
                with index._lock.write_lock():
                    index.save()

            took, latencies = timed(searcher, locked_save)
            rows.append(latency_row("save, read lock held (before)", [took], latencies))

            total = size + WRITTEN
            doomed = np.random.default_rng(seed).choice(
                np.arange(1, total + 1), size=total * 26 // 100, replace=False
            )
            kind_before = index.vectors.kind
            with (
                recording(VectorIndex, "compacted") as compactions,
                recording(LexicalIndex, "merged") as merges,
            ):

                def delete_and_rebuild() -> None:
                    index.delete(doomed.tolist())
                    index.wait_for_rebuild()  # the rebuild it triggers runs in the background

                took, latencies = timed(searcher, delete_and_rebuild)
            rows.append(latency_row("delete 26 % and the rebuild it triggers", [took], latencies))
            for name, windows in (
                (f"vector compaction ({kind_before}->{index.vectors.kind})", compactions),
                ("lexical merge", merges),
            ):
                rows.extend(
                    latency_row(f"  {name} inside it", [ended - began], searcher.between(began, ended))
                    for began, ended in windows
                )
            assert index.vectors.tombstones == 0, "the deletes should have made the vectors compact"
            rest_start = time.perf_counter()
            time.sleep(rest_seconds)
            rows.append(latency_row("at rest, after", [], searcher.between(rest_start, time.perf_counter())))
        for row in rows:
            row["listings"] = f"{size:,}"
        return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rest-seconds", type=float, default=5.0)
    parser.add_argument("--saves", type=int, default=3, help="saves timed per size; the median is shown")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    settings = get_settings()
    print(
        f"cpus={len(os.sched_getaffinity(0))} load={os.getloadavg()[0]:.1f} "
        f"exact_search_max={settings.exact_search_max} hnsw_m={settings.hnsw_m} "
        f"ef_construction={settings.hnsw_ef_construction} ef_search={settings.hnsw_ef_search} k={K}; "
        "vectors: synthetic clustered unit vectors (no encoder); a request = dense + lexical search",
        flush=True,
    )
    for size in args.listings:
        print_table(bench(size, rest_seconds=args.rest_seconds, saves=args.saves, seed=args.seed))


if __name__ == "__main__":
    main()
