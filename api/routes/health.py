"""Liveness and readiness: 200 while the service answers correctly, 503 (for load balancers) when not."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import RuntimeDep, ViewerDep
from api.runtime import Runtime
from api.schemas.health import HealthRead

router = APIRouter()

# A database that was locked or down this recently is reported, although `SELECT 1` may pass again:
# a lock blocks writers while readers still get through.
STORE_TROUBLE_WINDOW_SECONDS = 30.0


def problems_of(runtime: Runtime) -> list[str]:
    """What keeps the service from answering correctly now; empty when healthy."""
    found = []
    try:
        with runtime.session_factory() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        found.append(f"database unreachable ({type(exc).__name__})")
    trouble_at = runtime.store_unavailable_at
    if trouble_at is not None and time.monotonic() - trouble_at < STORE_TROUBLE_WINDOW_SECONDS:
        found.append("database locked or unavailable within the last 30 s")
    if not runtime.index_sync.is_alive():
        found.append("index-sync worker is not running")
    lag = runtime.index_sync.lag_seconds()
    if lag > runtime.settings.health_max_index_lag_seconds:
        found.append(f"indexes lag the store by {lag:.0f} s")
    for name, component in runtime.components.items():
        alive = getattr(component, "is_alive", None)
        if callable(alive) and not alive():
            found.append(f"{name} worker is not running")
        trouble = getattr(component, "problems", None)
        if callable(trouble):
            found.extend(trouble())
    return found


def details_of(runtime: Runtime) -> dict[str, Any]:
    workers: dict[str, Any] = {"index_sync": {"lag_seconds": round(runtime.index_sync.lag_seconds(), 3)}}
    for name, component in runtime.components.items():
        describe = getattr(component, "health", None)
        if callable(describe):
            try:
                workers[name] = describe()
            except SQLAlchemyError as exc:
                workers[name] = {"error": type(exc).__name__}
    return {
        "role": runtime.role,
        "database": runtime.engine.dialect.name,
        "indexes": {kind: index.health() for kind, index in runtime.index_sync.indexes.items()},
        "ranker_version": runtime.matcher.ranker_version,
        "workers": workers,
        "search_slots": runtime.search_slots.health(),
    }


@router.get(
    "/healthz",
    response_model=HealthRead,
    response_model_exclude_none=True,
    summary="Service health (details for staff)",
    responses={
        503: {
            "model": HealthRead,
            "description": "Degraded: a worker is down, indexes lag or the database is unavailable",
        }
    },
)
def healthz(runtime: RuntimeDep, viewer: ViewerDep, response: Response) -> HealthRead:
    problems = problems_of(runtime)
    if problems:
        response.status_code = 503
    health = HealthRead(status="degraded" if problems else "ok")
    if viewer.is_staff:
        health = HealthRead(status=health.status, problems=problems, **details_of(runtime))
    return health
