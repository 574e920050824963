"""A member asks the exchange's brokers to introduce one of its listings to a listing of the other side.

The request is a match in the brokers' queue (status `suggested`, scored like any suggestion) whose
history records who asked; an existing suggestion of the pair gets the request added to it. Pairs
brokers already took up or closed are left as they are: the member is told where the pair stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import Viewer, can_write
from models.base import utcnow
from models.errors import ForbiddenError
from models.id_sets import id_in
from models.listings import Need, Offer
from models.match_pairs import Scoring, check_pairable, locked_pair, material_fingerprint
from models.matches import Match, MatchEvent, MatchSource, MatchStatus

# The reason recorded on the event, so the queue and the history can tell a member's request apart.
INTRODUCTION_REQUESTED = "introduction_requested"
NOTE_MAX_LENGTH = 2_000


@dataclass(frozen=True)
class IntroductionRequest:
    match: Match
    # "created": a new pair in the queue; "added": the request joined a waiting suggestion;
    # "already_requested": asked before; "in_pipeline" / "closed": brokers already decided.
    outcome: str


def request_introduction(
    *,
    session: Session,
    need: Need,
    offer: Offer,
    requester: Viewer,
    requester_label: str,
    scoring: Scoring | None,
    note: str | None = None,
) -> IntroductionRequest:
    """Put the pair in the brokers' queue on behalf of the owner of one of its listings."""
    if not (
        requester.organization_id is not None
        and (
            can_write(requester, organization_id=need.organization_id)
            or can_write(requester, organization_id=offer.organization_id)
        )
    ):
        raise ForbiddenError("Only the organization of the need or of the offer may ask for an introduction.")
    check_pairable(need=need, offer=offer)
    text = f"{requester_label}: {note.strip()}" if note and note.strip() else requester_label
    text = text[:NOTE_MAX_LENGTH]
    match = locked_pair(session=session, need=need, offer=offer)
    if match is not None and match.status != MatchStatus.SUGGESTED:
        closed = match.status in (MatchStatus.REJECTED, MatchStatus.LOST, MatchStatus.DEAL)
        return IntroductionRequest(match, "closed" if closed else "in_pipeline")
    if match is not None and requested(session=session, match_id=match.id):
        return IntroductionRequest(match, "already_requested")
    outcome = "added"
    if match is None:
        match = Match(
            need_id=need.id,
            offer_id=offer.id,
            status=MatchStatus.SUGGESTED,
            source=MatchSource.ENGINE,
            fingerprint=material_fingerprint(need=need, offer=offer),
        )
        if scoring is not None:
            match.score = scoring.score
            match.text_score = scoring.text_score
            match.explanation = scoring.explanation
            match.features = scoring.features
            match.feature_names = scoring.feature_names
            match.ranker_version = scoring.ranker_version
        session.add(match)
        outcome = "created"
    match.note = f"{match.note}\n{text}" if match.note else text
    match.updated_at = utcnow()
    session.flush()
    session.add(
        MatchEvent(
            match_id=match.id,
            from_status=MatchStatus.SUGGESTED if outcome == "added" else None,
            to_status=MatchStatus.SUGGESTED,
            reason=INTRODUCTION_REQUESTED,
            note=text,
            actor_api_key_id=requester.api_key_id,
            actor_role=requester.role.value if requester.role else "system",
            created_at=utcnow(),
        )
    )
    session.flush()
    return IntroductionRequest(match, outcome)


def requested(*, session: Session, match_id: int) -> bool:
    """Whether a member asked for this match to be introduced."""
    query = select(MatchEvent.id).where(
        MatchEvent.match_id == match_id, MatchEvent.reason == INTRODUCTION_REQUESTED
    )
    return session.scalar(query.limit(1)) is not None


def pair_statuses(
    *, session: Session, need_ids: list[int], offer_ids: list[int]
) -> dict[tuple[int, int], Match]:
    """The matches among these needs and offers, by (need id, offer id): where each pair stands."""
    if not need_ids or not offer_ids:
        return {}
    rows = session.scalars(
        select(Match).where(id_in(Match.need_id, need_ids), id_in(Match.offer_id, offer_ids))
    ).unique()
    return {(row.need_id, row.offer_id): row for row in rows}
