"""The brokers' pages: the suggestion queue, a match side by side with its explanation, and the pipeline board.

Staff only (brokers and admins), over the same services as the API's broker workflow
(models.match_queue, models.match_pipeline).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.params import IdPath
from api.schemas.matches_workflow import match_view
from core.taxonomy import Role, Sector
from models import match_pipeline as pipeline_service
from models import match_queue as queue_service
from models.errors import ConflictError, InvalidError
from models.introductions import INTRODUCTION_REQUESTED
from models.match_queue import MatchFilters
from models.matches import REASONS, TRANSITIONS, MatchEvent, MatchReason, MatchStatus
from web import match_labels  # noqa: F401  (registers the workflow's labels)
from web.i18n import N_
from web.pages import Page, add_nav_link, render, require_role, safe_next

router = APIRouter(prefix="/broker")
StaffPage = Annotated[Page, require_role(Role.BROKER, Role.ADMIN)]

add_nav_link("/broker/queue", N_("Queue"), roles=(Role.BROKER, Role.ADMIN), order=60)
add_nav_link("/broker/pipeline", N_("Pipeline"), roles=(Role.BROKER, Role.ADMIN), order=61)

QUEUE_PAGE_SIZE = 25
BOARD_CARDS_PER_STAGE = 40
BOARD_STAGES = (
    MatchStatus.ACCEPTED,
    MatchStatus.INTRODUCED,
    MatchStatus.NEGOTIATING,
    MatchStatus.DEAL,
    MatchStatus.LOST,
)
SORTS = {
    "-score": N_("Best score first"),
    "score": N_("Lowest score first"),
    "created_at": N_("Oldest first"),
    "-created_at": N_("Newest first"),
}
SCORE_STEPS = tuple(round(step / 10, 1) for step in range(10))
Note = Annotated[str, Form(max_length=4_000)]
NextPath = Annotated[str, Form(alias="next", max_length=2_000)]
Reason = Annotated[str, Form(max_length=32)]


def _queue_query(
    status: MatchStatus | None, sector: Sector | None, score_min: float | None, sort: str
) -> dict[str, str]:
    query = {"status": status.value if status else "", "sort": sort}
    if sector:
        query["sector"] = sector.value
    if score_min is not None:
        query["score_min"] = str(score_min)
    return query


def _choice(kind: type[Any], value: str) -> Any:
    """A select box's value: None for "all" (empty), 422 for anything not offered."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise HTTPException(422, f"{value!r} is not one of the choices.") from None


