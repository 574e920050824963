"""The judged demo set through the whole service: retrieval by language pair, calibration, suggestions.

Every need of the demo (judged ones and those with no good offer) is matched against the published
offers as `/needs/{id}/matches` would; its judged offers are the good pairs, every other candidate a bad
one (scripts/demo_data/README.md). The shipped ranker is fitted on these pairs (`techmatch calibrate
--write`), so everything it scores here is reported out of fold: five folds grouped by need.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import sessionmaker

from api.indexing import build_index_sync
from api.records import StoreRecords
from core.access import Viewer
from core.settings import Settings
from core.taxonomy import Role
from indexes.encoder import Encoder
from matcher.calibration import (
    ReliabilityBin,
    brier_score,
    format_reliability,
    out_of_fold_scores,
    reliability_table,
)
from matcher.features import FEATURE_NAMES
from matcher.metrics import evaluate_run, ndcg_at_k, recall_at_k
from matcher.ranker import DEFAULT_RANKER_FILE, DEFAULT_VERSION, MatchRanker, default_ranker
from matcher.service import Matcher, build_matcher
from models.base import make_engine, make_session_factory, transaction
from models.listings import Need, Offer, listing_ids_by_status
from models.migrate import upgrade
from scripts.demo import DEMO_DIR, load_demo

LANGUAGE_PAIRS = ("vi→vi", "vi→en", "en→vi", "en→en")
# Fixed so the demo's "now" does not drift the freshness feature between runs.
DEMO_NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class DemoPairs:
    """Every allowed need→offer candidate pair of the demo with its features and judgment."""

    features: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    offer_language: dict[str, str] = field(default_factory=dict)
    need_language: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoReport:
    pipelines: dict[str, dict[str, float]]
    by_language: dict[str, dict[str, dict[str, float]]]
    suggestions: dict[str, float]
    brier: float
    base_rate_brier: float
    reliability: list[ReliabilityBin]
    pairs: int
    good_pairs: int

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "reliability": [asdict(b) for b in self.reliability]}


def demo_qrels() -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with (DEMO_DIR / "judgments.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["need_ref"], {})[row["offer_ref"]] = int(row["grade"])
    return qrels


@contextmanager
def demo_service(*, encoder: Encoder, settings: Settings) -> Iterator[tuple[Matcher, sessionmaker[Any]]]:
    """The demo loaded into a scratch SQLite store with fresh indexes, and the matcher over them."""
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
            encoder=encoder, indexes=sync.indexes, ranker=default_ranker(), ranker_version=DEFAULT_VERSION
        )
        try:
            yield matcher, factory
        finally:
            sync.close()
            engine.dispose()


def collect_pairs(*, encoder: Encoder, settings: Settings) -> DemoPairs:
    """Candidates of every demo need as a broker sees them, with features, judgments and retrieval runs."""
    qrels = demo_qrels()
    pairs = DemoPairs(runs={"bm25": {}, "dense": {}, "hybrid": {}, "matcher (shipped)": {}})
    broker = Viewer(role=Role.BROKER)
    with demo_service(encoder=encoder, settings=settings) as (matcher, factory), factory() as session:
        source = StoreRecords(session)
        needs = source.needs(list(listing_ids_by_status(session=session, model=Need)))
        offers = source.offers(list(listing_ids_by_status(session=session, model=Offer)))
        ref_of = {row.id: row.external_ref or "" for row in session.query(Offer)}
        need_ref = {row.id: row.external_ref or "" for row in session.query(Need)}
        pairs.offer_language = {ref_of[i]: offer.language.value for i, offer in offers.items()}
        for need_id, need in sorted(needs.items()):
            ref = need_ref[need_id]
            pairs.need_language[ref] = need.language.value
            text = need.text
            # As a match queries: BM25 over the listing's heaviest terms (Matcher.listing_query_terms).
            terms = matcher.listing_query_terms
            lexical, dense = matcher.retrieve(kind="offers", text=text, allowed_ids=None, max_terms=terms)
            pairs.runs["bm25"][ref] = [ref_of[i] for i, _ in lexical]
            pairs.runs["dense"][ref] = [ref_of[i] for i, _ in dense]
            fused = matcher.candidates_for(
                kind="offers", text=text, allowed_ids=None, language=need.language.value, max_terms=terms
            )
            pairs.runs["hybrid"][ref] = [ref_of[c.id] for c in fused]
            found = matcher.candidate_pairs(
                need, allowed_ids=None, source=source, viewer=broker, now=DEMO_NOW
            )
            shipped = matcher.ranker.score_pairs(found.features) if found.others else np.empty(0)
            pairs.runs["matcher (shipped)"][ref] = [
                ref_of[found.others[row].id] for row in np.argsort(-shipped, kind="stable")
            ]
            for other, row in zip(found.others, found.features, strict=True):
                pairs.features.append(row.tolist())
                pairs.labels.append(int(qrels.get(ref, {}).get(ref_of[other.id], 0) > 0))
                pairs.needs.append(ref)
                pairs.offers.append(ref_of[other.id])
    return pairs


def evaluate_demo(*, encoder: Encoder, settings: Settings, pairs: DemoPairs | None = None) -> DemoReport:
    """Retrieval, language-pair, calibration and suggestion-queue figures of the demo set."""
    pairs = pairs or collect_pairs(encoder=encoder, settings=settings)
    qrels = demo_qrels()
    features, labels = np.array(pairs.features), np.array(pairs.labels)
    _, groups = np.unique(np.array(pairs.needs), return_inverse=True)
    oof = out_of_fold_scores(features, labels, groups)
    runs = dict(pairs.runs)
    runs["matcher (out of fold)"] = _ranking(pairs, oof)
    pipelines = {name: evaluate_run(run, qrels) for name, run in runs.items()}
    by_language = {
        name: _by_language(runs[name], qrels, pairs)
        for name in ("bm25", "dense", "hybrid", "matcher (out of fold)")
    }
    base_rate = float(labels.mean())
    return DemoReport(
        pipelines=pipelines,
        by_language=by_language,
        suggestions=_suggestions(pairs, oof, qrels, settings=settings),
        brier=brier_score(oof, labels),
        base_rate_brier=brier_score(np.full(len(labels), base_rate), labels),
        reliability=reliability_table(oof, labels),
        pairs=len(labels),
        good_pairs=int(labels.sum()),
    )


def fit_default_ranker(pairs: DemoPairs, *, report: DemoReport, model_name: str) -> dict[str, Any]:
    """The shipped ranker: fitted on every demo pair, saved with its out-of-fold report."""
    ranker = MatchRanker().fit(np.array(pairs.features), np.array(pairs.labels))
    return {
        "version": DEFAULT_VERSION,
        "fitted_on": f"demo judgments: {report.pairs} need→offer candidate pairs, {report.good_pairs} good",
        "embedding_model": model_name,
        "weights": {name: round(float(w), 6) for name, w in zip(FEATURE_NAMES, ranker.coef_, strict=True)},
        "intercept": round(ranker.intercept_, 6),
        "out_of_fold": {
            "brier": round(report.brier, 5),
            "suggestion_precision": round(report.suggestions["precision"], 4),
            "suggestion_recall": round(report.suggestions["recall"], 4),
        },
    }


def write_default_ranker(spec: dict[str, Any]) -> Path:
    DEFAULT_RANKER_FILE.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DEFAULT_RANKER_FILE


def _ranking(pairs: DemoPairs, scores: np.ndarray) -> dict[str, list[str]]:
    run: dict[str, list[tuple[float, str]]] = {}
    for need, offer, score in zip(pairs.needs, pairs.offers, scores, strict=True):
        run.setdefault(need, []).append((-float(score), offer))
    return {need: [offer for _, offer in sorted(items)] for need, items in run.items()}


def _by_language(
    run: dict[str, list[str]], qrels: dict[str, dict[str, int]], pairs: DemoPairs
) -> dict[str, dict[str, float]]:
    """nDCG@10 and Recall@10 of the full ranking, counting as relevant only judged offers of one language.

    Recall@10 here is pooled: judged pairs of that language pair found in their need's top 10, over all
    such pairs (the figure `/needs/{id}/matches?k=10` gives a broker).
    """
    table = {}
    for pair in LANGUAGE_PAIRS:
        source, target = pair.split("→")
        ndcgs, found, total = [], 0, 0
        for need, judgments in qrels.items():
            if pairs.need_language.get(need) != source:
                continue
            relevant = {o: g for o, g in judgments.items() if pairs.offer_language.get(o) == target and g > 0}
            if not relevant:
                continue
            ranking = run.get(need, [])
            ndcgs.append(ndcg_at_k(ranking, relevant, 10))
            found += round(recall_at_k(ranking, relevant, 10) * len(relevant))
            total += len(relevant)
        table[pair] = {
            "ndcg@10": float(np.mean(ndcgs)) if ndcgs else 0.0,
            "recall@10": found / total if total else 0.0,
            "found": found,
            "judged": total,
        }
    same = [table[p] for p in ("vi→vi", "en→en")]
    cross = [table[p] for p in ("vi→en", "en→vi")]
    for name, group in (("same language", same), ("cross language", cross)):
        group_judged = sum(row["judged"] for row in group)
        group_found = sum(row["found"] for row in group)
        table[name] = {
            "ndcg@10": float(np.mean([row["ndcg@10"] for row in group])),
            "recall@10": group_found / group_judged if group_judged else 0.0,
            "found": group_found,
            "judged": group_judged,
        }
    return table


def _suggestions(
    pairs: DemoPairs, scores: np.ndarray, qrels: dict[str, dict[str, int]], *, settings: Settings
) -> dict[str, float]:
    """The queue the suggestion worker would fill: each need's top k pairs scoring at least the threshold."""
    ranked = _ranking(pairs, scores)
    score_of = {(n, o): float(s) for n, o, s in zip(pairs.needs, pairs.offers, scores, strict=True)}
    suggested = [
        (need, offer)
        for need, offers in ranked.items()
        for offer in offers[: settings.suggestion_top_k]
        if score_of[(need, offer)] >= settings.suggestion_threshold
    ]
    good = sum(1 for need, offer in suggested if qrels.get(need, {}).get(offer, 0) > 0)
    judged = sum(1 for judged in qrels.values() for grade in judged.values() if grade > 0)
    quiet = [need for need in ranked if need not in qrels]
    return {
        "threshold": settings.suggestion_threshold,
        "top_k": settings.suggestion_top_k,
        "suggested": len(suggested),
        "good": good,
        "precision": good / len(suggested) if suggested else 0.0,
        "recall": good / judged if judged else 0.0,
        "needs_without_good_offer": len(quiet),
        "suggested_for_those": sum(1 for need, _ in suggested if need in quiet),
    }


