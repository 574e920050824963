"""`techmatch`: the command line of the matching engine.

The commands live in scripts/commands/ by theme (database, files, maintenance, evaluation, serving);
this module builds the Typer app from them and is the entry point (`techmatch`, `python -m scripts.cli`).
"""

from __future__ import annotations

import typer

from indexes.errors import EncoderUnavailableError
from scripts.commands import database, evaluation, files, maintenance, serving

app = typer.Typer(
    help="Technology-transfer matching engine: store, indexes, matching and broker tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# The benchmarks read their own options: typer passes them through untouched.
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}

# In the order `techmatch --help` lists them.
app.command("init-db")(database.init_db)
app.command("load-demo")(database.load_demo_command)
app.command("import")(files.import_command)
app.command("export")(files.export_command)
app.command("create-key")(database.create_key)
app.command("create-user")(database.create_user_command)
app.command("reindex")(maintenance.reindex)
app.command("suggest")(maintenance.suggest)
app.command("links")(maintenance.links)
app.command("train-ranker")(evaluation.train_ranker)
app.command("deliver-webhooks")(maintenance.deliver_webhooks)
app.command("evaluate")(evaluation.evaluate)
app.command("calibrate")(evaluation.calibrate)
app.command("event-schedule")(maintenance.event_schedule)
app.command("bench-events", context_settings=PASS_THROUGH)(evaluation.bench_events)
app.command("bench-index", context_settings=PASS_THROUGH)(evaluation.bench_index)
app.command("serve")(serving.serve)


def main() -> None:  # pragma: no cover
    try:
        app()
    except EncoderUnavailableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()
