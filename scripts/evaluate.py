"""Retrieval quality of the shipped pipeline on a BEIR collection (the demo set: scripts/demo_eval.py)."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from indexes.encoder import Encoder
from matcher.beir import BeirDataset, load_beir
from matcher.evaluation import evaluate_dataset

METRICS = ("ndcg@10", "recall@100", "mrr@10")


def default_qrels(folder: Path) -> str:
    """test.tsv when the collection has one, else its only (or first) judgement file."""
    candidates = sorted(path.name for path in (folder / "qrels").glob("*.tsv"))
    if not candidates:
        raise FileNotFoundError(f"no qrels/*.tsv in {folder}")
    return f"qrels/{'test.tsv' if 'test.tsv' in candidates else candidates[0]}"


def evaluate_beir(
    folder: Path,
    *,
    encoder: Encoder,
    settings: Settings,
    qrels: str | None = None,
    corpus: str = "corpus.jsonl",
    queries: str = "queries.jsonl",
) -> dict[str, dict[str, float]]:
    """bm25, dense and hybrid (the service's fusion) on one BEIR collection."""
    dataset: BeirDataset = load_beir(
        folder, corpus_file=corpus, queries_file=queries, qrels_file=qrels or default_qrels(folder)
    )
    return evaluate_dataset(
        corpus=dataset.corpus,
        queries=dataset.queries,
        qrels=dataset.qrels,
        encoder=encoder,
        settings=settings,
        show_progress=True,
    )


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'pipeline':10} " + " ".join(f"{metric:>10}" for metric in METRICS)]
    lines += [
        f"{name:10} " + " ".join(f"{scores[m]:10.4f}" for m in METRICS) for name, scores in results.items()
    ]
    return "\n".join(lines)
