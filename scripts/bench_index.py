"""Benchmark of the vector index (build, write and search latency, recall, memory) and of encoder throughput.

Run `python -m scripts.bench_index [--sizes 10000 100000 1000000] [--queries N] [--skip-encoder]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import get_args

import numpy as np

from core.settings import get_settings
from indexes.encoding import Backend
from indexes.sentence_encoder import SentenceEncoder
from indexes.vector import VectorIndex

DIMENSION = 384
CLUSTERS = 1024
INTRINSIC_DIMENSION = 96
K = 10

# Words of the kind technology offers and enterprise needs are written with.
VOCABULARY_TEXT = """
sensor battery membrane polymer coating catalyst biomass wastewater treatment filtration solar panel
inverter grid storage hydrogen fuel cell electrolyser turbine blade composite fibre concrete
recycling plastic packaging biodegradable enzyme fermentation vaccine diagnostic assay antibody
imaging ultrasound laser optical fibre semiconductor wafer lithography robot gripper vision
inspection defect detection machine learning model forecast demand supply chain logistics warehouse
drone agriculture irrigation soil fertiliser seed rice shrimp aquaculture feed vaccine cold chain
sterilisation textile dye leather tannery emission carbon capture cement steel alloy welding
corrosion paint adhesive ceramic glass furnace heat pump refrigeration insulation building
ventilation water purification desalination arsenic removal fluoride heavy metal sludge compost
biogas digester ethanol biodiesel algae protein extraction herbal pharmaceutical tablet capsule
formulation stability shelf life food processing drying freezing pasteurisation enterprise requires
pilot scale prototype patent licence laboratory institute partner investment capacity tonnes per day
efficiency cost reduction quality standard certified process line automation control software
platform data cloud monitoring maintenance
"""
VOCABULARY = VOCABULARY_TEXT.split()


def synthetic_vectors(
    count: int, rng: np.random.Generator, *, centers: np.ndarray, basis: np.ndarray
) -> np.ndarray:
    """Unit vectors drawn like sentence embeddings: topic clusters in a low-dimensional, anisotropic subspace.

    Uniform noise in 384 dimensions would be unrealistically hard for any graph index (no neighbour
    structure, all distances alike); real embeddings cluster by topic, share a common direction and
    vary along far fewer directions than they have coordinates, which this mixture imitates.
    """
    rows = np.empty((count, DIMENSION), dtype=np.float32)
    spectrum = 1.0 / np.sqrt(1.0 + np.arange(INTRINSIC_DIMENSION) / 8.0)
    for start in range(0, count, 100_000):
        size = min(100_000, count - start)
        cluster = rng.integers(0, len(centers), size=size)
        within = (rng.standard_normal((size, INTRINSIC_DIMENSION)) * spectrum * 0.45) @ basis.T
        noise = rng.standard_normal((size, DIMENSION)) * (0.12 / np.sqrt(DIMENSION))
        chunk = centers[cluster] + within + noise
        rows[start : start + size] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return rows


def mixture(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cluster centres and the subspace they vary in, shared by the indexed vectors and the queries."""
    basis, _ = np.linalg.qr(rng.standard_normal((DIMENSION, INTRINSIC_DIMENSION)))
    spectrum = 1.0 / np.sqrt(1.0 + np.arange(INTRINSIC_DIMENSION) / 8.0)
    common_direction = rng.standard_normal(DIMENSION)
    common_direction *= 0.6 / np.linalg.norm(common_direction)
    centers = (rng.standard_normal((CLUSTERS, INTRINSIC_DIMENSION)) * spectrum) @ basis.T / 3.0
    return centers + common_direction, basis


def resident_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def latencies_ms(operation: Callable[[int], object], count: int) -> list[float]:
    timings = []
    for position in range(count):
        started = time.perf_counter()
        operation(position)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: Sequence[float], share: float) -> float:
    return float(np.percentile(values, share))


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start : start + 200_000].T
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_rows = np.concatenate(
            [best_rows, np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)], axis=1
        )
        keep = np.argpartition(-merged_scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, keep, axis=1)
        best_rows = np.take_along_axis(merged_rows, keep, axis=1)
    return best_rows


