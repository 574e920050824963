"""Declarative base, engine and session factory for the relational store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Explicit constraint names so that alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, lock_timeout_seconds: float = 5.0) -> Engine:
    """Engine for `url`; SQLite gets its directory created, foreign keys and WAL for concurrent readers.

    A statement waiting longer than `lock_timeout_seconds` for a lock fails (the API answers 503)
    instead of holding its request, and a worker thread, indefinitely.
    """
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # A pooled PostgreSQL connection may have been closed by the server; a SQLite file's cannot, so
    # pinging it cost a statement per request for nothing.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    timeout_ms = max(1, int(lock_timeout_seconds * 1000))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
            cursor.close()

    elif engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _postgres_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET lock_timeout = {timeout_ms}")
            # psycopg prepares a statement run five times, and PostgreSQL then plans it once for any
            # parameters: "updated_at >= $1" became a scan of every listing (17 ms at 10^5, each
            # worker's change poll 8 times a second) where the value at hand reads a few index entries.
            cursor.execute("SET plan_cache_mode = force_custom_plan")
            cursor.close()
            # Committed, or the rollback that returns the connection to the pool would undo it.
            dbapi_connection.commit()

    return engine


def refresh_statistics(*, session: Session, tables: Iterable[str]) -> None:
    """ANALYZE `tables` after a bulk write, on PostgreSQL: its planner keeps the row counts it last
    sampled until autovacuum wakes (never, where it is off), and after 10^5 new offers it read every
    published offer for a filtered list (31 ms instead of 0.4). SQLite plans without statistics."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f'ANALYZE "{Base.metadata.tables[table].name}"'))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error, so nothing is half-written."""
    with factory() as session, session.begin():
        yield session
