"""CRUD endpoints for offers and needs: one router factory serves both sides of the exchange."""

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.deps import (
    ListingFacetsDep,
    SessionDep,
    ViewerDep,
    forbid_unknown_query,
    require_roles,
    search_slot,
)
from api.errors import COMMON_ERRORS, error_responses
from api.params import IdPath, IdQuery, LimitQuery, OffsetQuery
from api.schemas.common import Page
from api.schemas.listings import (
    NeedCreate,
    NeedFields,
    NeedRead,
    NeedUpdate,
    OfferCreate,
    OfferFields,
    OfferRead,
    OfferUpdate,
    listing_view,
)
from core.access import Viewer, can_write
from core.taxonomy import IPStatus, Language, ListingStatus, Region, Role, Sector, TransferType
from models import listings as listing_service
from models.errors import ConflictError, ForbiddenError, InvalidError
from models.links import delete_links_of
from models.listings import ListingFilters, Need, Offer
from models.match_queue import decided_match_count

SortKey = Literal[
    "id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "title", "-title", "trl", "-trl"
]


@dataclass(frozen=True)
class ListingKind:
    """What differs between offers and needs, so one set of routes serves both."""

    model: type[Offer] | type[Need]
    fields: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    read: type[BaseModel]
    member_role: Role
    name: str


OFFERS = ListingKind(Offer, OfferFields, OfferCreate, OfferUpdate, OfferRead, Role.INSTITUTE_MEMBER, "offer")
NEEDS = ListingKind(Need, NeedFields, NeedCreate, NeedUpdate, NeedRead, Role.ENTERPRISE_MEMBER, "need")


@dataclass(frozen=True)
class ListingQuery:
    """Filters, paging and sort of listing pages; the same filters apply inside search."""

    filters: ListingFilters


async def listing_query(
    sector: Annotated[list[Sector] | None, Query(description="Repeat for several sectors")] = None,
    trl_min: Annotated[int | None, Query(ge=1, le=9)] = None,
    trl_max: Annotated[int | None, Query(ge=1, le=9)] = None,
    ip_status: Annotated[list[IPStatus] | None, Query()] = None,
    transfer_type: Annotated[list[TransferType] | None, Query()] = None,
    region: Annotated[list[Region] | None, Query()] = None,
    language: Annotated[list[Language] | None, Query()] = None,
    status: Annotated[list[ListingStatus] | None, Query()] = None,
    organization_id: IdQuery = None,
) -> ListingQuery:
    """The query's filters, checked (a coroutine: no trip to the thread pool for this)."""
    if trl_min is not None and trl_max is not None and trl_min > trl_max:
        raise HTTPException(422, f"trl_min ({trl_min}) is greater than trl_max ({trl_max}).")
    return ListingQuery(
        ListingFilters(
            sectors=sector or (),
            trl_min=trl_min,
            trl_max=trl_max,
            ip_statuses=ip_status or (),
            transfer_types=transfer_type or (),
            regions=region or (),
            languages=language or (),
            statuses=status or (),
            organization_id=organization_id,
        )
    )


ListingQueryDep = Annotated[ListingQuery, Depends(listing_query)]


def owner_for_new_listing(viewer: Viewer, requested: int | None) -> int:
    """Members list for their own organization; staff must say for whom."""
    if viewer.is_staff:
        if requested is None:
            raise InvalidError("organization_id is required when staff create a listing.")
        return requested
    if requested is not None and requested != viewer.organization_id:
        raise ForbiddenError("Members may only create listings for their own organization.")
    if viewer.organization_id is None:
        raise ForbiddenError("This API key belongs to no organization.")
    return viewer.organization_id


def merged_values(kind: ListingKind, row: Offer | Need, patch: BaseModel) -> dict[str, Any]:
    """Apply a PATCH on the stored values and validate the whole listing again, cross-field rules included."""
    changes = patch.model_dump(exclude_unset=True)
    current = {name: getattr(row, name) for name in kind.fields.model_fields}
    try:
        kind.fields.model_validate({**current, **changes})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return changes


