"""The FastAPI application: builds the runtime once in the lifespan and mounts the routers."""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime

from fastapi import FastAPI

from api import errors, openapi
from api.body_limit import BodySizeLimit
from api.connection_recycling import ConnectionRecycling
from api.indexing import build_index_sync
from api.leadership import Leadership
from api.links import LinkWorker
from api.listing_views import ListingViews
from api.rate_limits import RateLimits
from api.record_cache import RecordCache
from api.routes import broker, event_meetings, events, health, links, matching, organizations
from api.routes.listings import NEEDS, OFFERS, listing_router
from api.runtime import Runtime
from api.search_slots import SearchSlots
from api.store_follower import StoreFollower
from api.suggestions import SuggestionWorker
from api.webhooks import WebhookDeliverer
from api.worker_load import WorkerLoad
from core.settings import Settings, get_settings
from indexes.encoder import Encoder, build_encoder
from matcher.registry import active_ranker
from matcher.service import build_matcher
from models.base import make_engine, make_session_factory, utcnow
from models.events import ListingChangeFeed
from models.facets import ListingFacets
from models.migrate import upgrade

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def build_runtime(settings: Settings, encoder: Encoder | None = None) -> Runtime:
    """Migrate the store, load the encoder and indexes, and bring the indexes in line with the store.

    With several API workers one leads (migrates, reconciles, saves, runs the background workers);
    the others wait for its saved indexes, load them and follow the store (docs/decisions.md).
    """
    leadership = Leadership(settings.data_dir) if settings.api_workers > 1 else None
    leader_since = None if leadership is None else leadership.wait_for_leader()
    leads = leader_since is None
    engine = make_engine(settings.sqlalchemy_url, lock_timeout_seconds=settings.database_lock_timeout_seconds)
    if leads:
        upgrade(engine)
    session_factory = make_session_factory(engine)
    change_feed = ListingChangeFeed()
    change_feed.attach(session_factory)
    encoder = encoder or build_encoder(settings)
    index_sync = build_index_sync(
        settings=settings, encoder=encoder, session_factory=session_factory, saves=leads
    )
    ranker, ranker_version = active_ranker(settings.ranker_dir)
    matcher = build_matcher(
        encoder=encoder, indexes=index_sync.indexes, ranker=ranker, ranker_version=ranker_version
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        change_feed=change_feed,
        index_sync=index_sync,
        matcher=matcher,
        leadership=leadership,
        records=RecordCache(capacity=settings.record_cache_size),
        facts=RecordCache(capacity=settings.facts_cache_size),
        views=ListingViews(capacity=settings.view_cache_size),
        search_slots=SearchSlots(slots=settings.search_slots, queue_limit=settings.search_queue_limit),
    )
    # Dropped at this process's commits at once, and as the index learns of other workers' changes.
    for cache in (runtime.records, runtime.facts, runtime.views):
        change_feed.subscribe(cache.discard)
        index_sync.on_applied(cache.discard)
    if settings.listing_facets:
        # Subscribed before the load: a change committed while it reads is re-read at the next count.
        runtime.facets = ListingFacets(session_factory)
        change_feed.subscribe(runtime.facets.discard)
        index_sync.on_applied(runtime.facets.discard)
        runtime.facets.load()
    reconciled_from = utcnow()
    if leads:
        start_background_workers(runtime)
        # After the workers subscribed: listings that changed while the service was down (an import,
        # a crash) are re-indexed here and then matched like any other change.
        report = index_sync.reconcile(show_progress=True)
        log.info("indexes checked against the store: %s", report)
    if leadership is None:
        change_feed.subscribe(index_sync.notify)
    else:
        # One source of changes per worker, its own writes included: each version is handed on once.
        follower = StoreFollower(
            session_factory=session_factory,
            index_sync=index_sync,
            leadership=leadership,
            since=leader_since or reconciled_from,
            interval=settings.index_poll_interval,
            overlap_seconds=settings.index_poll_overlap_seconds,
            on_leadership=lambda covered: take_over(runtime, leadership, covered),
        )
        runtime.components["store_follower"] = follower
        if leads:
            leadership.announce_ready(since=reconciled_from)
        follower.start()
    index_sync.start()
    return runtime


