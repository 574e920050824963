"""The engine's per-connection settings on each store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from models.base import make_engine
from tests.conftest import empty_database


@pytest.mark.postgres
def test_postgres_connections_plan_each_statement_for_its_values(tmp_path: Path) -> None:
    """A statement psycopg prepared must not get PostgreSQL's one-plan-for-any-value: the change poll's
    `updated_at >= $1` then scanned every listing instead of reading the index."""
    with empty_database("postgres", sqlite_file=tmp_path / "unused.db") as url:
        engine = make_engine(url, lock_timeout_seconds=1.5)
        with engine.connect() as connection:
            settings = dict(
                connection.execute(
                    text(
                        "SELECT name, setting FROM pg_settings WHERE name IN ('plan_cache_mode', 'lock_timeout')"
                    )
                ).all()
            )
        engine.dispose()
    assert settings == {"plan_cache_mode": "force_custom_plan", "lock_timeout": "1500"}


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
    engine.dispose()
    assert (journal, foreign_keys) == ("wal", 1)
