"""Liveness and readiness of the service and what it runs on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import RuntimeDep, SessionDep

router = APIRouter()


@router.get("/healthz", summary="Service health")
def healthz(runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    report: dict[str, Any] = {"status": "ok", "database": runtime.engine.dialect.name}
    report["indexes"] = {kind: index.health() for kind, index in runtime.index_sync.indexes.items()}
    report["ranker_version"] = runtime.matcher.ranker_version
    for name, component in runtime.components.items():
        describe = getattr(component, "health", None)
        if callable(describe):
            report[name] = describe()
    return report
