"""Listings and organizations to and from .jsonl or .csv files, in one format both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scripts.commands.database import store

KindArg = Annotated[str, typer.Argument(help="offers, needs or organizations")]


def _check_kind(kind: str) -> None:
    if kind not in ("offers", "needs", "organizations"):
        raise typer.BadParameter(f"{kind!r} is not one of offers, needs, organizations", param_hint="KIND")


def import_command(
    kind: KindArg,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .jsonl or .csv file")],
    skip_invalid: Annotated[
        bool, typer.Option(help="import the valid rows even if some are rejected")
    ] = False,
) -> None:
    """Import listings or organizations; every row is validated and nothing is half-imported."""
    from models.base import refresh_statistics
    from scripts.transfer import import_file

    _check_kind(kind)
    with store() as session:
        report = import_file(session=session, path=path, kind=kind, skip_invalid=skip_invalid)  # type: ignore[arg-type]
        if report.rejected and not skip_invalid:
            session.rollback()
        elif report.created or report.updated:
            refresh_statistics(session=session, tables=[kind])
    for line, reason in report.rejected:
        typer.echo(f"rejected line {line}: {reason}", err=True)
    if report.rejected and not skip_invalid:
        typer.echo(
            f"{len(report.rejected)} invalid row(s): nothing imported (use --skip-invalid to import the rest)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{kind}: {report.created} created, {report.updated} updated, {len(report.rejected)} rejected")


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
