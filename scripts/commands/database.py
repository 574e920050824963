"""The database and its accounts: migrating it, the demo data, API keys and users."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer
from sqlalchemy.orm import Session

from core.access import key_problem
from core.settings import get_settings
from core.taxonomy import Role
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from models.organizations import create_api_key, get_organization_by_slug


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


def init_db() -> None:
    """Create or migrate the database to the latest schema."""
    with store():
        pass
    typer.echo(f"database ready: {get_settings().sqlalchemy_url}")


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


def create_user_command(
    email: Annotated[str, typer.Option(help="the person's email, used to sign in")],
    role: Annotated[Role, typer.Option(help="role of the user")] = Role.ADMIN,
    org: Annotated[Optional[str], typer.Option(help="organization slug (required for members)")] = None,  # noqa: UP045
    name: Annotated[str, typer.Option(help="name shown on the pages")] = "",
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="TECHMATCH_NEW_PASSWORD"),
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
