"""The one error shape, kept small whatever the input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from core.settings import Settings
from tests.api.conftest import World, need_body, offer_body

NEEDS = "/api/v1/needs"


def test_many_unknown_keys_are_one_short_error(client: TestClient, world: World) -> None:
    body = {**need_body(), **{f"k{i}": i for i in range(50_000)}}
    response = client.post(NEEDS, json=body, headers=world.auth("ent-a"))
    assert response.status_code == 422
    assert len(response.content) < 4_000
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "'k0'" in error["message"] and "49990 more" in error["message"]
    assert len(error["details"]) == 1


def test_reported_problems_are_capped(client: TestClient, world: World, settings: Settings) -> None:
    body = need_body(keywords=[""] * 30, transfer_types=["nope"] * 5, sector="nope", min_trl=99)
    response = client.post(NEEDS, json=body, headers=world.auth("ent-a"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["details"]) == settings.max_reported_errors
    assert "more problem(s) not listed" in error["message"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Locks are given up after 0.3 s here, so that the locked-database test is quick."""
    return settings.model_copy(update={"database_lock_timeout_seconds": 0.3})


@pytest.fixture
def locked_offers(settings: Settings) -> Iterator[None]:
    """Another process holding the write lock on the offers table (SQLite: on the whole file)."""
    engine = create_engine(settings.sqlalchemy_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as holder:
        if holder.dialect.name == "sqlite":
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            holder.exec_driver_sql("BEGIN")
            holder.exec_driver_sql("LOCK TABLE offers IN ACCESS EXCLUSIVE MODE")
        yield
        holder.exec_driver_sql("ROLLBACK")
    engine.dispose()


def test_a_locked_database_is_a_503_with_retry_after(
    client: TestClient, world: World, settings: Settings, locked_offers: None
) -> None:
    response = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(settings.store_retry_after_seconds)
    assert response.json()["error"]["code"] == "unavailable"
    assert client.get("/api/v1/healthz").status_code == 503
