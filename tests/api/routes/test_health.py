"""/healthz: a bare status for everyone, details for staff, and 503 whenever the service is degraded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from api.runtime import Runtime
from tests.api.conftest import World, offer_body

HEALTH = "/api/v1/healthz"


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def test_anonymous_callers_see_the_status_only(client: TestClient, world: World) -> None:
    anonymous = client.get(HEALTH)
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    assert client.get(HEALTH, headers=world.auth("inst-a")).json() == {"status": "ok"}
    staff = client.get(HEALTH, headers=world.auth("broker")).json()
    assert staff["status"] == "ok" and staff["problems"] == []
    assert staff["database"] in ("sqlite", "postgresql")
    assert set(staff["indexes"]) == {"offers", "needs"}


def test_a_dead_index_worker_is_a_503(client: TestClient, world: World) -> None:
    runtime_of(client).index_sync.close()
    response = client.get(HEALTH, headers=world.auth("admin"))
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert "index-sync worker is not running" in response.json()["problems"]
    assert client.get(HEALTH).json() == {"status": "degraded"}


@pytest.fixture
def stuck_index(client: TestClient) -> Iterator[threading.Event]:
    """The index worker blocked in the middle of a change, as on a hung disk."""
    release = threading.Event()
    changes = runtime_of(client).index_sync._changes
    handle = changes.handle
    changes.handle = lambda batch: (release.wait(10), handle(batch))
    yield release
    release.set()


def test_indexes_lagging_the_store_are_a_503(
    client: TestClient, world: World, stuck_index: threading.Event
) -> None:
    runtime = runtime_of(client)
    runtime.settings.health_max_index_lag_seconds = 0.05
    assert client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a")).status_code == 201
    threading.Event().wait(0.1)
    response = client.get(HEALTH, headers=world.auth("admin"))
    assert response.status_code == 503
    assert any(problem.startswith("indexes lag the store") for problem in response.json()["problems"])
    stuck_index.set()
    assert runtime.index_sync.wait_idle(10)
    assert client.get(HEALTH).status_code == 200


def test_an_unreachable_database_is_a_503(client: TestClient, tmp_path: Path) -> None:
    # A database file in a directory that does not exist cannot be opened: every connection fails.
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    runtime_of(client).session_factory = sessionmaker(bind=unreachable)
    response = client.get(HEALTH)
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
