"""The heavy, long-lived objects of one API process, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.leadership import Leadership
from api.listing_views import ListingViews
from api.record_cache import RecordCache
from api.search_slots import SearchSlots
from core.settings import Settings
from indexes.sync import IndexSync
from matcher.records import ListingFacts, ListingRecord
from matcher.service import Matcher
from models.events import ListingChangeFeed
from models.facets import ListingFacets


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    change_feed: ListingChangeFeed
    index_sync: IndexSync
    matcher: Matcher
    # Queries' and shown results' records, dropped as their listings change (api/record_cache.py).
    records: RecordCache[ListingRecord] = field(default_factory=lambda: RecordCache(capacity=0))
    # Match candidates' facts (records without text), dropped likewise.
    facts: RecordCache[ListingFacts] = field(default_factory=lambda: RecordCache(capacity=0))
    # Result pages' listings as the API shows them, dropped likewise (api/listing_views.py).
    views: ListingViews = field(default_factory=lambda: ListingViews(capacity=0))
    # Admission to searches, matches and listing pages (api/search_slots.py).
    search_slots: SearchSlots = field(default_factory=lambda: SearchSlots(slots=1, queue_limit=200))
    # Lists' totals, counted in memory and re-read as listings change (models/facets.py); None: in SQL.
    facets: ListingFacets | None = None
    # Background components with optional `health()`, `is_alive()` and `close()`, reported by /healthz.
    components: dict[str, Any] = field(default_factory=dict)
    # When (monotonic) a request last found the database locked or unreachable; /healthz reports it.
    store_unavailable_at: float | None = None
    # The claim on the leader lock, with several API workers (settings.api_workers); None when alone.
    leadership: Leadership | None = None

    @property
    def role(self) -> str | None:
        """Leader or follower among the node's API workers; None when this process is alone."""
        if self.leadership is None:
            return None
        return "leader" if self.leadership.is_leader else "follower"
