"""Load a BEIR-format test collection (corpus.jsonl, queries.jsonl, qrels/*.tsv) for evaluation."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BeirDataset:
    """Documents as "title text", queries and graded relevance judgements, keyed by BEIR string ids."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(
    folder: Path,
    *,
    corpus_file: str = "corpus.jsonl",
    queries_file: str = "queries.jsonl",
    qrels_file: str = "qrels/test.tsv",
) -> BeirDataset:
    """Read a BEIR folder; file names are overridable for collections with several corpora or splits.

    Only judged queries are kept, and only positive judgements (score > 0) count as relevant.
    """
    qrels: dict[str, dict[str, int]] = {}
    with (folder / qrels_file).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    corpus = {
        record["_id"]: f"{record.get('title', '')} {record['text']}".strip()
        for record in _read_jsonl(folder / corpus_file)
    }
    queries = {
        record["_id"]: record["text"]
        for record in _read_jsonl(folder / queries_file)
        if record["_id"] in qrels
    }
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels)


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
