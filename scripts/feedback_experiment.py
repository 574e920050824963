"""Simulated broker feedback: does a ranker trained on decisions beat the default weights? (research script)

Relevance judgements of a BEIR collection stand in for broker decisions: on half of the
queries (random, fixed seed) judged candidates are accepted matches and sampled unjudged
candidates rejected ones; MatchRanker is fitted on them and both rankers re-rank the same
fused BM25 + dense candidates of the other half. These collections have no structured
fields, so those features sit at their neutral value and only the text features differ.

HF_HUB_OFFLINE=1 python -m scripts.feedback_experiment --datasets ../shared/datasets
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import Settings
from indexes.encoder import Encoder, build_encoder
from matcher.beir import BeirDataset, load_beir
from matcher.evaluation import CachedEncoder, Candidates, retrieve_candidates
from matcher.features import FEATURE_NAMES, NEUTRAL, TEXT_FEATURES, text_feature_rows
from matcher.fusion import FusedCandidate, fusion_for
from matcher.metrics import ndcg_at_k
from matcher.ranker import MatchRanker, default_ranker
from matcher.registry import active_ranker, train_and_promote


def feature_rows(fused: Sequence[FusedCandidate], *, similarity_scale: float) -> np.ndarray:
    """The ranker's input for text-only pairs: retrieval scores, every structured feature neutral."""
    structured = [NEUTRAL] * (len(FEATURE_NAMES) - len(TEXT_FEATURES))
    rows = text_feature_rows(fused, ["en"] * len(fused), similarity_scale=similarity_scale)
    return np.array([[*text, *structured] for text in rows], dtype=float)


@dataclass(frozen=True)
class Outcome:
    n_train_queries: int
    n_test_queries: int
    n_samples: int
    default_ndcg: float
    trained_ndcg: float
    # What `techmatch train-ranker` leaves active: the trained ranker only if it won on held-out decisions.
    deployed_ndcg: float
    promoted: bool
    ranker: MatchRanker


