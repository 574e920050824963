"""The heavy, long-lived objects of one API process, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from indexes.sync import IndexSync
from matcher.service import Matcher
from models.events import ListingChangeFeed


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    change_feed: ListingChangeFeed
    index_sync: IndexSync
    matcher: Matcher
    # Background components with optional `health()`, `is_alive()` and `close()`, reported by /healthz.
    components: dict[str, Any] = field(default_factory=dict)
    # When (monotonic) a request last found the database locked or unreachable; /healthz reports it.
    store_unavailable_at: float | None = None
