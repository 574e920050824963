"""Compare BM25, dense, RRF and the adaptive hybrid on the shared BEIR collections (research script).

HF_HUB_OFFLINE=1 python -m scripts.eval_fusion --datasets ../shared/datasets
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.settings import Settings
from indexes.encoder import Encoder, build_encoder
from matcher.beir import BeirDataset, load_beir
from matcher.evaluation import CachedEncoder, Fuser, retrieve_candidates, score_candidates
from matcher.fusion import fusion_for, reciprocal_rank_fusion


def collections(root: Path) -> dict[str, BeirDataset]:
    """The six evaluation settings of docs/ranking: three collections, xquad in all four directions."""
    xquad = root / "xquad_vi_en"
    return {
        "cranfield": load_beir(root / "cranfield"),
        "alqac2023 train": load_beir(root / "alqac2023_vi_legal", qrels_file="qrels/train.tsv"),
        "xquad vi->vi": load_beir(xquad, corpus_file="corpus_vi.jsonl", queries_file="queries_vi.jsonl"),
        "xquad en->en": load_beir(xquad, corpus_file="corpus_en.jsonl", queries_file="queries_en.jsonl"),
        "xquad vi->en": load_beir(xquad, corpus_file="corpus_en.jsonl", queries_file="queries_vi.jsonl"),
        "xquad en->vi": load_beir(xquad, corpus_file="corpus_vi.jsonl", queries_file="queries_en.jsonl"),
    }


def fusion_table(datasets: Path, *, encoder: Encoder, depth: int = 200) -> Iterator[str]:
    """The Markdown comparison, a line at a time as each collection finishes."""
    fusion = fusion_for(encoder)
    fusions: dict[str, Fuser] = {
        "rrf": lambda bm25, dense, query, languages: reciprocal_rank_fusion(bm25, dense),
        "hybrid": lambda bm25, dense, query, languages: fusion.fuse(
            bm25, dense, query=query, languages=languages
        ),
    }
    methods = ["bm25", "dense", "rrf", "hybrid"]
    yield f"| dataset | {' | '.join(methods)} | hybrid − max(bm25, dense) |"
    yield f"|---|{'---|' * len(methods)}---|"
    gains = []
    for name, dataset in collections(datasets).items():
        candidates = retrieve_candidates(
            corpus=dataset.corpus, queries=dataset.queries, encoder=encoder, depth=depth
        )
        results = score_candidates(candidates, queries=dataset.queries, qrels=dataset.qrels, fusions=fusions)
        gain = results["hybrid"]["ndcg@10"] - max(results["bm25"]["ndcg@10"], results["dense"]["ndcg@10"])
        gains.append(gain)
        cells = [
            " / ".join(f"{results[m][metric]:.3f}" for metric in ("ndcg@10", "recall@100", "mrr@10"))
            for m in methods
        ]
        yield f"| {name} | {' | '.join(cells)} | {gain:+.4f} |"
    yield ""
    yield f"Mean nDCG@10 gain of the hybrid over the better single retriever: {np.mean(gains):+.4f}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache-dir", type=Path, default=Path("var/cache/embeddings"))
    parser.add_argument("--depth", type=int, default=200, help="candidates taken from each retriever")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = CachedEncoder(build_encoder(Settings()), args.cache_dir)
    print("nDCG@10 / Recall@100 / MRR@10\n")
    for line in fusion_table(args.datasets, encoder=encoder, depth=args.depth):
        print(line, flush=True)


if __name__ == "__main__":
    main()
