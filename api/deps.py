"""Dependencies injected into routes: runtime objects, a database session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.listing_views import ListingViews
from api.records import StoreRecords
from api.runtime import Runtime
from core.access import ANONYMOUS, Viewer
from core.taxonomy import Role
from matcher.service import Matcher
from models.facets import ListingFacets
from models.organizations import authenticate


# The trivial dependencies are coroutines: a plain function would cost each request a hop to the
# thread pool and back.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_matcher(runtime: RuntimeDep) -> Matcher:
    return runtime.matcher


MatcherDep = Annotated[Matcher, Depends(get_matcher)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session per request; routes commit explicitly so the response reflects what was stored."""
    with runtime.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_records(runtime: RuntimeDep, session: SessionDep) -> StoreRecords:
    """The matcher's records and facts, read through the process's caches."""
    return StoreRecords(session, cache=runtime.records, facts_cache=runtime.facts)


RecordsDep = Annotated[StoreRecords, Depends(get_records)]


async def get_listing_views(runtime: RuntimeDep) -> ListingViews:
    """Result pages' listings as shown, through the process's view cache."""
    return runtime.views


ListingViewsDep = Annotated[ListingViews, Depends(get_listing_views)]


async def get_listing_facets(runtime: RuntimeDep) -> ListingFacets | None:
    """What counts list totals in memory; None when turned off (totals are then counted in SQL)."""
    return runtime.facets


ListingFacetsDep = Annotated[ListingFacets | None, Depends(get_listing_facets)]


async def search_slot(runtime: RuntimeDep) -> AsyncIterator[None]:
    """Dependency of the routes that do the engine's work: a slot held until the response is sent
    (api/search_slots.py)."""
    async with runtime.search_slots.hold():
        yield


_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer tm_...`")


def get_viewer(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    if credentials is None:
        return ANONYMOUS
    viewer = authenticate(session=session, raw_key=credentials.credentials)
    if viewer is None:
        raise HTTPException(401, "The API key is unknown or revoked.", headers={"WWW-Authenticate": "Bearer"})
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def require_key(viewer: Viewer) -> None:
    """401 for a caller without an API key (what a signed-in caller may do is checked after)."""
    if viewer.is_anonymous:
        raise HTTPException(401, "This action needs an API key.", headers={"WWW-Authenticate": "Bearer"})


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only authenticated callers with one of `roles`."""

    async def _check(viewer: ViewerDep) -> Viewer:
        require_key(viewer)
        if viewer.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise HTTPException(403, f"Your role ({viewer.role}) may not do this; allowed: {allowed}.")
        return viewer

    return Depends(_check)


StaffDep = Annotated[Viewer, require_roles(Role.ADMIN, Role.BROKER)]
AdminDep = Annotated[Viewer, require_roles(Role.ADMIN)]


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def forbid_unknown_query(request: Request) -> None:
    """Reject query parameters the route does not declare: a misspelt filter must not silently match all."""
    route = request.scope.get("route")
    if route is None:
        return
    unknown = sorted(set(request.query_params) - _query_names(route.dependant))
    if unknown:
        raise HTTPException(422, f"Unknown query parameter(s): {', '.join(unknown)}.")
