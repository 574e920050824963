"""Retrieval-quality harness: BM25, exact dense search and their fusion on one BEIR-style collection."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument
from indexes.encoder import Encoder
from matcher.fusion import AdaptiveFusion, FusedCandidate, fusion_for
from matcher.metrics import evaluate_run

Ranked = list[tuple[int, float]]
# (BM25 hits, dense hits, query text, language of each document) -> one ranking
Fuser = Callable[[Ranked, Ranked, str, Mapping[int, str]], Sequence[FusedCandidate]]


class CachedEncoder:
    """An encoder whose embeddings are saved as .npy keyed by model and texts: evaluations re-run for free."""

    def __init__(self, encoder: Encoder, cache_dir: Path) -> None:
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.model_name = encoder.model_name
        self.dimension = encoder.dimension
        self.languages = encoder.languages
        self.symmetric = encoder.symmetric
        self.confident_spread = encoder.confident_spread

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached("q", list(texts), lambda: self.encoder.encode_queries(texts))

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._cached("p", list(texts), lambda: self.encoder.encode_passages(texts, show_progress=True))

    def _cached(self, side: str, texts: list[str], encode: Callable[[], np.ndarray]) -> np.ndarray:
        # The backend is part of the key: int8 and fp32 vectors of one model differ.
        backend = getattr(self.encoder, "backend", "")
        digest = hashlib.sha256(f"{self.encoder.model_name}\x00{backend}\x00{side}\x00".encode())
        for text in texts:
            digest.update(text.encode() + b"\x00")
        path = self.cache_dir / f"{digest.hexdigest()[:24]}.npy"
        if path.exists():
            return np.load(path)
        vectors = np.asarray(encode(), dtype=np.float32)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors


@dataclass(frozen=True)
class Candidates:
    """Per query, the BM25 and dense candidate lists over positions in `doc_keys`."""

    doc_keys: list[str]
    bm25: dict[str, Ranked]
    dense: dict[str, Ranked]
    languages: dict[int, str]


def build_offer_index(
    *,
    corpus: Mapping[str, str],
    encoder: Encoder,
    settings: Settings | None = None,
    show_progress: bool = False,
) -> tuple[list[str], ListingIndex]:
    """The service's own offer index (same encoder, vector and lexical index) over a collection."""
    doc_keys = list(corpus)
    index = ListingIndex(
        kind="offers", root=Path(tempfile.gettempdir()), encoder=encoder, settings=settings or Settings()
    )
    index.upsert(
        [IndexDocument(position, corpus[key]) for position, key in enumerate(doc_keys)],
        show_progress=show_progress,
    )
    return doc_keys, index


def retrieve_candidates(
    *,
    corpus: Mapping[str, str],
    queries: Mapping[str, str],
    encoder: Encoder,
    depth: int = 200,
    settings: Settings | None = None,
    show_progress: bool = False,
) -> Candidates:
    """Top-`depth` BM25 and dense candidates of every query, through the service's indexes."""
    doc_keys, index = build_offer_index(
        corpus=corpus, encoder=encoder, settings=settings, show_progress=show_progress
    )
    query_ids = list(queries)
    # Queries are encoded in one batch; the per-query path of the service would encode them one by one.
    vectors = encoder.encode_queries([queries[qid] for qid in query_ids])
    bm25 = {qid: index.lexical_search(queries[qid], depth) for qid in query_ids}
    dense = {
        qid: index.dense_search(queries[qid], depth, vector=vector)
        for qid, vector in zip(query_ids, vectors, strict=True)
    }
    languages = index.language_of(range(len(doc_keys)))
    return Candidates(doc_keys=doc_keys, bm25=bm25, dense=dense, languages=languages)


def score_candidates(
    candidates: Candidates,
    *,
    queries: Mapping[str, str],
    qrels: dict[str, dict[str, int]],
    fusions: Mapping[str, Fuser],
) -> dict[str, dict[str, float]]:
    """Metrics of BM25 alone, dense alone and each named fusion of the two lists."""

    def run_of(ranked: Mapping[str, Ranked]) -> dict[str, list[str]]:
        return {qid: [candidates.doc_keys[doc] for doc, _ in items] for qid, items in ranked.items()}

    results = {
        "bm25": evaluate_run(run_of(candidates.bm25), qrels),
        "dense": evaluate_run(run_of(candidates.dense), qrels),
    }
    for name, fuse in fusions.items():
        fused = {
            qid: [
                (c.id, c.score)
                for c in fuse(candidates.bm25[qid], candidates.dense[qid], queries[qid], candidates.languages)
            ]
            for qid in candidates.bm25
        }
        results[name] = evaluate_run(run_of(fused), qrels)
    return results


def evaluate_dataset(
    *,
    corpus: Mapping[str, str],
    queries: Mapping[str, str],
    qrels: dict[str, dict[str, int]],
    encoder: Encoder,
    fusion: AdaptiveFusion | None = None,
    depth: int = 200,
    settings: Settings | None = None,
    show_progress: bool = False,
) -> dict[str, dict[str, float]]:
    """{"bm25", "dense", "hybrid"} -> {"ndcg@10", "recall@100", "mrr@10"} on one collection."""
    fusion = fusion or fusion_for(encoder)
    candidates = retrieve_candidates(
        corpus=corpus,
        queries=queries,
        encoder=encoder,
        depth=depth,
        settings=settings,
        show_progress=show_progress,
    )
    hybrid: Fuser = lambda bm25, dense, query, languages: fusion.fuse(  # noqa: E731
        bm25, dense, query=query, languages=languages
    )
    return score_candidates(candidates, queries=queries, qrels=qrels, fusions={"hybrid": hybrid})
