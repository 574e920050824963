"""Members' own listings: "my needs" for enterprises, "my offers" for institutes.

Create, edit (field-level errors), archive, the matching listings of the other side with the
engine's explanation, a request for an introduction (needs), and CSV/JSON Lines upload (offers).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException
from fastapi.responses import RedirectResponse, Response

from api.deps import ListingFacetsDep, MatcherDep, RuntimeDep, search_slot
from api.params import IdPath
from api.rate_limits import rate_limited
from api.records import StoreRecords, need_record, offer_record
from api.suggestions import score_pair
from core.taxonomy import ListingStatus, Role
from models.errors import InvalidError
from models.introductions import pair_statuses, request_introduction
from models.listings import (
    LISTING_MODELS,
    ListingFilters,
    Need,
    Offer,
    create_listing,
    get_listing,
    get_listings,
    list_listings,
    update_listing,
)
from models.search_scope import search_scope
from web.forms import SIDES, ListingSide, form_of, posted_form, validate_listing
from web.i18n import N_
from web.pages import Page, SignedInDep, add_nav_link, render
from web.uploads import UPLOAD_FORMATS, import_upload

router = APIRouter()

add_nav_link("/my/needs", N_("My needs"), roles=(Role.ENTERPRISE_MEMBER,), order=10)
add_nav_link("/my/offers", N_("My offers"), roles=(Role.INSTITUTE_MEMBER,), order=10)

Kind = Literal["needs", "offers"]
MATCHES_SHOWN = 10
INTRODUCTION_NOTE_MAX = 1_000


def member_side(page: Page, kind: str) -> ListingSide:
    """The side a member manages: enterprise members their needs, institute members their offers."""
    side = SIDES[kind]
    assert page.user is not None
    if page.user.role != side.member_role or page.user.organization_id is None:
        raise HTTPException(403, "Only members of the listing's side manage these listings.")
    return side


def own_listing(page: Page, side: ListingSide, listing_id: int) -> Offer | Need:
    """A listing of the member's organization: hidden ones are a 404, others' visible ones a 403."""
    row = get_listing(session=page.db, model=side.model, listing_id=listing_id, viewer=page.viewer)
    assert page.user is not None
    if row.organization_id != page.user.organization_id:
        raise HTTPException(403, "This listing belongs to another organization.")
    return row


@router.get("/my/{kind}")
def my_listings(page: SignedInDep, kind: Kind, counter: ListingFacetsDep) -> Response:
    side = member_side(page, kind)
    assert page.user is not None
    rows, total, _exact = list_listings(
        session=page.db,
        model=side.model,
        filters=ListingFilters(organization_id=page.user.organization_id),
        viewer=page.viewer,
        limit=100,
        sort="-updated_at",
        facets=counter,
    )
    return render(page, "my/list.html", side=side, rows=rows, total=total)


def _render_form(
    page: Page,
    side: ListingSide,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    listing: Offer | Need | None = None,
) -> Response:
    return render(
        page,
        "my/form.html",
        status_code=422 if errors else 200,
        side=side,
        values=values,
        errors=errors,
        listing=listing,
    )


@router.get("/my/{kind}/new")
def new_listing_form(page: SignedInDep, kind: Kind) -> Response:
    side = member_side(page, kind)
    return _render_form(page, side, values=form_of(side, None), errors={})


@router.post("/my/{kind}/new")
async def create_listing_page(page: SignedInDep, kind: Kind) -> Response:
    side = member_side(page, kind)
    form = await page.request.form()
    values, errors = validate_listing(side, form)
    if errors:
        return _render_form(page, side, values=posted_form(values, form), errors=errors)
    assert page.user is not None
    row = create_listing(
        session=page.db, model=side.model, values={**values, "organization_id": page.user.organization_id}
    )
    page.db.commit()
    return RedirectResponse(f"/my/{kind}/{row.id}/matches?created=1", status_code=303)


@router.get("/my/{kind}/{listing_id}/edit")
def edit_listing_form(page: SignedInDep, kind: Kind, listing_id: IdPath) -> Response:
    side = member_side(page, kind)
    row = own_listing(page, side, listing_id)
    return _render_form(page, side, values=form_of(side, row), errors={}, listing=row)


@router.post("/my/{kind}/{listing_id}/edit")
async def edit_listing(page: SignedInDep, kind: Kind, listing_id: IdPath) -> Response:
    side = member_side(page, kind)
    row = own_listing(page, side, listing_id)
    form = await page.request.form()
    values, errors = validate_listing(side, form)
    if errors:
        return _render_form(page, side, values=posted_form(values, form), errors=errors, listing=row)
    update_listing(session=page.db, row=row, values=values)
    page.db.commit()
    return RedirectResponse(f"/my/{kind}?saved={row.id}", status_code=303)


@router.post("/my/{kind}/{listing_id}/archive")
def archive_listing(page: SignedInDep, kind: Kind, listing_id: IdPath) -> Response:
    side = member_side(page, kind)
    row = own_listing(page, side, listing_id)
    update_listing(session=page.db, row=row, values={"status": ListingStatus.ARCHIVED})
    page.db.commit()
    return RedirectResponse(f"/my/{kind}?archived={row.id}", status_code=303)


@router.get("/my/{kind}/{listing_id}/matches", dependencies=[Depends(search_slot), Depends(rate_limited)])
def listing_matches(
    page: SignedInDep, kind: Kind, listing_id: IdPath, matcher: MatcherDep, runtime: RuntimeDep
) -> Response:
    side = member_side(page, kind)
    row = own_listing(page, side, listing_id)
    other = "offers" if kind == "needs" else "needs"
    other_model = LISTING_MODELS[other]
    # None (no id list) when the member may see every published listing of the other side.
    scope = search_scope(
        session=page.db,
        model=other_model,
        filters=ListingFilters(statuses=(ListingStatus.PUBLISHED,)),
        viewer=page.viewer,
        facets=runtime.facets,
    )
    # Drafts too: a member may want to see what a listing would match before publishing it.
    record = need_record(row) if isinstance(row, Need) else offer_record(row)
    results = matcher.match(
        record,
        allowed_ids=scope.allowed,
        hidden_ids=scope.hidden,
        source=StoreRecords(page.db, cache=runtime.records),
        viewer=page.viewer,
        k=MATCHES_SHOWN,
    )
    rows = get_listings(session=page.db, model=other_model, ids=[r.id for r in results])
    hits = [{"listing": rows[r.id], "result": r} for r in results if r.id in rows]
    if isinstance(row, Need):
        pairs = pair_statuses(session=page.db, need_ids=[row.id], offer_ids=[h["listing"].id for h in hits])
        states = {offer_id: match for (_need_id, offer_id), match in pairs.items()}
    else:
        pairs = pair_statuses(session=page.db, need_ids=[h["listing"].id for h in hits], offer_ids=[row.id])
        states = {need_id: match for (need_id, _offer_id), match in pairs.items()}
    return render(
        page,
        "my/matches.html",
        side=side,
        other_kind=other,
        listing=row,
        hits=hits,
        states=states,
        created=page.request.query_params.get("created") == "1",
        requested=page.request.query_params.get("requested"),
    )


@router.post("/my/needs/{listing_id}/introductions")
def request_introduction_page(
    page: SignedInDep,
    listing_id: IdPath,
    matcher: MatcherDep,
    offer_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    note: Annotated[str, Form(max_length=INTRODUCTION_NOTE_MAX)] = "",
) -> Response:
    side = member_side(page, "needs")
    need = own_listing(page, side, listing_id)
    assert isinstance(need, Need) and page.user is not None
    offer = get_listing(session=page.db, model=Offer, listing_id=offer_id, viewer=page.viewer)
    if offer.status != ListingStatus.PUBLISHED:
        raise HTTPException(404, "This offer is not published.")
    organization = page.user.organization
    label = f"{page.user.display_name} <{page.user.email}>" + (
        f", {organization.name}" if organization else ""
    )
    try:
        outcome = request_introduction(
            session=page.db,
            need=need,
            offer=offer,
            requester=page.viewer,
            requester_label=f"Introduction requested by {label}",
            scoring=score_pair(matcher=matcher, session=page.db, need=need, offer=offer),
            note=note,
        )
    except InvalidError as exc:
        raise HTTPException(409, str(exc)) from None
    page.db.commit()
    return RedirectResponse(
        f"/my/needs/{need.id}/matches?requested={outcome.outcome}#offer-{offer.id}", status_code=303
    )


@router.get("/my/offers/upload")
def upload_form(page: SignedInDep) -> Response:
    member_side(page, "offers")
    return render(page, "my/upload.html", report=None, error=None, formats=UPLOAD_FORMATS)


@router.post("/my/offers/upload")
async def upload(page: SignedInDep) -> Response:
    member_side(page, "offers")
    assert page.user is not None and page.user.organization is not None
    form = await page.request.form()
    upload_file = form.get("file")
    skip_invalid = form.get("skip_invalid") == "1"
    settings = page.request.app.state.runtime.settings
    if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
        return render(
            page,
            "my/upload.html",
            status_code=422,
            report=None,
            error=N_("Choose a file."),
            formats=UPLOAD_FORMATS,
        )
    suffix = Path(upload_file.filename).suffix.lower()
    if suffix not in UPLOAD_FORMATS:
        return render(
            page, "my/upload.html", status_code=422, report=None,
            error=N_("The file must end in .csv or .jsonl."), formats=UPLOAD_FORMATS,
        )  # fmt: skip
    content = await upload_file.read()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        outcome = import_upload(
            session=page.db,
            path=path,
            organization=page.user.organization,
            skip_invalid=skip_invalid,
            max_rows=settings.upload_max_rows,
        )
    if outcome.error:
        page.db.rollback()
        return render(
            page, "my/upload.html", status_code=422, report=None, error=outcome.error, formats=UPLOAD_FORMATS
        )
    if outcome.report.rejected and not skip_invalid:
        page.db.rollback()
    else:
        page.db.commit()
    imported = not outcome.report.rejected or skip_invalid
    return render(
        page,
        "my/upload.html",
        status_code=200 if imported else 422,
        report=outcome.report,
        rows=outcome.rows,
        imported=imported,
        error=None,
        formats=UPLOAD_FORMATS,
    )
