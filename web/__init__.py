"""The exchange floor on the web: server-rendered pages over the same services as the API.

`install(app)` mounts the pages at `/` and the static files at `/static`; add a page module's router
to ROUTERS (every router here is CSRF-checked, see web/pages.py).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from web import errors
from web.pages import csrf_protected
from web.routes import account, broker, dashboard, listings, public

STATIC_DIR = Path(__file__).with_name("static")

ROUTERS: list[APIRouter] = [public.router, account.router, listings.router, broker.router, dashboard.router]


def install(app: FastAPI) -> None:
    """Pages at `/`, assets at `/static`, HTML error pages outside the API; call after api.errors.install."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(csrf_protected)], include_in_schema=False)
    errors.install(app)
