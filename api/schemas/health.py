"""The body of /healthz: a status for everyone, the details behind it for staff."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    # Staff only: index counts and worker counters say how many hidden listings exist.
    problems: list[str] | None = None
    # With several API workers per node: "leader" (saves the indexes, runs the workers) or "follower".
    role: str | None = None
    database: str | None = None
    indexes: dict[str, Any] | None = None
    ranker_version: str | None = None
    workers: dict[str, Any] | None = None
    # This process's admission to searches: slots, how many wait, how many were turned away (503).
    search_slots: dict[str, int] | None = None