def run_split(
    *,
    dataset: BeirDataset,
    fused: dict[str, list[FusedCandidate]],
    doc_keys: list[str],
    seed: int,
    negatives_per_positive: int,
    rerank_depth: int,
    similarity_scale: float,
) -> Outcome:
    """Train on a random half of the queries, then compare nDCG@10 of the rankers on the other half."""
    rng = np.random.default_rng(seed)
    query_ids = sorted(fused)
    rng.shuffle(query_ids)
    train_ids, test_ids = query_ids[: len(query_ids) // 2], query_ids[len(query_ids) // 2 :]
    rows: list[np.ndarray] = []
    labels: list[int] = []
    for qid in train_ids:
        candidates = fused[qid][:rerank_depth]
        relevant = [i for i, c in enumerate(candidates) if doc_keys[c.id] in dataset.qrels[qid]]
        others = [i for i, c in enumerate(candidates) if doc_keys[c.id] not in dataset.qrels[qid]]
        if not relevant or not others:
            continue
        rejected = rng.choice(
            others, size=min(len(others), negatives_per_positive * len(relevant)), replace=False
        )
        features = feature_rows(candidates, similarity_scale=similarity_scale)
        rows.extend(features[relevant])
        rows.extend(features[rejected])
        labels.extend([1] * len(relevant) + [0] * len(rejected))
    X, y = np.array(rows), np.array(labels)
    trained = MatchRanker().fit(X, y)
    with tempfile.TemporaryDirectory() as registry:
        report = train_and_promote(Path(registry), X, y, np.ones(len(y)), random_state=seed)
        deployed, _version = active_ranker(Path(registry))
    rankers = {"default": default_ranker(), "trained": trained, "deployed": deployed}
    scores: dict[str, list[float]] = {name: [] for name in rankers}
    for qid in test_ids:
        candidates = fused[qid][:rerank_depth]
        features = feature_rows(candidates, similarity_scale=similarity_scale)
        for name, ranker in rankers.items():
            order = np.argsort(-ranker.score_pairs(features), kind="stable")
            ranking = [doc_keys[candidates[i].id] for i in order]
            scores[name].append(ndcg_at_k(ranking, dataset.qrels[qid], 10))
    return Outcome(
        len(train_ids),
        len(test_ids),
        len(labels),
        float(np.mean(scores["default"])),
        float(np.mean(scores["trained"])),
        float(np.mean(scores["deployed"])),
        report.promoted,
        trained,
    )


def fuse_all(
    candidates: Candidates, queries: dict[str, str], encoder: Encoder
) -> dict[str, list[FusedCandidate]]:
    """The app's fusion over each query's BM25 and dense lists, configured as the matcher's."""
    fusion = fusion_for(encoder)
    return {
        qid: fusion.fuse(
            candidates.bm25[qid], candidates.dense[qid], query=queries[qid], languages=candidates.languages
        )
        for qid in candidates.bm25
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache/feedback_embeddings"))
    parser.add_argument("--depth", type=int, default=100, help="candidates taken from each retriever")
    parser.add_argument("--rerank-depth", type=int, default=50, help="fused candidates the ranker re-orders")
    parser.add_argument("--negatives", type=int, default=3, help="sampled rejections per accepted pair")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=5, help="further random splits to show the spread")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    settings = Settings()
    encoder = CachedEncoder(build_encoder(settings), args.cache_dir)
    collections = {
        "cranfield": load_beir(args.datasets / "cranfield"),
        "alqac2023 (train qrels)": load_beir(
            args.datasets / "alqac2023_vi_legal", qrels_file="qrels/train.tsv"
        ),
    }
    print(
        f"nDCG@10 on the held-out half of the queries; {args.rerank_depth} fused candidates re-ranked; "
        f"seed {args.seed}; {args.negatives} sampled rejections per accepted pair\n"
    )
    print(
        "| dataset | train / test queries | decisions | default | trained | gain | deployed (promoted?) "
        "| gain "
        f"| trained gain over {args.repeats} other splits: mean ± sd, min | deployed gain: mean, min |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    learned = {}
    for name, dataset in collections.items():
        candidates = retrieve_candidates(
            corpus=dataset.corpus, queries=dataset.queries, encoder=encoder, depth=args.depth
        )
        fused = fuse_all(candidates, dataset.queries, encoder)
        common: dict[str, Any] = {
            "dataset": dataset,
            "fused": fused,
            "doc_keys": candidates.doc_keys,
            "negatives_per_positive": args.negatives,
            "rerank_depth": args.rerank_depth,
            "similarity_scale": encoder.confident_spread,
        }
        first = run_split(seed=args.seed, **common)
        others = [run_split(seed=args.seed + 1 + r, **common) for r in range(args.repeats)]
        trained_gains = [o.trained_ndcg - o.default_ndcg for o in others]
        deployed_gains = [o.deployed_ndcg - o.default_ndcg for o in others]
        gain, deployed_gain = (
            first.trained_ndcg - first.default_ndcg,
            first.deployed_ndcg - first.default_ndcg,
        )
        print(
            f"| {name} | {first.n_train_queries} / {first.n_test_queries} | {first.n_samples} "
            f"| {first.default_ndcg:.4f} | {first.trained_ndcg:.4f} "
            f"| {gain:+.4f} ({gain / first.default_ndcg:+.1%}) "
            f"| {first.deployed_ndcg:.4f} ({'yes' if first.promoted else 'no'}) | {deployed_gain:+.4f} "
            f"| {np.mean(trained_gains):+.4f} ± {np.std(trained_gains):.4f}, {min(trained_gains):+.4f} "
            f"| {np.mean(deployed_gains):+.4f}, {min(deployed_gains):+.4f} |",
            flush=True,
        )
        learned[name] = first.ranker
    default = default_ranker()
    defaults = ", ".join(f"{f} {w:+.2f}" for f, w in zip(TEXT_FEATURES, default.coef_, strict=False))
    print(f"\nlearned text weights (default: {defaults}, intercept {default.intercept_:+.2f})")
    for name, ranker in learned.items():
        weights = ", ".join(f"{f} {w:+.2f}" for f, w in zip(TEXT_FEATURES, ranker.coef_, strict=False))
        print(f"  {name}: {weights}, intercept {ranker.intercept_:+.2f}")


if __name__ == "__main__":
    main()