def start_background_workers(runtime: Runtime) -> None:
    """The suggestion, link and webhook workers, when configured (only the leader's, with several workers)."""
    settings, session_factory, index_sync = runtime.settings, runtime.session_factory, runtime.index_sync
    if not settings.background_workers:
        return
    # Links first, then suggestions, on the suggestion worker's thread: a new duplicate is known as
    # one before it could be suggested twice.
    link_worker = LinkWorker(session_factory=session_factory, indexes=index_sync.indexes)
    suggestions = SuggestionWorker(
        settings=settings,
        session_factory=session_factory,
        matcher=runtime.matcher,
        prepare=link_worker.process,
    )
    index_sync.on_applied(suggestions.notify)
    suggestions.start()
    webhooks = WebhookDeliverer(settings=settings, session_factory=session_factory)
    webhooks.start()
    runtime.components["suggestions"] = suggestions
    runtime.components["webhooks"] = webhooks
    runtime.components["links"] = link_worker


def take_over(runtime: Runtime, leadership: Leadership, covered: datetime) -> None:
    """A follower whose leader died leads from now on: saves what it holds, starts the workers and tells
    followers that start later which indexes to load. Changes the dead leader had not yet matched wait
    for `techmatch suggest --changed`."""
    index_sync = runtime.index_sync
    index_sync.wait_idle()
    index_sync.lead()
    for index in index_sync.indexes.values():
        index.save()
    start_background_workers(runtime)
    leadership.announce_ready(since=covered)


def _return_freed_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's `malloc_trim`): the start frees much of
    what it allocated (the full check reads every listing's text), and glibc keeps freed pages in the
    process otherwise. A no-op where the C library has no such call."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> FastAPI:
    """The application; `encoder` lets tests share one loaded model across apps."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, encoder)
        app.state.runtime = runtime
        _return_freed_heap()
        # The indexes' many small objects live as long as the process: kept out of the collector's
        # full passes, which stalled every thread for 76-111 ms at 10^5 listings.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            for component in reversed(list(runtime.components.values())):
                component.close()
            runtime.index_sync.close()
            if runtime.leadership is not None:  # after the last save: then another worker may lead
                runtime.leadership.release()
            runtime.engine.dispose()
            if load is not None:
                load.close()

    app = FastAPI(
        title="TechMatch — technology exchange matching engine",
        version="0.1.0",
        description="Offers from research institutes, needs from enterprises, and the matches between them.",
        lifespan=lifespan,
    )
    errors.install(app, settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    load = WorkerLoad(settings.data_dir) if settings.api_workers > 1 else None
    if load is not None:
        app.add_middleware(
            ConnectionRecycling,
            max_requests=settings.connection_max_requests,
            load=load,
            workers=settings.api_workers,
        )
    app.state.rate_limits = RateLimits(settings)
    openapi.install(app)
    app.include_router(health.router, prefix=API_PREFIX, tags=["health"])
    app.include_router(organizations.router, prefix=API_PREFIX, tags=["organizations"])
    app.include_router(listing_router(OFFERS), prefix=f"{API_PREFIX}/offers", tags=["offers"])
    app.include_router(listing_router(NEEDS), prefix=f"{API_PREFIX}/needs", tags=["needs"])
    app.include_router(matching.router, prefix=API_PREFIX, tags=["search and matches"])
    app.include_router(broker.router, prefix=API_PREFIX, tags=["broker workflow"])
    app.include_router(events.router, prefix=API_PREFIX, tags=["matchmaking events"])
    app.include_router(event_meetings.router, prefix=API_PREFIX, tags=["matchmaking events"])
    app.include_router(links.router, prefix=API_PREFIX, tags=["duplicates and translations"])
    # The floor's pages at "/" (imported here: web builds on api, not the other way round).
    import web

    web.install(app)
    return app
