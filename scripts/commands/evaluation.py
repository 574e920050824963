"""Measuring and learning: retrieval evaluation, calibration, training the ranker, the benchmarks.

The default ranker is calibrated on the demo judgments; a trained one on broker decisions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings
from scripts.commands.database import store


def train_ranker() -> None:
    """Fit the ranker on broker decisions; activate it only if it beats the active one on held-out data."""
    import numpy as np

    from matcher.features import FEATURE_NAMES
    from matcher.registry import METRIC, train_and_promote
    from models.match_decisions import broker_decisions

    settings = get_settings()
    with store() as session:
        decisions = [d for d in broker_decisions(session=session) if d.feature_names == list(FEATURE_NAMES)]
    positives = sum(d.label for d in decisions)
    negatives = len(decisions) - positives
    # Each class needs a few samples on both sides of the stratified split.
    if len(decisions) < settings.ranker_min_decisions or min(positives, negatives) < 4:
        typer.echo(
            f"Not enough broker decisions to learn from yet: {len(decisions)} usable "
            f"({positives} positive, {negatives} negative); {settings.ranker_min_decisions} "
            "with at least 4 of each are needed. The current ranker stays active."
        )
        return
    report = train_and_promote(
        settings.ranker_dir,
        np.array([d.features for d in decisions]),
        np.array([d.label for d in decisions]),
        np.array([d.weight for d in decisions]),
    )
    typer.echo(
        f"trained {report.version} on {report.n_train} decisions; held-out {METRIC} on "
        f"{report.n_holdout}: {report.candidate_metric:.4f} vs {report.active_metric:.4f} "
        f"for {report.active_version}"
    )
    typer.echo(
        f"promoted {report.version}: restart the API to use it"
        if report.promoted
        else f"not better: {report.active_version} stays active"
    )


def evaluate(
    dataset_dir: Annotated[
        str,
        typer.Argument(
            help='a BEIR folder, "demo" for the judged demo set, "links" for duplicate and translation links'
        ),
    ],
    qrels: Annotated[
        str | None,
        typer.Option(help="qrels file inside the folder (default: qrels/test.tsv or the only one)"),
    ] = None,
    corpus: Annotated[str, typer.Option(help="corpus file inside the folder")] = "corpus.jsonl",
    queries: Annotated[str, typer.Option(help="queries file inside the folder")] = "queries.jsonl",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")] = False,
    xquad: Annotated[
        Path, typer.Option(help='with "links": the xquad_vi_en folder (parallel paragraphs)')
    ] = Path("../shared/datasets/xquad_vi_en"),
) -> None:
    """nDCG@10, Recall@100 and MRR@10 of bm25, dense and the shipped hybrid, side by side;
    `evaluate links`: precision and recall of duplicate and translation links."""
    from indexes.encoder import build_encoder
    from scripts.demo_eval import evaluate_demo, format_report
    from scripts.evaluate import evaluate_beir, format_table

    settings = get_settings()
    encoder = build_encoder(settings)
    if dataset_dir == "links":
        from matcher.evaluation import CachedEncoder
        from scripts.link_eval import evaluate_links, format_links_report

        if not xquad.is_dir():
            raise typer.BadParameter(f"{xquad} is not a directory", param_hint="--xquad")
        cached = CachedEncoder(encoder, settings.data_dir / "cache" / "embeddings")
        link_report = evaluate_links(encoder=cached, settings=settings, xquad=xquad)
        typer.echo(json.dumps(link_report.as_json()) if as_json else format_links_report(link_report))
        return
    if dataset_dir == "demo":
        report = evaluate_demo(encoder=encoder, settings=settings)
        typer.echo(json.dumps(report.as_json()) if as_json else format_report(report))
        return
    else:
        folder = Path(dataset_dir)
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder} is not a directory", param_hint="DATASET_DIR")
        results = evaluate_beir(
            folder, encoder=encoder, settings=settings, qrels=qrels, corpus=corpus, queries=queries
        )
    typer.echo(json.dumps(results) if as_json else format_table(results))


def calibrate(
    write: Annotated[
        bool, typer.Option(help="save the fitted weights as the shipped default ranker")
    ] = False,
) -> None:
    """Fit the default ranker on the demo judgments; print its out-of-fold report (and save it with --write)."""
    from indexes.encoder import build_encoder
    from scripts.demo_eval import (
        collect_pairs,
        evaluate_demo,
        fit_default_ranker,
        format_report,
        write_default_ranker,
    )

    settings = get_settings()
    encoder = build_encoder(settings)
    pairs = collect_pairs(encoder=encoder, settings=settings)
    report = evaluate_demo(encoder=encoder, settings=settings, pairs=pairs)
    spec = fit_default_ranker(pairs, report=report, model_name=encoder.model_name)
    typer.echo(format_report(report))
    typer.echo(json.dumps(spec["weights"], indent=1))
    if write:
        typer.echo(f"wrote {write_default_ranker(spec)}")


def bench_events(ctx: typer.Context) -> None:
    """Matchmaking-event schedules, CP-SAT against greedy; options as `python -m scripts.bench_events --help`."""
    from scripts.bench_events import main as run_benchmark

    run_benchmark(list(ctx.args))


def bench_index(ctx: typer.Context) -> None:
    """Vector index and encoder benchmark; options as `python -m scripts.bench_index --help`."""
    from scripts.bench_index import main as run_benchmark

    run_benchmark(list(ctx.args))
