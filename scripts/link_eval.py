"""Duplicate and translation links measured on xquad (parallel paragraphs) and the labelled demo set.

    techmatch evaluate links [--xquad ../shared/datasets/xquad_vi_en] [--json]

xquad: the 240 English and 240 Vietnamese paragraphs in one catalogue, each paragraph and its
translation a labelled pair (text only: the article title is the same English title in both languages
and for all five paragraphs of an article). The margin threshold is chosen there, five folds grouped by
article. Demo: every published offer and need through the service's own store and indexes, labelled
by scripts/demo_data/links.tsv; the near-duplicates' word-overlap threshold is chosen there, five folds
grouped by technology. Each figure says whether its thresholds saw the pairs it is measured on.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.settings import Settings
from core.taxonomy import ListingStatus
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument, listing_text
from indexes.encoder import Encoder
from matcher.link_evaluation import (
    PrecisionRecall,
    ScoredPair,
    candidate_pairs,
    fit_margins,
    fit_word_overlap,
    measure,
    out_of_fold,
    predictions,
)
from matcher.links import LinkRule
from models.listings import LISTING_MODELS
from scripts.demo import DEMO_DIR
from scripts.demo_eval import demo_service

LINKS_FILE = DEMO_DIR / "links.tsv"
XQUAD_OFFSET = 10_000  # Vietnamese paragraph i is document XQUAD_OFFSET + i, its English original i.


@dataclass
class LinkReport:
    shipped: LinkRule
    fitted: dict[str, float] = field(default_factory=dict)
    figures: dict[str, PrecisionRecall] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "shipped": asdict(self.shipped),
            "fitted_on_all": self.fitted,
            "figures": {name: figure.as_json() for name, figure in self.figures.items()},
            "how": self.notes,
        }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def xquad_pairs(
    folder: Path, *, encoder: Encoder, settings: Settings
) -> tuple[list[ScoredPair], set[tuple[int, int]]]:
    """Candidate pairs of the xquad paragraphs in one index, and the labelled translation pairs."""
    english = _read_jsonl(folder / "corpus_en.jsonl")
    vietnamese = {row["_id"]: row for row in _read_jsonl(folder / "corpus_vi.jsonl")}
    documents, article_of, texts, labelled = [], {}, {}, set()
    for position, row in enumerate(english):
        other = vietnamese[row["_id"]]
        for doc_id, text, language in (
            (position, row["text"], "en"),
            (XQUAD_OFFSET + position, other["text"], "vi"),
        ):
            documents.append(IndexDocument(doc_id, text, language=language))
            texts[doc_id] = text
            article_of[doc_id] = row["_id"].split("p")[0]
        labelled.add((position, XQUAD_OFFSET + position))
    with tempfile.TemporaryDirectory() as scratch:
        index = ListingIndex(kind="offers", root=Path(scratch), encoder=encoder, settings=settings)
        index.upsert(documents, show_progress=True)
        scored = candidate_pairs(index, texts, texts=texts, group_of=article_of.__getitem__)
    return scored, labelled


def demo_links() -> dict[str, dict[tuple[str, str], str]]:
    """kind -> (ref, ref) -> duplicate or translation, from the demo's labels."""
    labels: dict[str, dict[tuple[str, str], str]] = {"offers": {}, "needs": {}}
    with LINKS_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            labels[row["kind"]][(row["ref_a"], row["ref_b"])] = row["link_type"]
    return labels


def _clusters(pairs: dict[tuple[str, str], str]) -> dict[str, str]:
    """Each labelled ref's cluster, named by its smallest ref."""
    parent: dict[str, str] = {}

    def root(ref: str) -> str:
        while parent.setdefault(ref, ref) != ref:
            ref = parent[ref]
        return ref

    for first, second in pairs:
        low, high = sorted((root(first), root(second)))
        parent[high] = low
    return {ref: root(ref) for ref in list(parent)}


