"""The heavy, long-lived objects of one API process, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from models.events import ListingChangeFeed


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    change_feed: ListingChangeFeed
    extras: dict[str, Any] = field(default_factory=dict)