def listing_router(kind: ListingKind) -> APIRouter:
    router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)
    model = kind.model
    writer = require_roles(Role.ADMIN, Role.BROKER, kind.member_role)

    def writable(session: Any, listing_id: int, viewer: Viewer) -> Offer | Need:
        row = listing_service.get_listing(session=session, model=model, listing_id=listing_id, viewer=viewer)
        if not can_write(viewer, organization_id=row.organization_id):
            raise ForbiddenError(f"Only {row.organization.name} or a broker may change this {kind.name}.")
        return row

    @router.get(
        "",
        response_model=Page[kind.read],  # type: ignore[name-defined]
        summary=f"List {kind.name}s",
        dependencies=[Depends(search_slot)],
    )
    def list_listings(
        session: SessionDep,
        viewer: ViewerDep,
        query: ListingQueryDep,
        facets: ListingFacetsDep,
        offset: OffsetQuery = 0,
        limit: LimitQuery = 20,
        sort: SortKey = "-created_at",
    ) -> dict[str, Any]:
        rows, total, exact = listing_service.list_listings(
            session=session,
            model=model,
            filters=query.filters,
            viewer=viewer,
            offset=offset,
            limit=limit,
            sort=sort,
            facets=facets,
        )
        items = [listing_view(kind.read, row, viewer) for row in rows]
        return {"items": items, "total": total, "total_exact": exact, "offset": offset, "limit": limit}

    @router.post(
        "",
        response_model=kind.read,
        status_code=201,
        summary=f"Create a {kind.name}",
        responses=error_responses(400, 403, 409, 413),
    )
    def create_listing(body: kind.create, session: SessionDep, viewer: Annotated[Viewer, writer]) -> Any:  # type: ignore[name-defined]
        values = body.model_dump()
        values["organization_id"] = owner_for_new_listing(viewer, values.pop("organization_id"))
        row = listing_service.create_listing(session=session, model=model, values=values)
        session.commit()
        return listing_view(kind.read, row, viewer)

    @router.get(
        "/{listing_id}",
        response_model=kind.read,
        summary=f"Read a {kind.name}",
        responses=error_responses(404),
    )
    def read_listing(listing_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
        row = listing_service.get_listing(session=session, model=model, listing_id=listing_id, viewer=viewer)
        return listing_view(kind.read, row, viewer)

    @router.patch(
        "/{listing_id}",
        response_model=kind.read,
        summary=f"Change a {kind.name}",
        responses=error_responses(400, 403, 404, 409, 413),
    )
    def update_listing(
        listing_id: IdPath,
        body: kind.update,  # type: ignore[name-defined]
        session: SessionDep,
        viewer: Annotated[Viewer, writer],
    ) -> Any:
        row = writable(session, listing_id, viewer)
        listing_service.update_listing(session=session, row=row, values=merged_values(kind, row, body))
        session.commit()
        return listing_view(kind.read, row, viewer)

    @router.post(
        "/{listing_id}/archive",
        response_model=kind.read,
        summary=f"Archive a {kind.name}",
        responses=error_responses(403, 404),
    )
    def archive_listing(listing_id: IdPath, session: SessionDep, viewer: Annotated[Viewer, writer]) -> Any:
        row = writable(session, listing_id, viewer)
        listing_service.update_listing(session=session, row=row, values={"status": ListingStatus.ARCHIVED})
        session.commit()
        return listing_view(kind.read, row, viewer)

    @router.delete(
        "/{listing_id}",
        status_code=204,
        summary=f"Delete a {kind.name}",
        responses=error_responses(403, 404, 409),
    )
    def delete_listing(
        listing_id: IdPath, session: SessionDep, viewer: Annotated[Viewer, writer]
    ) -> Response:
        row = writable(session, listing_id, viewer)
        if decided_match_count(session=session, kind=f"{kind.name}s", listing_id=listing_id):
            raise ConflictError(
                f"This {kind.name} has matches brokers have acted on; archive it instead so their history stays."
            )
        listing_service.delete_listing(session=session, row=row)
        delete_links_of(session=session, kind=f"{kind.name}s", listing_ids=[listing_id])
        session.commit()
        return Response(status_code=204)

    return router