@router.get("/queue")
def queue(
    page: StaffPage,
    status: Annotated[str, Query(max_length=16)] = MatchStatus.SUGGESTED.value,
    sector: Annotated[str, Query(max_length=64)] = "",
    score_min: Annotated[str, Query(max_length=4)] = "",
    sort: Annotated[str, Query(pattern="^-?(score|created_at)$")] = "-score",
    number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    requested: Annotated[bool, Query()] = False,
    moved: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Matches to review, filtered and sorted; accept or reject from the list (keys A and R)."""
    chosen_status: MatchStatus | None = _choice(MatchStatus, status)
    chosen_sector: Sector | None = _choice(Sector, sector)
    lowest: float | None = _choice(float, score_min)
    if lowest is not None and lowest not in SCORE_STEPS:
        raise HTTPException(422, "score_min is one of the offered steps.")
    filters = MatchFilters(
        statuses=(chosen_status,) if chosen_status else (),
        sectors=(chosen_sector,) if chosen_sector else (),
        score_min=lowest,
        event_reason=INTRODUCTION_REQUESTED if requested else None,
    )
    rows, total = queue_service.list_matches(
        session=page.db,
        filters=filters,
        offset=(number - 1) * QUEUE_PAGE_SIZE,
        limit=QUEUE_PAGE_SIZE,
        sort=sort,
    )
    query = _queue_query(chosen_status, chosen_sector, lowest, sort)
    if requested:
        query["requested"] = "true"
    shown = [row.id for row in rows]
    requested_ids = set(
        page.db.scalars(
            select(MatchEvent.match_id).where(
                MatchEvent.match_id.in_(shown), MatchEvent.reason == INTRODUCTION_REQUESTED
            )
        )
    )
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    here = "/broker/queue?" + urlencode({**query, "page": number})
    return render(
        page,
        "broker/queue.html",
        matches=[match_view(row) for row in rows],
        total=total,
        filters={
            "status": chosen_status,
            "sector": chosen_sector,
            "score_min": lowest,
            "sort": sort,
            "requested": requested,
        },
        requested_ids=requested_ids,
        sorts=SORTS,
        score_steps=SCORE_STEPS,
        statuses=list(MatchStatus),
        reject_reasons=REASONS[MatchStatus.REJECTED],
        number=number,
        pages=pages,
        previous_url="/broker/queue?" + urlencode({**query, "page": number - 1}) if number > 1 else None,
        next_url="/broker/queue?" + urlencode({**query, "page": number + 1}) if number < pages else None,
        here=here,
        moved=moved,
    )


def _match_page(
    page: Page, match_id: int, *, error: str | None = None, status_code: int = 200, moved: bool = False
) -> Response:
    match = queue_service.get_match(session=page.db, match_id=match_id)
    history = queue_service.match_history(session=page.db, match_id=match_id)
    return render(
        page,
        "broker/match.html",
        status_code=status_code,
        match=match_view(match),
        need=match.need,
        offer=match.offer,
        history=history,
        next_steps=TRANSITIONS[match.status],
        reasons={status.value: REASONS[status] for status in REASONS},
        error=error,
        moved=moved,
        here=f"/broker/matches/{match_id}",
    )


@router.get("/matches/{match_id}")
def match_page(
    page: StaffPage, match_id: IdPath, moved: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """Need and offer side by side, why the engine paired them, the history, and the next moves."""
    return _match_page(page, match_id, moved=moved == match_id)


def _move(page: Page, match_id: int, to: MatchStatus, reason: str, note: str, next_path: str) -> Response:
    match = queue_service.get_match(session=page.db, match_id=match_id, lock=True)
    problem: tuple[str, int] | None = None
    code: MatchReason | None = None
    try:
        # The board's form offers a reason beside every move; only the moves that need one keep it.
        code = MatchReason(reason) if reason and to in REASONS else None
    except ValueError:
        problem = (N_("Choose one of the listed reasons."), 422)
    if problem is None:
        try:
            pipeline_service.transition(
                session=page.db, match=match, to=to, actor=page.viewer, reason=code, note=note.strip() or None
            )
        except InvalidError:
            problem = (N_("Choose a reason; with “Other”, say what it was in the note."), 422)
        except ConflictError:
            problem = (
                N_("This match has moved on since you opened it; its current stage is shown below."),
                409,
            )
    if problem is not None:
        page.db.rollback()
        return _match_page(page, match_id, error=problem[0], status_code=problem[1])
    page.db.commit()
    target = safe_next(next_path, f"/broker/matches/{match_id}")
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}moved={match_id}", status_code=303)


@router.post("/matches/{match_id}/review")
def review(
    page: StaffPage,
    match_id: IdPath,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    reason: Reason = "",
    note: Note = "",
    next_path: NextPath = "",
) -> Response:
    """Accept or reject a suggestion (a rejection needs a reason)."""
    to = MatchStatus.ACCEPTED if decision == "accept" else MatchStatus.REJECTED
    return _move(page, match_id, to, reason, note, next_path)


@router.post("/matches/{match_id}/move")
def move(
    page: StaffPage,
    match_id: IdPath,
    to: Annotated[MatchStatus, Form()],
    reason: Reason = "",
    note: Note = "",
    next_path: NextPath = "",
) -> Response:
    """Move a match along the pipeline (lost needs a reason)."""
    return _move(page, match_id, to, reason, note, next_path)


@router.get("/pipeline")
def pipeline(page: StaffPage) -> Response:
    """The board: a column per stage after review, each card with its history."""
    columns: list[dict[str, Any]] = []
    shown: list[int] = []
    for stage in BOARD_STAGES:
        rows, total = queue_service.list_matches(
            session=page.db,
            filters=MatchFilters(statuses=(stage,)),
            limit=BOARD_CARDS_PER_STAGE,
            sort="-created_at",
        )
        columns.append({"stage": stage, "total": total, "cards": [match_view(row) for row in rows]})
        shown.extend(row.id for row in rows)
    history: dict[int, list[MatchEvent]] = {}
    if shown:
        for event in page.db.scalars(
            select(MatchEvent).where(MatchEvent.match_id.in_(shown)).order_by(MatchEvent.id)
        ):
            history.setdefault(event.match_id, []).append(event)
    return render(
        page,
        "broker/pipeline.html",
        columns=columns,
        history=history,
        transitions=TRANSITIONS,
        reasons={status.value: REASONS[status] for status in REASONS},
        suggested=queue_service.list_matches(
            session=page.db, filters=MatchFilters(statuses=(MatchStatus.SUGGESTED,)), limit=0
        )[1],
    )
