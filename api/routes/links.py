"""Duplicate and translation links: on a listing for whoever may see both ends, and the broker's review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import SessionDep, StaffDep, ViewerDep, forbid_unknown_query
from api.errors import COMMON_ERRORS, error_responses
from api.params import IdPath, IdQuery, LimitQuery, OffsetQuery
from api.schemas.links import LinkDecision, LinkPage, LinkRead, link_view
from core.access import Viewer
from models import links as link_service
from models.errors import NotFoundError
from models.links import LinkStatus, LinkType, ListingLink
from models.listings import LISTING_MODELS, get_listing, visible_listings

router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)
KindQuery = Annotated[str | None, Query(pattern="^(offers|needs)$", description="offers or needs")]


def _views(session: Session, links: list[ListingLink], viewer: Viewer) -> list[LinkRead]:
    """Links whose two listings the viewer may see, with both listings named."""
    views = []
    by_kind: dict[str, list[ListingLink]] = {}
    for link in links:
        by_kind.setdefault(link.kind, []).append(link)
    for kind, kind_links in by_kind.items():
        ids = {end for link in kind_links for end in (link.listing_a_id, link.listing_b_id)}
        visible = visible_listings(
            session=session, model=LISTING_MODELS[kind], ids=sorted(ids), viewer=viewer
        )
        views += [
            link_view(link, visible)
            for link in kind_links
            if link.listing_a_id in visible and link.listing_b_id in visible
        ]
    order = {link.id: position for position, link in enumerate(links)}
    return sorted(views, key=lambda view: order[view.id])


def _one_view(session: Session, link: ListingLink, viewer: Viewer) -> LinkRead:
    views = _views(session, [link], viewer)
    if not views:
        # A listing of the pair was deleted and the worker has not caught up: the link is gone.
        raise NotFoundError(f"Link {link.id} does not exist.")
    return views[0]


def add_listing_links_route(kind: str) -> None:
    name = kind.removesuffix("s")

    @router.get(
        f"/{kind}/{{listing_id}}/links",
        response_model=list[LinkRead],
        summary=f"Duplicates and translations of a {name}",
        tags=[kind],
        responses=error_responses(404),
    )
    def listing_links(listing_id: IdPath, session: SessionDep, viewer: ViewerDep) -> Any:
        get_listing(session=session, model=LISTING_MODELS[kind], listing_id=listing_id, viewer=viewer)
        # Dismissed links are a broker's record; members see what the engine and brokers stand by.
        statuses = () if viewer.is_staff else link_service.CLUSTERING_STATUSES
        links = link_service.links_of(session=session, kind=kind, listing_id=listing_id, statuses=statuses)
        return _views(session, links, viewer)


add_listing_links_route("offers")
add_listing_links_route("needs")


@router.get(
    "/links", response_model=LinkPage, summary="The broker queue of links", responses=error_responses(403)
)
def list_links(
    session: SessionDep,
    viewer: StaffDep,
    kind: KindQuery = None,
    status: Annotated[list[LinkStatus] | None, Query(description="Repeat for several")] = None,
    link_type: Annotated[list[LinkType] | None, Query(description="duplicate or translation")] = None,
    listing_id: Annotated[IdQuery, Query(description="Links of this listing (with kind)")] = None,
    offset: OffsetQuery = 0,
    limit: LimitQuery = 20,
) -> dict[str, Any]:
    links, total = link_service.list_links(
        session=session,
        kind=kind,
        statuses=status or (),
        link_types=link_type or (),
        listing_id=listing_id,
        offset=offset,
        limit=limit,
    )
    return {"items": _views(session, links, viewer), "total": total, "offset": offset, "limit": limit}


@router.get(
    "/links/{link_id}", response_model=LinkRead, summary="One link", responses=error_responses(403, 404)
)
def read_link(link_id: IdPath, session: SessionDep, viewer: StaffDep) -> Any:
    return _one_view(session, link_service.get_link(session=session, link_id=link_id), viewer)


@router.post(
    "/links/{link_id}/decision",
    response_model=LinkRead,
    summary="Confirm or dismiss a link (a dismissed link is never proposed again)",
    responses=error_responses(400, 403, 404, 409, 413),
)
def decide_link(link_id: IdPath, body: LinkDecision, session: SessionDep, viewer: StaffDep) -> Any:
    link = link_service.get_link(session=session, link_id=link_id, lock=True)
    status = LinkStatus.CONFIRMED if body.decision == "confirm" else LinkStatus.DISMISSED
    link_service.decide_link(session=session, link=link, status=status, actor=viewer)
    session.commit()
    return _one_view(session, link, viewer)
