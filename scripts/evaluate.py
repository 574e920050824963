"""Retrieval quality of the shipped pipeline: BEIR collections and the judged demo set."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.indexing import build_index_sync
from api.records import StoreRecords
from core.access import Viewer
from core.settings import Settings
from core.taxonomy import Role
from indexes.encoder import Encoder
from matcher.beir import BeirDataset, load_beir
from matcher.evaluation import evaluate_dataset
from matcher.fusion import AdaptiveFusion
from matcher.metrics import evaluate_run
from matcher.ranker import DEFAULT_VERSION, default_ranker
from matcher.service import build_matcher, query_text
from models.base import make_engine, make_session_factory, transaction
from models.listings import Need, Offer, get_listings, listing_ids_by_status
from models.migrate import upgrade
from scripts.demo import DEMO_DIR, load_demo

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
        fusion=AdaptiveFusion(encoder_reads_vietnamese=settings.embedding_reads_vietnamese),
        settings=settings,
        show_progress=True,
    )


def evaluate_demo(*, encoder: Encoder, settings: Settings) -> dict[str, dict[str, float]]:
    """The judged demo set through the whole service: store, indexes, fusion and the ranker.

    Needs are the queries and their judged offers the relevant documents; "matcher" is the
    need → offers ranking the API serves, with structured features and hard rules.
    """
    with tempfile.TemporaryDirectory() as scratch:
        local = settings.model_copy(update={"data_dir": Path(scratch), "database_url": None})
        engine = make_engine(local.sqlalchemy_url)
        upgrade(engine)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            load_demo(session=session)
        sync = build_index_sync(settings=local, encoder=encoder, session_factory=factory)
        sync.reconcile(show_progress=True)
        matcher = build_matcher(
            settings=settings, indexes=sync.indexes, ranker=default_ranker(), ranker_version=DEFAULT_VERSION
        )
        broker = Viewer(role=Role.BROKER)
        runs: dict[str, dict[str, list[str]]] = {"bm25": {}, "dense": {}, "hybrid": {}, "matcher": {}}
        qrels = _demo_qrels()
        with factory() as session:
            need_id = {row.external_ref: row.id for row in _all(session, Need)}
            ref_of = {row.id: row.external_ref or "" for row in _all(session, Offer)}
            source = StoreRecords(session)
            for need_ref in qrels:
                need = source.needs([need_id[need_ref]])[need_id[need_ref]]
                text = query_text(need)
                lexical, dense = matcher.retrieve(kind="offers", text=text, allowed_ids=None)
                runs["bm25"][need_ref] = [ref_of[i] for i, _ in lexical]
                runs["dense"][need_ref] = [ref_of[i] for i, _ in dense]
                runs["hybrid"][need_ref] = [
                    ref_of[c.id] for c in matcher.fusion.fuse(lexical, dense, query=text)
                ]
                matches = matcher.match_need(
                    need=need, allowed_offer_ids=None, source=source, viewer=broker, k=100
                )
                runs["matcher"][need_ref] = [ref_of[m.id] for m in matches]
        sync.close()
        engine.dispose()
    return {name: evaluate_run(run, qrels) for name, run in runs.items()}


def _all(session: Session, model: type[Offer] | type[Need]) -> list[Any]:
    ids = listing_ids_by_status(session=session, model=model)
    return list(get_listings(session=session, model=model, ids=list(ids)).values())


def _demo_qrels() -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with (DEMO_DIR / "judgments.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["need_ref"], {})[row["offer_ref"]] = int(row["grade"])
    return qrels


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'pipeline':10} " + " ".join(f"{metric:>10}" for metric in METRICS)]
    lines += [
        f"{name:10} " + " ".join(f"{scores[m]:10.4f}" for m in METRICS) for name, scores in results.items()
    ]
    return "\n".join(lines)
