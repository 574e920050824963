"""The broker pipeline's moves: the engine's suggestions, brokers' own pairs and status changes.

Every move is a MatchEvent saying who, when and why; introductions (and strong suggestions) alert
both organizations through the outbox, in the same transaction as the move.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from core.access import Viewer, can_see
from models import outbox
from models.base import utcnow
from models.errors import ConflictError, InvalidError
from models.listings import Need, Offer
from models.match_pairs import Scoring, locked_pair, material_fingerprint
from models.matches import (
    REASONS,
    REOPENABLE,
    SYSTEM_ROLE,
    TRANSITIONS,
    Match,
    MatchEvent,
    MatchReason,
    MatchSource,
    MatchStatus,
)


def _add_event(
    session: Session,
    match: Match,
    *,
    to: MatchStatus,
    actor: Viewer | None,
    reason: str | None = None,
    note: str | None = None,
    from_status: MatchStatus | None = None,
) -> MatchEvent:
    event = MatchEvent(
        match_id=match.id,
        from_status=from_status,
        to_status=to,
        reason=reason,
        note=note,
        actor_api_key_id=actor.api_key_id if actor else None,
        actor_role=actor.role.value if actor and actor.role else SYSTEM_ROLE,
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def _apply_scoring(match: Match, scoring: Scoring) -> None:
    match.score = scoring.score
    match.text_score = scoring.text_score
    match.explanation = scoring.explanation
    match.features = scoring.features
    match.feature_names = scoring.feature_names
    match.ranker_version = scoring.ranker_version


def _summary(row: Need | Offer) -> dict[str, Any]:
    return {
        "kind": "need" if isinstance(row, Need) else "offer",
        "id": row.id,
        "title": row.title,
        "sector": str(row.sector),
        "organization": {"id": row.organization_id, "name": row.organization.name},
    }


def _alert(session: Session, match: Match, event: MatchEvent, *, kind: str, only_if_visible: bool) -> None:
    """One notification per side, keyed by the event: a retry carries the same key as the original.

    With `only_if_visible`, an organization is not told about a listing it may not see
    (a brokers-only need stays hidden from offer owners until a broker introduces them).
    """
    sides = (
        (match.need.organization, match.need, match.offer),
        (match.offer.organization, match.offer, match.need),
    )
    for organization, own, counterpart in sides:
        if only_if_visible and not can_see(
            Viewer(organization_id=organization.id),
            organization_id=counterpart.organization_id,
            status=counterpart.status,
            confidentiality=counterpart.confidentiality,
        ):
            continue
        payload = {
            "event": kind,
            "occurred_at": event.created_at.isoformat(),
            "organization_id": organization.id,
            "match": {"id": match.id, "status": str(match.status), "score": match.score},
            "your_listing": _summary(own),
            "counterpart": _summary(counterpart),
            "note": event.note,
        }
        key = hashlib.sha256(f"techmatch:{event.id}:{organization.id}".encode()).hexdigest()[:40]
        outbox.enqueue(
            session=session,
            organization=organization,
            event=kind,
            payload=payload,
            idempotency_key=key,
            match_id=match.id,
        )


def create_match(
    *, session: Session, need: Need, offer: Offer, actor: Viewer, note: str | None, scoring: Scoring | None
) -> Match:
    """A pair a broker proposes by hand (see new_pair): accepted at once, since a broker chose it."""
    match = Match(
        need_id=need.id,
        offer_id=offer.id,
        status=MatchStatus.ACCEPTED,
        source=MatchSource.BROKER,
        note=note,
        fingerprint=material_fingerprint(need=need, offer=offer),
    )
    if scoring is not None:
        _apply_scoring(match, scoring)
    session.add(match)
    session.flush()
    _add_event(session, match, to=MatchStatus.ACCEPTED, actor=actor, note=note)
    return match


def record_suggestion(
    *, session: Session, need: Need, offer: Offer, scoring: Scoring, strong_threshold: float | None
) -> str:
    """Store the engine's suggestion of a pair; returns created, refreshed, reopened or kept.

    A pair still waiting for review gets the new score; a pair closed without a deal comes
    back only if a listing changed materially since the decision; others are kept as decided.
    """
    fingerprint = material_fingerprint(need=need, offer=offer)
    match = locked_pair(session=session, need=need, offer=offer)
    if match is None:
        match = Match(
            need_id=need.id,
            offer_id=offer.id,
            status=MatchStatus.SUGGESTED,
            source=MatchSource.ENGINE,
            fingerprint=fingerprint,
        )
        _apply_scoring(match, scoring)
        session.add(match)
        session.flush()
        event = _add_event(session, match, to=MatchStatus.SUGGESTED, actor=None)
        outcome = "created"
    elif match.status == MatchStatus.SUGGESTED:
        _apply_scoring(match, scoring)
        match.fingerprint = fingerprint
        match.updated_at = utcnow()
        session.flush()
        return "refreshed"
    elif match.status in REOPENABLE and match.fingerprint != fingerprint:
        previous = match.status
        match.status = MatchStatus.SUGGESTED
        match.fingerprint = fingerprint
        match.updated_at = utcnow()
        _apply_scoring(match, scoring)
        session.flush()
        event = _add_event(
            session,
            match,
            to=MatchStatus.SUGGESTED,
            actor=None,
            from_status=previous,
            reason=MatchReason.LISTING_CHANGED.value,
        )
        outcome = "reopened"
    else:
        return "kept"
    if strong_threshold is not None and scoring.score >= strong_threshold:
        _alert(session, match, event, kind="match.suggested", only_if_visible=True)
    return outcome


def _check_reason(to: MatchStatus, reason: MatchReason | None, note: str | None) -> None:
    allowed = REASONS.get(to)
    if allowed is None:
        if reason is not None:
            raise InvalidError(f"A reason is given only when a match becomes {' or '.join(REASONS)}.")
        return
    codes = ", ".join(code.value for code in allowed)
    if reason is None:
        raise InvalidError(f"Say why the match is {to.value}: reason is one of {codes}.")
    if reason not in allowed:
        raise InvalidError(f"{reason.value!r} is not a reason for {to.value}; use one of {codes}.")
    if reason == MatchReason.OTHER and not (note and note.strip()):
        raise InvalidError("Reason 'other' needs a note saying what it was.")


def transition(
    *,
    session: Session,
    match: Match,
    to: MatchStatus,
    actor: Viewer,
    reason: MatchReason | None = None,
    note: str | None = None,
) -> MatchEvent:
    """Move a match one step along TRANSITIONS, recording the step; introductions alert both sides."""
    allowed = TRANSITIONS[match.status]
    if to not in allowed:
        next_steps = ", ".join(status.value for status in allowed) or "none (the match is closed)"
        raise ConflictError(
            f"Match {match.id} is {match.status.value}; it cannot become {to.value}. "
            f"Allowed next: {next_steps}."
        )
    _check_reason(to, reason, note)
    previous = match.status
    match.status = to
    match.updated_at = utcnow()
    # What the broker decided on: a later material change may reopen a closed pair.
    match.fingerprint = material_fingerprint(need=match.need, offer=match.offer)
    session.flush()
    event = _add_event(
        session,
        match,
        to=to,
        actor=actor,
        from_status=previous,
        reason=reason.value if reason else None,
        note=note,
    )
    if to == MatchStatus.INTRODUCED:
        _alert(session, match, event, kind="match.introduced", only_if_visible=False)
    return event
