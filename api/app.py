"""The FastAPI application: builds the runtime once in the lifespan and mounts the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routes import health, organizations
from api.routes.listings import NEEDS, OFFERS, listing_router
from api.runtime import Runtime
from core.settings import Settings, get_settings
from models.base import make_engine, make_session_factory
from models.events import ListingChangeFeed
from models.migrate import upgrade

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def build_runtime(settings: Settings) -> Runtime:
    """Connect to and migrate the store; the pieces every request shares."""
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    session_factory = make_session_factory(engine)
    change_feed = ListingChangeFeed()
    change_feed.attach(session_factory)
    return Runtime(settings=settings, engine=engine, session_factory=session_factory, change_feed=change_feed)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings)
        app.state.runtime = runtime
        try:
            yield
        finally:
            for component in reversed(list(runtime.extras.values())):
                close = getattr(component, "close", None)
                if callable(close):
                    close()
            runtime.engine.dispose()

    app = FastAPI(
        title="TechMatch — technology exchange matching engine",
        version="0.1.0",
        description="Offers from research institutes, needs from enterprises, and the matches between them.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(health.router, prefix=API_PREFIX, tags=["health"])
    app.include_router(organizations.router, prefix=API_PREFIX, tags=["organizations"])
    app.include_router(listing_router(OFFERS), prefix=f"{API_PREFIX}/offers", tags=["offers"])
    app.include_router(listing_router(NEEDS), prefix=f"{API_PREFIX}/needs", tags=["needs"])
    return app