def measure_search(index: VectorIndex, queries: np.ndarray, truth: np.ndarray) -> tuple[list[float], float]:
    """Latencies of single-query searches, as the API makes them, and their recall@K against `truth`."""
    results: list[list[tuple[int, float]]] = []
    search_ms = latencies_ms(lambda row: results.append(index.search(queries[row], K)[0]), len(queries))
    recall = statistics.fmean(
        len({db_id for db_id, _ in hits} & set(truth_row.tolist())) / K
        for hits, truth_row in zip(results, truth, strict=True)
    )
    return search_ms, recall


def bench_size(
    size: int, *, query_count: int, operation_count: int, seed: int, ef_sweep: Sequence[int] = ()
) -> dict[str, str]:
    settings = get_settings()
    rng = np.random.default_rng(seed)
    centers, basis = mixture(rng)
    vectors = synthetic_vectors(size, rng, centers=centers, basis=basis)
    queries = synthetic_vectors(query_count, rng, centers=centers, basis=basis)
    ids = np.arange(size, dtype=np.int64)

    memory_before = resident_mib()
    started = time.perf_counter()
    index = VectorIndex(
        dimension=DIMENSION,
        model_name="bench",
        exact_search_max=settings.exact_search_max,
        hnsw_m=settings.hnsw_m,
        hnsw_ef_construction=settings.hnsw_ef_construction,
        hnsw_ef_search=settings.hnsw_ef_search,
    )
    for start in range(0, size, 100_000):
        index.upsert(ids[start : start + 100_000], vectors[start : start + 100_000])
        if index.needs_compaction:  # as ListingIndex does after an update: to HNSW past exact search
            index.compact()
    build_seconds = time.perf_counter() - started
    memory_mib = resident_mib() - memory_before

    truth = exact_top_k(vectors, queries, K)
    search_ms, recall = measure_search(index, queries, truth)
    if index.kind == "hnsw" and ef_sweep:
        default_ef = index.hnsw_ef_search
        sweep_rows = []
        for ef_search in ef_sweep:
            index.hnsw_ef_search = ef_search
            sweep_ms, sweep_recall = measure_search(index, queries, truth)
            sweep_rows.append(
                {
                    "size": f"{size:,}",
                    "ef_search": str(ef_search),
                    "search p50/p99 ms": f"{percentile(sweep_ms, 50):.2f}/{percentile(sweep_ms, 99):.2f}",
                    "recall@10": f"{sweep_recall:.4f}",
                }
            )
        index.hnsw_ef_search = default_ef
        print_table(sweep_rows)

    new_vectors = synthetic_vectors(operation_count, rng, centers=centers, basis=basis)
    insert_ms = latencies_ms(
        lambda row: index.upsert(np.array([size + row]), new_vectors[row][None, :]), operation_count
    )
    updated = rng.choice(size, size=operation_count, replace=False)
    update_ms = latencies_ms(
        lambda row: index.upsert(updated[row : row + 1], new_vectors[row][None, :]), operation_count
    )
    deleted = rng.choice(np.setdiff1d(ids, updated), size=operation_count, replace=False)
    delete_ms = latencies_ms(lambda row: index.delete(deleted[row : row + 1]), operation_count)
    # The strongest test of a deleted id: query with its own vector, which it would top if still present.
    deleted_set = set(deleted.tolist())
    resurfaced = sum(
        bool(deleted_set & {db_id for db_id, _ in hits}) for hits in index.search(vectors[deleted], K)
    )
    updated_old_hits = index.search(vectors[updated[:100]], K)
    duplicated = sum(len({db_id for db_id, _ in hits}) != len(hits) for hits in updated_old_hits)
    after_ms = latencies_ms(lambda row: index.search(queries[row], K), query_count)

    return {
        "size": f"{size:,}",
        "kind": index.kind,
        "build s": f"{build_seconds:.1f}",
        "RSS MiB": f"{memory_mib:.0f}",
        "search p50/p99 ms": f"{percentile(search_ms, 50):.2f}/{percentile(search_ms, 99):.2f}",
        "+tombstones p50/p99": f"{percentile(after_ms, 50):.2f}/{percentile(after_ms, 99):.2f}",
        "recall@10": f"{recall:.4f}",
        "insert p50/p99 ms": f"{percentile(insert_ms, 50):.3f}/{percentile(insert_ms, 99):.3f}",
        "update p50/p99 ms": f"{percentile(update_ms, 50):.3f}/{percentile(update_ms, 99):.3f}",
        "delete p50/p99 ms": f"{percentile(delete_ms, 50):.4f}/{percentile(delete_ms, 99):.4f}",
        "deleted returned": str(resurfaced + duplicated),
    }


