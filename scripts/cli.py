"""`techmatch`: the command line of the matching engine."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy.orm import Session

from core.access import key_problem
from core.settings import get_settings
from core.taxonomy import Role
from indexes.errors import EncoderUnavailableError
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from models.organizations import create_api_key, get_organization_by_slug

app = typer.Typer(
    help="Technology-transfer matching engine: store, indexes, matching and broker tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

KindArg = Annotated[str, typer.Argument(help="offers, needs or organizations")]


@contextmanager
def store() -> Iterator[Session]:
    """A migrated database and one transaction over it: committed on success, rolled back on error."""
    engine = make_engine(get_settings().sqlalchemy_url)
    upgrade(engine)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _check_kind(kind: str) -> None:
    if kind not in ("offers", "needs", "organizations"):
        raise typer.BadParameter(f"{kind!r} is not one of offers, needs, organizations", param_hint="KIND")


@app.command("init-db")
def init_db() -> None:
    """Create or migrate the database to the latest schema."""
    with store():
        pass
    typer.echo(f"database ready: {get_settings().sqlalchemy_url}")


@app.command("load-demo")
def load_demo_command() -> None:
    """Load the bilingual demo data set and the demo API keys (safe to run twice)."""
    from scripts.demo import DEMO_KEYS, DEMO_USERS, load_demo

    with store() as session:
        reports = load_demo(session=session)
    for kind, report in reports.items():
        typer.echo(f"{kind}: {report.created} created, {report.updated} updated")
    typer.echo("demo API keys (use as `Authorization: Bearer <key>`):")
    for role, (raw_key, _slug) in DEMO_KEYS.items():
        typer.echo(f"  {role.value:18} {raw_key}")
    typer.echo("demo users of the floor (email / password):")
    for role, (email, password, _slug) in DEMO_USERS.items():
        typer.echo(f"  {role.value:18} {email} / {password}")


@app.command("import")
def import_command(
    kind: KindArg,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .jsonl or .csv file")],
    skip_invalid: Annotated[
        bool, typer.Option(help="import the valid rows even if some are rejected")
    ] = False,
) -> None:
    """Import listings or organizations; every row is validated and nothing is half-imported."""
    from scripts.transfer import import_file

    _check_kind(kind)
    with store() as session:
        report = import_file(session=session, path=path, kind=kind, skip_invalid=skip_invalid)  # type: ignore[arg-type]
        if report.rejected and not skip_invalid:
            session.rollback()
    for line, reason in report.rejected:
        typer.echo(f"rejected line {line}: {reason}", err=True)
    if report.rejected and not skip_invalid:
        typer.echo(
            f"{len(report.rejected)} invalid row(s): nothing imported (use --skip-invalid to import the rest)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{kind}: {report.created} created, {report.updated} updated, {len(report.rejected)} rejected")


@app.command("export")
def export_command(
    kind: KindArg,
    path: Annotated[Path, typer.Argument(dir_okay=False, help="a .jsonl or .csv file to write")],
) -> None:
    """Export listings or organizations in the import format."""
    from scripts.transfer import export_rows, write_rows

    _check_kind(kind)
    with store() as session:
        count = write_rows(export_rows(session=session, kind=kind), path)  # type: ignore[arg-type]
    typer.echo(f"{count} {kind} written to {path}")


@app.command("create-key")
def create_key(
    role: Annotated[Role, typer.Option(help="role of the key")],
    name: Annotated[str, typer.Option(help="who or what uses the key")],
    org: Annotated[Optional[str], typer.Option(help="organization slug (required for members)")] = None,  # noqa: UP045
) -> None:
    """Issue an API key; the key is printed once and stored only as a hash."""
    with store() as session:
        organization = None
        if org is not None:
            organization = get_organization_by_slug(session=session, slug=org)
            if organization is None:
                raise typer.BadParameter(f"no organization with slug {org!r}", param_hint="--org")
        problem = key_problem(role, organization.kind if organization else None)
        if problem:
            raise typer.BadParameter(problem, param_hint="--org")
        _api_key, raw_key = create_api_key(
            session=session, role=role, name=name, organization_id=organization.id if organization else None
        )
    typer.echo(raw_key)


@app.command("create-user")
def create_user_command(
    email: Annotated[str, typer.Option(help="the person's email, used to sign in")],
    role: Annotated[Role, typer.Option(help="role of the user")] = Role.ADMIN,
    org: Annotated[Optional[str], typer.Option(help="organization slug (required for members)")] = None,  # noqa: UP045
    name: Annotated[str, typer.Option(help="name shown on the pages")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="TECHMATCH_NEW_PASSWORD")
    ] = "",
) -> None:
    """Create a user who signs in to the floor with a password (the first admin; others are invited)."""
    from models.errors import StoreError
    from models.users import create_user

    with store() as session:
        organization = None
        if org is not None:
            organization = get_organization_by_slug(session=session, slug=org)
            if organization is None:
                raise typer.BadParameter(f"no organization with slug {org!r}", param_hint="--org")
        try:
            user = create_user(
                session=session,
                email=email,
                password=password,
                role=role,
                organization_id=organization.id if organization else None,
                display_name=name,
            )
        except StoreError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"user {user.email} ({user.role.value}) created")


@app.command()
def reindex(
    full: Annotated[bool, typer.Option(help="drop the saved indexes and re-encode everything")] = False,
) -> None:
    """Bring the offer and need indexes in line with the store (only what changed, unless --full)."""
    from api.indexing import build_index_sync
    from indexes.encoder import build_encoder

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    sync = build_index_sync(
        settings=settings, encoder=build_encoder(settings), session_factory=make_session_factory(engine)
    )
    report = sync.rebuild(show_progress=True) if full else sync.reconcile(show_progress=True)
    for kind, (encoded, removed) in report.items():
        typer.echo(f"{kind}: {encoded} encoded, {removed} removed, {len(sync.indexes[kind])} in the index")
    engine.dispose()


# When `techmatch suggest` last started, for --changed (in data_dir: it belongs to that store's run).
SUGGEST_MARK = "suggest-last-run.txt"


@app.command()
def suggest(
    changed: Annotated[
        bool, typer.Option("--changed", help="only listings written since the last run (every one on the first)")
    ] = False,
    since: Annotated[
        Optional[datetime],  # noqa: UP045
        typer.Option(help="only listings written at or after this time (UTC unless it says otherwise)"),
    ] = None,
) -> None:
    """Recompute the suggested matches of published needs and offers (decided pairs stay decided).

    By default every listing against the catalogue; with --changed or --since only the listings written
    since then, each against the catalogue, so a nightly run costs the day's changes, not the catalogue.
    """
    from api.app import build_runtime
    from api.suggestions import SuggestionWorker

    settings = get_settings()
    mark = settings.data_dir / SUGGEST_MARK
    if changed and since is None and mark.exists():
        since = datetime.fromisoformat(mark.read_text().strip())
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    started = datetime.now(UTC)
    runtime = build_runtime(settings.model_copy(update={"background_workers": False}))
    try:
        worker = SuggestionWorker(
            settings=runtime.settings, session_factory=runtime.session_factory, matcher=runtime.matcher
        )
        outcomes = worker.recompute_all() if since is None else worker.recompute_changed(since=since)
    finally:
        runtime.index_sync.close()
        runtime.engine.dispose()
    # The start, not the end: a listing written during the run is matched again next time.
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(started.isoformat())
    scope = "every listing" if since is None else f"listings written since {since.isoformat()}"
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    typer.echo(f"{scope}: {summary or 'no suggestions'}")


@app.command()
def links() -> None:
    """Find the duplicates and translations of every published listing again (dismissed links stay dismissed)."""
    from api.app import build_runtime
    from api.links import LinkWorker

    runtime = build_runtime(get_settings().model_copy(update={"background_workers": False}))
    try:
        worker = LinkWorker(session_factory=runtime.session_factory, indexes=runtime.index_sync.indexes)
        outcomes = worker.recompute_all()
    finally:
        runtime.index_sync.close()
        runtime.engine.dispose()
    summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()) if count)
    typer.echo(summary or "no links")
    if outcomes["failed"]:
        raise typer.Exit(1)


@app.command("train-ranker")
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


@app.command("deliver-webhooks")
def deliver_webhooks(
    once: Annotated[bool, typer.Option(help="one pass over what is due, then exit")] = False,
) -> None:
    """Deliver pending webhook notifications in the foreground (the API does so with background workers)."""
    import threading

    from api.webhooks import WebhookDeliverer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    deliverer = WebhookDeliverer(settings=settings, session_factory=make_session_factory(engine))
    try:
        if once:
            typer.echo(f"{deliverer.deliver_due()} delivered")
            return
        deliverer.start()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        deliverer.close()
        engine.dispose()


@app.command()
def evaluate(
    dataset_dir: Annotated[
        str,
        typer.Argument(help='a BEIR folder, "demo" for the judged demo set, "links" for duplicate and translation links'),
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


@app.command()
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


@app.command("event-schedule")
def event_schedule(
    event_id: Annotated[int, typer.Argument(help="the matchmaking event's id", min=1)],
    time_limit: Annotated[
        float | None,
        typer.Option(help="optimiser seconds (default: TECHMATCH_EVENT_SOLVER_SECONDS)", min=0.1),
    ] = None,
    rescore: Annotated[bool, typer.Option(help="score the participants' listings again (else reuse)")] = True,
) -> None:
    """(Re-)optimise a matchmaking event's schedule, keeping confirmed meetings (as the API's schedule)."""
    from api.app import build_runtime
    from api.event_planning import schedule_event
    from models.errors import StoreError
    from models.event_participants import get_event

    runtime = build_runtime(get_settings().model_copy(update={"background_workers": False}))
    try:
        with transaction(runtime.session_factory) as session:
            event = get_event(session=session, event_id=event_id, lock=True)
            report = schedule_event(
                session=session,
                event=event,
                time_limit=time_limit or runtime.settings.event_solver_seconds,
                matcher=runtime.matcher if rescore else None,
            )
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.index_sync.close()
        runtime.engine.dispose()
    typer.echo(
        f"{report.meetings} meetings ({report.confirmed_kept} confirmed kept, {report.requests_placed}/"
        f"{report.requests_accepted} accepted requests placed, {report.proposals_placed} proposals) by "
        f"{report.method} in {report.seconds:.2f} s; value {report.value} (greedy {report.greedy_value}); "
        f"{report.agendas_changed} agendas changed"
    )


@app.command("bench-events", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_events(ctx: typer.Context) -> None:
    """Matchmaking-event schedules, CP-SAT against greedy; options as `python -m scripts.bench_events --help`."""
    from scripts.bench_events import main as run_benchmark

    run_benchmark(list(ctx.args))


@app.command("bench-index", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_index(ctx: typer.Context) -> None:
    """Vector index and encoder benchmark; options as `python -m scripts.bench_index --help`."""
    from scripts.bench_index import main as run_benchmark

    run_benchmark(list(ctx.args))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    demo: Annotated[bool, typer.Option(help="load the demo data first")] = False,
    workers: Annotated[
        Optional[int],  # noqa: UP045 (typer reads the annotation)
        typer.Option(min=1, max=64, help="API processes (default: TECHMATCH_API_WORKERS, else 1)"),
    ] = None,
) -> None:
    """Run the API server (migrating the database first); several workers share one data directory."""
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if demo:
        load_demo_command()
    settings = get_settings()
    count = workers or settings.api_workers
    if count == 1:
        uvicorn.run(create_app(settings.model_copy(update={"api_workers": 1})), host=host, port=port)
        return
    # Each worker builds its own app from the environment, where it learns how many they are.
    os.environ["TECHMATCH_API_WORKERS"] = str(count)
    uvicorn.run("api.app:create_app", factory=True, workers=count, host=host, port=port)


def main() -> None:  # pragma: no cover
    try:
        app()
    except EncoderUnavailableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