def format_report(report: DemoReport) -> str:
    """The demo figures as the Markdown tables the README quotes."""
    metrics = ("ndcg@10", "recall@100", "mrr@10")
    lines = ["| pipeline | nDCG@10 | Recall@100 | MRR@10 |", "|---|---|---|---|"]
    lines += [
        f"| {name} | " + " | ".join(f"{scores[m]:.3f}" for m in metrics) + " |"
        for name, scores in report.pipelines.items()
    ]
    pairs = [*LANGUAGE_PAIRS, "same language", "cross language"]
    lines += ["", "nDCG@10 / Recall@10 (found / judged) by language pair, need → offer:", ""]
    lines += ["| pipeline | " + " | ".join(pairs) + " |", "|---|" + "---|" * len(pairs)]
    for name, table in report.by_language.items():
        cells = [
            f"{table[p]['ndcg@10']:.3f} / {table[p]['recall@10']:.3f} ({table[p]['found']:.0f}/{table[p]['judged']:.0f})"
            for p in pairs
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    s = report.suggestions
    lines += [
        "",
        f"Suggestion queue (top {s['top_k']:.0f} per need, out-of-fold probability ≥ {s['threshold']}): "
        f"{s['suggested']:.0f} suggestions, {s['good']:.0f} judged good: precision {s['precision']:.3f}, "
        f"recall {s['recall']:.3f}; {s['suggested_for_those']:.0f} for the {s['needs_without_good_offer']:.0f} "
        "needs with no good offer.",
        "",
        f"Calibration, out of fold over {report.pairs} pairs ({report.good_pairs} good): Brier score "
        f"{report.brier:.4f} (always predicting the base rate: {report.base_rate_brier:.4f}).",
        "",
        format_reliability(report.reliability),
    ]
    return "\n".join(lines)
