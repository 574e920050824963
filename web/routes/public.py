"""Pages for everyone: home and search with facets, offer and need details, organizations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import ColumnElement, select

from api.deps import ListingFacetsDep, MatcherDep, RuntimeDep, search_slot
from api.links import cluster_map
from api.params import IdPath
from api.rate_limits import rate_limited
from api.record_cache import RecordCache
from api.records import StoreRecords
from core.taxonomy import ListingStatus
from indexes.text import analyze
from models.facets import ListingFacets
from models.id_sets import id_in
from models.links import CLUSTERING_STATUSES, links_of
from models.listings import (
    LISTING_MODELS,
    ListingFilters,
    Need,
    Offer,
    capped_count,
    get_listing,
    get_listings,
    list_listings,
    visible_listings,
)
from models.organizations import get_organization
from models.search_scope import SearchScope
from web.forms import SIDES
from web.i18n import N_
from web.pages import Page, PageDep, add_nav_link, render
from web.search import PAGE_SIZE, Facets, search_scope_of

router = APIRouter()

add_nav_link("/", N_("Search"), order=0)


def _hits(
    page: Page, facets: Facets, matcher: Any, cache: RecordCache, counter: ListingFacets | None
) -> tuple[list[dict[str, Any]], int, bool]:
    """One page of results: ranked by the matcher for a text query, newest first without one."""
    db, viewer = page.db, page.viewer
    model = LISTING_MODELS[facets.kind]
    offset = (facets.page - 1) * PAGE_SIZE
    scope = search_scope_of(session=db, facets=facets, viewer=viewer, counter=counter)
    if facets.q and analyze(facets.q):
        results, total = matcher.search(
            kind=facets.kind, query=facets.q, allowed_ids=scope.allowed, hidden_ids=scope.hidden,
            source=StoreRecords(db, cache=cache), limit=PAGE_SIZE, offset=offset,
            clusters=cluster_map(session=db, kind=facets.kind, scope=scope),
        )  # fmt: skip
        rows = get_listings(session=db, model=model, ids=[i for r in results for i in (r.id, *r.also)])
        hits = [
            {
                "listing": rows[r.id],
                "score": r.score,
                "terms": list(r.explanation.matched_terms),
                "also": [rows[i] for i in r.also if i in rows],
            }
            for r in results
            if r.id in rows
        ]
        return hits, total, True
    if facets.q:
        return [], 0, True  # only punctuation or emoji: nothing to look for
    newest, total, exact = _browse(page, model, scope, offset, counter)
    return [{"listing": row, "score": None, "terms": [], "also": []} for row in newest], total, exact


def _browse(
    page: Page,
    model: type[Offer] | type[Need],
    scope: SearchScope,
    offset: int,
    counter: ListingFacets | None,
) -> tuple[list[Any], int, bool]:
    """The listings of `scope`, newest first (no text query); the page is selected in SQL and the count
    taken from the listing facets when there are some, so browsing costs a page, not the catalogue."""
    db = page.db
    among: ColumnElement[bool]
    if scope.allowed is None:
        among = (model.status == ListingStatus.PUBLISHED) & ~id_in(model.id, scope.hidden)
    else:
        among = id_in(model.id, scope.allowed)
    if counter is None:
        total, exact = capped_count(session=db, query=select(model.id).where(among))
    elif scope.allowed is None:
        # Every published listing but those hidden from the viewer: the published ones it may see.
        published = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
        total, exact = counter.count(model=model, filters=published, viewer=page.viewer), True
    else:
        total, exact = len(scope.allowed), True
    query = select(model.id).where(among).order_by(model.created_at.desc(), model.id.desc())
    chosen = list(db.scalars(query.offset(offset).limit(PAGE_SIZE)))
    rows = get_listings(session=db, model=model, ids=chosen)
    return [rows[i] for i in chosen if i in rows], total, exact


@router.get("/")
def home(page: PageDep) -> Response:
    return render(page, "home.html", facets=Facets())


@router.get("/search", dependencies=[Depends(search_slot), Depends(rate_limited)])
def search(page: PageDep, matcher: MatcherDep, runtime: RuntimeDep, counter: ListingFacetsDep) -> Response:
    facets = Facets.read(page.request.query_params)
    hits, total, exact = _hits(page, facets, matcher, runtime.records, counter)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        page, "search.html", facets=facets, hits=hits, total=total, exact=exact, pages=min(pages, 50)
    )


def _detail(page: Page, kind: str, listing_id: IdPath) -> Response:
    side = SIDES[kind]
    row = get_listing(session=page.db, model=side.model, listing_id=listing_id, viewer=page.viewer)
    may_edit = (
        page.user is not None
        and page.user.role == side.member_role
        and page.user.organization_id == row.organization_id
    )
    return render(
        page,
        "listing_detail.html",
        side=side,
        listing=row,
        may_edit=may_edit,
        links=_links(page, kind, row.id),
    )


def _links(page: Page, kind: str, listing_id: int) -> list[dict[str, Any]]:
    """The same technology listed elsewhere (duplicates, translations) that the viewer may see."""
    links = links_of(session=page.db, kind=kind, listing_id=listing_id, statuses=CLUSTERING_STATUSES)
    other_of = {link.id: link.other(listing_id) for link in links}
    visible = visible_listings(
        session=page.db, model=SIDES[kind].model, ids=sorted(set(other_of.values())), viewer=page.viewer
    )
    return [
        {"link": link, "other": visible[other_of[link.id]]} for link in links if other_of[link.id] in visible
    ]


@router.get("/offers/{listing_id}")
def offer_detail(page: PageDep, listing_id: IdPath) -> Response:
    return _detail(page, "offers", listing_id)


@router.get("/needs/{listing_id}")
def need_detail(page: PageDep, listing_id: IdPath) -> Response:
    return _detail(page, "needs", listing_id)


@router.get("/organizations/{organization_id}")
def organization_page(page: PageDep, organization_id: IdPath, counter: ListingFacetsDep) -> Response:
    organization = get_organization(session=page.db, organization_id=organization_id)
    listings = {}
    for kind, model in LISTING_MODELS.items():
        rows, total, exact = list_listings(
            session=page.db, model=model, filters=ListingFilters(organization_id=organization.id),
            viewer=page.viewer, limit=50, facets=counter,
        )  # fmt: skip
        listings[kind] = (rows, total, exact)
    return render(page, "organization.html", organization=organization, listings=listings)
