"""`techmatch create-user` makes the first admin; load-demo makes one person per role who can sign in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.settings import get_settings
from core.taxonomy import Role
from models.base import make_engine, make_session_factory
from models.users import authenticate_password, get_user_by_email
from scripts.cli import app as cli
from scripts.demo import DEMO_USERS


@pytest.fixture
def runner(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TECHMATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("TECHMATCH_EMBEDDING_MODEL", "fake:32")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def session(runner: CliRunner, database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as db:
        yield db
    engine.dispose()


def test_create_user_prompts_for_the_password_and_the_user_signs_in(
    runner: CliRunner, session: Session
) -> None:
    result = runner.invoke(
        cli, ["create-user", "--email", "Chief@Exchange.vn"], input="a long password\na long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "chief@exchange.vn (admin) created" in result.output
    user = authenticate_password(session=session, email="chief@exchange.vn", password="a long password")
    assert user is not None and user.role == Role.ADMIN and user.organization_id is None
    assert (
        authenticate_password(session=session, email="chief@exchange.vn", password="wrong password") is None
    )

    again = runner.invoke(
        cli, ["create-user", "--email", "chief@exchange.vn"], input="another password\nanother password\n"
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(cli, ["create-user", "--email", "b@exchange.vn"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    member = runner.invoke(
        cli,
        ["create-user", "--email", "m@x.vn", "--role", "enterprise_member"],
        input="a long password\na long password\n",
    )
    assert member.exit_code != 0 and "organization" in member.output


def test_load_demo_creates_one_user_per_role_with_the_documented_passwords(
    runner: CliRunner, session: Session
) -> None:
    first = runner.invoke(cli, ["load-demo"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(cli, ["load-demo"]).exit_code == 0  # idempotent
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for role, (email, password, slug) in DEMO_USERS.items():
        user = authenticate_password(session=session, email=email, password=password)
        assert user is not None and user.role == role
        assert (user.organization.slug if user.organization else None) == slug
        assert f"`{email}` | `{password}`" in readme
        assert get_user_by_email(session=session, email=email.upper()) is not None