def synthetic_texts(count: int, words: int, rng: np.random.Generator) -> list[str]:
    """Listing-like texts: sentences of domain words, about `words` words long."""
    texts = []
    for _ in range(count):
        length = max(3, int(rng.normal(words, words * 0.2)))
        chosen = rng.choice(VOCABULARY, size=length)
        sentences = [" ".join(chosen[start : start + 12]) for start in range(0, length, 12)]
        texts.append(". ".join(sentence.capitalize() for sentence in sentences) + ".")
    return texts


def bench_encoders(backends: Sequence[Backend], *, repeats: int, seed: int) -> list[dict[str, str]]:
    settings = get_settings()
    rng = np.random.default_rng(seed)
    corpora = {
        "short (~10 words)": synthetic_texts(512, 10, rng),
        "long (~150 words)": synthetic_texts(96, 150, rng),
    }
    encoders = {
        backend: SentenceEncoder(
            model_name=settings.embedding_model,
            backend=backend,
            batch_size=settings.embedding_batch_size,
            cache_dir=settings.data_dir / "models",
        )
        for backend in backends
    }
    for encoder in encoders.values():
        encoder.encode_passages(corpora["short (~10 words)"][:64])
    # Backends take turns within each repeat, so load from other processes hits them alike.
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for corpus_name, texts in corpora.items():
            for backend, encoder in encoders.items():
                started = time.perf_counter()
                encoder.encode_passages(texts)
                samples.setdefault((backend, corpus_name), []).append(
                    len(texts) / (time.perf_counter() - started)
                )
    throughput = {key: statistics.median(values) for key, values in samples.items()}
    rows = []
    for backend, encoder in encoders.items():
        row: dict[str, str] = {"backend": backend, "actual": encoder.backend}
        for corpus_name in corpora:
            docs_per_second = throughput[(backend, corpus_name)]
            baseline = throughput.get(("torch", corpus_name))
            ratio = f" ({docs_per_second / baseline:.2f}x)" if baseline else ""
            row[f"{corpus_name} docs/s"] = f"{docs_per_second:.1f}{ratio}"
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    widths = [max(len(column), *(len(row[column]) for row in rows)) for column in columns]
    print("  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(row[column].rjust(width) for column, width in zip(columns, widths, strict=True)))
    print(flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000, help="single-query searches per size")
    parser.add_argument("--operations", type=int, default=1000, help="single-id inserts, updates, deletes")
    parser.add_argument(
        "--ef-sweep", type=int, nargs="*", default=[], help="also measure HNSW search at these efSearch"
    )
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-encoder", action="store_true")
    parser.add_argument("--backends", nargs="+", choices=get_args(Backend), default=list(get_args(Backend)))
    parser.add_argument("--repeats", type=int, default=3, help="encoder runs per backend; medians shown")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    settings = get_settings()
    print(
        f"cpus={len(os.sched_getaffinity(0))} exact_search_max={settings.exact_search_max} "
        f"hnsw_m={settings.hnsw_m} ef_construction={settings.hnsw_ef_construction} "
        f"ef_search={settings.hnsw_ef_search} k={K}\n",
        flush=True,
    )
    if not args.skip_index:
        rows = []
        for size in args.sizes:
            rows.append(
                bench_size(
                    size,
                    query_count=args.queries,
                    operation_count=args.operations,
                    seed=args.seed,
                    ef_sweep=args.ef_sweep,
                )
            )
            print_table(rows[-1:])
        print("vector index (latencies: median/p99 over single-id operations and single-query searches)")
        print_table(rows)
    if not args.skip_encoder:
        batch = settings.embedding_batch_size
        print(f"encoder {settings.embedding_model}, batch {batch} (median of {args.repeats} runs)")
        print_table(bench_encoders(args.backends, repeats=args.repeats, seed=args.seed))


if __name__ == "__main__":
    main()
