"""Bringing what derives from the store up to date by hand: indexes, suggestions, links, webhooks, schedules.

The API's background workers do the same while it runs; these commands serve nightly runs and operators.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Optional

import typer

from core.settings import get_settings
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from scripts.commands.serving import LOG_FORMAT


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


def suggest(
    changed: Annotated[
        bool,
        typer.Option("--changed", help="only listings written since the last run (every one on the first)"),
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


def deliver_webhooks(
    once: Annotated[bool, typer.Option(help="one pass over what is due, then exit")] = False,
) -> None:
    """Deliver pending webhook notifications in the foreground (the API does so with background workers)."""
    import threading

    from api.webhooks import WebhookDeliverer

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
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