def demo_pairs(
    *, encoder: Encoder, settings: Settings
) -> tuple[list[ScoredPair], dict[str, set[tuple[int, int]]]]:
    """Candidate pairs among the demo's published offers and needs (ids offset per kind) and the labels."""
    labels = demo_links()
    scored: list[ScoredPair] = []
    labelled: dict[str, set[tuple[int, int]]] = {"duplicate": set(), "translation": set()}
    with demo_service(encoder=encoder, settings=settings) as (matcher, factory), factory() as session:
        for offset, (kind, model) in enumerate(LISTING_MODELS.items()):
            rows = (
                session.scalars(select(model).where(model.status == ListingStatus.PUBLISHED)).unique().all()
            )
            ref_of = {row.id: row.external_ref for row in rows}
            id_of = {ref: doc_id for doc_id, ref in ref_of.items()}
            texts = {
                row.id: listing_text(
                    title=row.title, keywords=row.keywords or [], description=row.description
                )
                for row in rows
            }
            cluster = _clusters(labels[kind])

            def group_of(
                doc_id: int, cluster: dict[str, str] = cluster, ref_of: dict[int, Any] = ref_of
            ) -> Hashable:
                # One technology's listings form one group, so a fold never splits a labelled cluster.
                return cluster.get(ref_of[doc_id], ref_of[doc_id])

            shift = offset * 1_000_000
            for item in candidate_pairs(matcher.indexes[kind], texts, texts=texts, group_of=group_of):  # type: ignore[arg-type]
                scored.append(
                    ScoredPair(
                        (item.pair[0] + shift, item.pair[1] + shift), item.evidence, (kind, item.group)
                    )
                )
            for (first, second), link_type in labels[kind].items():
                if first in id_of and second in id_of:
                    low, high = sorted((id_of[first], id_of[second]))
                    labelled[link_type].add((low + shift, high + shift))
    return scored, labelled


def _margins(scored: list[ScoredPair], labelled: set[tuple[int, int]]) -> dict[str, float]:
    plain, anchored = fit_margins(scored, labelled)
    return {"margin_threshold": plain, "anchored_margin_threshold": anchored}


def evaluate_links(*, encoder: Encoder, settings: Settings, xquad: Path) -> LinkReport:
    shipped = LinkRule()
    report = LinkReport(shipped=shipped)

    xq_scored, xq_labelled = xquad_pairs(xquad, encoder=encoder, settings=settings)
    report.figures["xquad translation (out of fold)"], _ = out_of_fold(
        xq_scored,
        xq_labelled,
        kind="translation",
        fit=lambda train, labelled: replace(shipped, **_margins(train, labelled)),
    )
    report.figures["xquad translation (shipped rule)"] = measure(
        predictions(xq_scored, shipped, "translation"), xq_labelled
    )
    report.figures["xquad duplicate (shipped rule; none exist)"] = measure(
        predictions(xq_scored, shipped, "duplicate"), set()
    )
    report.fitted.update(_margins(xq_scored, xq_labelled))

    demo_scored, demo_labelled = demo_pairs(encoder=encoder, settings=settings)
    duplicates, translations = demo_labelled["duplicate"], demo_labelled["translation"]
    report.figures["demo duplicate (out of fold)"], _ = out_of_fold(
        demo_scored,
        duplicates,
        kind="duplicate",
        fit=lambda train, labelled: replace(
            shipped, duplicate_word_overlap=fit_word_overlap(train, labelled, rule=shipped)
        ),
    )
    report.figures["demo duplicate (shipped rule)"] = measure(
        predictions(demo_scored, shipped, "duplicate"), duplicates
    )
    report.figures["demo translation (shipped rule)"] = measure(
        predictions(demo_scored, shipped, "translation"), translations
    )
    report.fitted["duplicate_word_overlap"] = round(
        fit_word_overlap(demo_scored, duplicates, rule=shipped), 4
    )
    report.notes = {
        "xquad translation (out of fold)": "both margin thresholds chosen (best F1) on 4 of 5 folds grouped by "
        "article, applied to the fifth",
        "xquad translation (shipped rule)": "in sample: the shipped margin was chosen on all of xquad",
        "xquad duplicate (shipped rule; none exist)": "every same-language link found is false",
        "demo duplicate (out of fold)": "word-overlap threshold chosen on 4 of 5 folds grouped by technology; "
        "margins from xquad",
        "demo duplicate (shipped rule)": "in sample for the word overlap (chosen on all demo pairs)",
        "demo translation (shipped rule)": "out of sample: the margins were chosen on xquad only",
    }
    return report


def format_links_report(report: LinkReport) -> str:
    lines = [
        f"shipped: margin ≥ {report.shipped.margin_threshold} (≥ {report.shipped.anchored_margin_threshold} "
        f"when a name or number is shared), duplicates also word overlap ≥ "
        f"{report.shipped.duplicate_word_overlap}; fitted on all labelled pairs: "
        + ", ".join(f"{name} {value}" for name, value in report.fitted.items()),
        "",
        f"{'setting':45} {'precision':>9} {'recall':>7} {'found':>6} {'correct':>7} {'labelled':>8}",
    ]
    for name, figure in report.figures.items():
        # With nothing labelled every link found is false: precision and recall say nothing, the count does.
        precision, recall = (
            (f"{figure.precision:9.3f}", f"{figure.recall:7.3f}")
            if figure.labelled
            else (f"{'-':>9}", f"{'-':>7}")
        )
        lines.append(
            f"{name:45} {precision} {recall} {figure.found:6d} {figure.correct:7d} {figure.labelled:8d}"
        )
    lines.append("")
    lines += [f"{name}: {note}" for name, note in report.notes.items()]
    return "\n".join(lines)
