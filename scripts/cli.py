"""`techmatch`: the command line of the matching engine."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy.orm import Session

from core.settings import get_settings
from core.taxonomy import Role
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from models.organizations import create_api_key, get_organization_by_slug

app = typer.Typer(help="Technology-transfer matching engine: store, indexes, matching and broker tools.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

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
    from scripts.demo import DEMO_KEYS, load_demo

    with store() as session:
        reports = load_demo(session=session)
    for kind, report in reports.items():
        typer.echo(f"{kind}: {report.created} created, {report.updated} updated")
    typer.echo("demo API keys (use as `Authorization: Bearer <key>`):")
    for role, (raw_key, _slug) in DEMO_KEYS.items():
        typer.echo(f"  {role.value:18} {raw_key}")


@app.command("import")
def import_command(
    kind: KindArg,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .jsonl or .csv file")],
    skip_invalid: Annotated[bool, typer.Option(help="import the valid rows even if some are rejected")] = False,
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
        typer.echo(f"{len(report.rejected)} invalid row(s): nothing imported (use --skip-invalid to import the rest)",
                   err=True)
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
        organization_id = None
        if org is not None:
            organization = get_organization_by_slug(session=session, slug=org)
            if organization is None:
                raise typer.BadParameter(f"no organization with slug {org!r}", param_hint="--org")
            organization_id = organization.id
        elif role in (Role.INSTITUTE_MEMBER, Role.ENTERPRISE_MEMBER):
            raise typer.BadParameter("members belong to an organization", param_hint="--org")
        _api_key, raw_key = create_api_key(session=session, role=role, name=name, organization_id=organization_id)
    typer.echo(raw_key)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    demo: Annotated[bool, typer.Option(help="load the demo data first")] = False,
) -> None:
    """Run the API server (migrating the database first)."""
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if demo:
        load_demo_command()
    uvicorn.run(create_app(get_settings()), host=host, port=port)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
