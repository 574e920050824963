"""Matches between needs and offers, the broker pipeline they move through and its history.

A match is created by the suggestion worker (status `suggested`) or by a broker; brokers
review it and move it along TRANSITIONS, and every move is a MatchEvent saying who, when
and why. Introductions alert both organizations through the outbox, in the same
transaction as the move.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from core.access import Viewer, can_see
from core.taxonomy import Sector
from models import outbox
from models.base import Base, utcnow
from models.errors import ConflictError, InvalidError, NotFoundError
from models.listings import Need, Offer
from models.organizations import enum_column


class MatchStatus(StrEnum):
    SUGGESTED = "suggested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INTRODUCED = "introduced"
    NEGOTIATING = "negotiating"
    DEAL = "deal"
    LOST = "lost"


class MatchSource(StrEnum):
    ENGINE = "engine"
    BROKER = "broker"


class MatchReason(StrEnum):
    NOT_RELEVANT = "not_relevant"
    SECTOR_MISMATCH = "sector_mismatch"
    TOO_EARLY_STAGE = "too_early_stage"
    PRICE_BUDGET = "price_budget"
    IP_TERMS = "ip_terms"
    DUPLICATE = "duplicate"
    NO_RESPONSE = "no_response"
    CHOSE_ANOTHER = "chose_another"
    TIMING = "timing"
    OTHER = "other"
    # Written by the engine when it brings a closed pair back after a material change.
    LISTING_CHANGED = "listing_changed"


# The only legal moves; rejected, deal and lost are closed for people (the engine may
# reopen rejected and lost pairs, see REOPENABLE).
TRANSITIONS: dict[MatchStatus, tuple[MatchStatus, ...]] = {
    MatchStatus.SUGGESTED: (MatchStatus.ACCEPTED, MatchStatus.REJECTED),
    MatchStatus.ACCEPTED: (MatchStatus.INTRODUCED, MatchStatus.LOST),
    MatchStatus.INTRODUCED: (MatchStatus.NEGOTIATING, MatchStatus.LOST),
    MatchStatus.NEGOTIATING: (MatchStatus.DEAL, MatchStatus.LOST),
    MatchStatus.REJECTED: (),
    MatchStatus.DEAL: (),
    MatchStatus.LOST: (),
}

# Statuses that need a reason, and the codes each accepts.
REASONS: dict[MatchStatus, tuple[MatchReason, ...]] = {
    MatchStatus.REJECTED: (
        MatchReason.NOT_RELEVANT,
        MatchReason.SECTOR_MISMATCH,
        MatchReason.TOO_EARLY_STAGE,
        MatchReason.PRICE_BUDGET,
        MatchReason.IP_TERMS,
        MatchReason.DUPLICATE,
        MatchReason.OTHER,
    ),
    MatchStatus.LOST: (
        MatchReason.PRICE_BUDGET,
        MatchReason.IP_TERMS,
        MatchReason.NO_RESPONSE,
        MatchReason.CHOSE_ANOTHER,
        MatchReason.TIMING,
        MatchReason.OTHER,
    ),
}

# Closed without a deal: worth suggesting again once either listing changed materially.
# Pairs in the pipeline or with a deal are left alone whatever changes.
REOPENABLE = (MatchStatus.REJECTED, MatchStatus.LOST)
SYSTEM_ROLE = "system"


class Match(Base):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("need_id", "offer_id", name="uq_matches_need_offer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    status: Mapped[MatchStatus] = mapped_column(enum_column(MatchStatus, 16), index=True)
    source: Mapped[MatchSource] = mapped_column(enum_column(MatchSource, 16))
    score: Mapped[float | None] = mapped_column(index=True)
    text_score: Mapped[float | None] = mapped_column()
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The ranker's input when last scored, in matcher.features.FEATURE_NAMES order: training data.
    features: Mapped[list[float] | None] = mapped_column(JSON)
    feature_names: Mapped[list[str] | None] = mapped_column(JSON)
    ranker_version: Mapped[str | None] = mapped_column(String(80))
    # Material fields of both listings when the pair was last scored or decided (see material_fingerprint).
    fingerprint: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship(lazy="joined")
    offer: Mapped[Offer] = relationship(lazy="joined")


class MatchEvent(Base):
    """One status change of a match; `from_status` is None for the creation."""

    __tablename__ = "match_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[MatchStatus | None] = mapped_column(enum_column(MatchStatus, 16))
    to_status: Mapped[MatchStatus] = mapped_column(enum_column(MatchStatus, 16))
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # No foreign key: the history must outlive a deleted API key.
    actor_api_key_id: Mapped[int | None] = mapped_column()
    actor_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Scoring:
    """What the engine said about a pair: stored on the match for review and for training."""

    score: float
    text_score: float
    explanation: dict[str, Any]
    features: list[float]
    feature_names: list[str]
    ranker_version: str | None


@dataclass(frozen=True)
class MatchFilters:
    statuses: Sequence[MatchStatus] = ()
    sectors: Sequence[Sector] = ()
    score_min: float | None = None
    score_max: float | None = None
    need_id: int | None = None
    offer_id: int | None = None
    organization_id: int | None = None
    # Only matches with an event of this reason (e.g. a member's request for an introduction).
    event_reason: str | None = None


def _material(row: Need | Offer) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": row.title,
        "description": row.description,
        "sector": row.sector,
        "keywords": sorted(row.keywords or ()),
        "transfer_types": sorted(row.transfer_types or ()),
        "currency": row.currency,
    }
    if isinstance(row, Offer):
        values |= {"trl": row.trl, "ip_status": row.ip_status, "price": [row.price_min, row.price_max]}
    else:
        values |= {"min_trl": row.min_trl, "budget": [row.budget_min, row.budget_max]}
    return values


def material_fingerprint(*, need: Need, offer: Offer) -> str:
    """Hash of what a broker judges a pair on; region, status and dates are left out on purpose."""
    text = json.dumps({"need": _material(need), "offer": _material(offer)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_pairable(*, need: Need, offer: Offer) -> None:
    """The matcher's hard rules, for pairs a broker proposes by hand."""
    if need.organization_id == offer.organization_id:
        raise InvalidError("An organization cannot be matched with itself.")
    if need.organization_id in (offer.excluded_organization_ids or ()) or offer.organization_id in (
        need.excluded_organization_ids or ()
    ):
        raise InvalidError("One of the organizations excluded the other from its matches.")


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


def get_match(*, session: Session, match_id: int, lock: bool = False) -> Match:
    """A match by id; `lock` holds its row until commit so that two brokers cannot move it at once."""
    query = select(Match).where(Match.id == match_id)
    if lock:
        query = query.with_for_update(of=Match)
    match = session.scalars(query).unique().one_or_none()
    if match is None:
        raise NotFoundError(f"Match {match_id} does not exist.")
    return match


SORTS: dict[str, Callable[[], tuple[Any, ...]]] = {
    "-score": lambda: (Match.score.desc().nulls_last(), Match.id.desc()),
    "score": lambda: (Match.score.asc().nulls_first(), Match.id.asc()),
    "created_at": lambda: (Match.created_at.asc(), Match.id.asc()),
    "-created_at": lambda: (Match.created_at.desc(), Match.id.desc()),
}


def list_matches(
    *, session: Session, filters: MatchFilters, offset: int = 0, limit: int = 20, sort: str = "-score"
) -> tuple[list[Match], int]:
    """One page of matches for the broker queue, and the total matching the filters.

    A match's sector is its need's: the enterprise's problem decides where the deal belongs.
    """
    need, offer = aliased(Need), aliased(Offer)
    query = select(Match).join(need, Match.need_id == need.id).join(offer, Match.offer_id == offer.id)
    if filters.statuses:
        query = query.where(Match.status.in_(filters.statuses))
    if filters.sectors:
        query = query.where(need.sector.in_(filters.sectors))
    if filters.score_min is not None:
        query = query.where(Match.score >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(Match.score <= filters.score_max)
    if filters.need_id is not None:
        query = query.where(Match.need_id == filters.need_id)
    if filters.offer_id is not None:
        query = query.where(Match.offer_id == filters.offer_id)
    if filters.organization_id is not None:
        query = query.where(
            or_(
                need.organization_id == filters.organization_id,
                offer.organization_id == filters.organization_id,
            )
        )
    if filters.event_reason is not None:
        query = query.where(
            Match.id.in_(select(MatchEvent.match_id).where(MatchEvent.reason == filters.event_reason))
        )
    total = (
        session.scalar(select(func.count()).select_from(query.with_only_columns(Match.id).subquery())) or 0
    )
    rows = session.scalars(query.order_by(*SORTS[sort]()).offset(offset).limit(limit)).unique().all()
    return list(rows), total


def new_pair(*, session: Session, need_id: int, offer_id: int) -> tuple[Need, Offer]:
    """The listings of a pair a broker proposes, checked against the hard rules and existing matches."""
    need, offer = session.get(Need, need_id), session.get(Offer, offer_id)
    if need is None or offer is None:
        raise InvalidError(
            f"Need {need_id} does not exist." if need is None else f"Offer {offer_id} does not exist."
        )
    check_pairable(need=need, offer=offer)
    existing = session.scalar(select(Match).where(Match.need_id == need_id, Match.offer_id == offer_id))
    if existing is not None:
        raise ConflictError(
            f"Need {need_id} and offer {offer_id} are already match {existing.id} ({existing.status})."
        )
    return need, offer


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


def _of_listing(kind: str, listing_id: int) -> Any:
    return (Match.need_id if kind == "needs" else Match.offer_id) == listing_id


def withdraw_suggestions(*, session: Session, kind: str, listing_id: int) -> int:
    """Drop the undecided suggestions of a listing that left the exchange; decided pairs stay."""
    result = session.execute(
        delete(Match).where(_of_listing(kind, listing_id), Match.status == MatchStatus.SUGGESTED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def decided_match_count(*, session: Session, kind: str, listing_id: int) -> int:
    """Matches of a listing that brokers have acted on: their history must not vanish with it."""
    query = select(func.count()).where(_of_listing(kind, listing_id), Match.status != MatchStatus.SUGGESTED)
    return int(session.scalar(query) or 0)


def locked_pair(*, session: Session, need: Need, offer: Offer) -> Match | None:
    """The pair's match, if any, locked until commit: two writers of one pair take turns."""
    query = (
        select(Match).where(Match.need_id == need.id, Match.offer_id == offer.id).with_for_update(of=Match)
    )
    return session.scalars(query).unique().one_or_none()


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


def match_history(*, session: Session, match_id: int) -> list[MatchEvent]:
    return list(
        session.scalars(select(MatchEvent).where(MatchEvent.match_id == match_id).order_by(MatchEvent.id))
    )


# --- learning from decisions -----------------------------------------------------------------

POSITIVE = (MatchStatus.ACCEPTED, MatchStatus.INTRODUCED, MatchStatus.NEGOTIATING, MatchStatus.DEAL)
# How much a rejection says about relevance, the thing the ranker scores. A duplicate says
# nothing (the pair may be perfect); price and IP terms are commercial and only partly in
# the features; "other" is unknown.
REJECTION_WEIGHTS: dict[str, float] = {
    MatchReason.NOT_RELEVANT: 1.0,
    MatchReason.SECTOR_MISMATCH: 1.0,
    MatchReason.TOO_EARLY_STAGE: 1.0,
    MatchReason.PRICE_BUDGET: 0.5,
    MatchReason.IP_TERMS: 0.5,
    MatchReason.OTHER: 0.5,
    MatchReason.DUPLICATE: 0.0,
}
# A lost pair was accepted by a broker first: a yes to relevance, but a weaker one.
LOST_WEIGHT = 0.5


@dataclass(frozen=True)
class Decision:
    """One broker decision as a training sample."""

    match_id: int
    need_id: int
    features: list[float]
    feature_names: list[str]
    label: int
    weight: float


def decision_label(status: MatchStatus, reason: str | None) -> tuple[int, float] | None:
    """(label, weight) of a match's current status, or None when it says nothing (yet)."""
    if status in POSITIVE:
        return 1, 1.0
    if status == MatchStatus.LOST:
        return 1, LOST_WEIGHT
    if status == MatchStatus.REJECTED:
        weight = REJECTION_WEIGHTS.get(reason or MatchReason.OTHER, 0.5)
        return (0, weight) if weight > 0 else None
    return None


def broker_decisions(*, session: Session) -> list[Decision]:
    """Every decided match that was scored, labelled and weighted by decision_label."""
    decided = [status for status in MatchStatus if status != MatchStatus.SUGGESTED]
    wanted = Match.status.in_(decided) & Match.features.is_not(None)
    # The matches' events through a join, not a list of their ids: no parameter per decision.
    last_reason: dict[int, str | None] = {}
    for match_id, reason in session.execute(
        select(MatchEvent.match_id, MatchEvent.reason)
        .join(Match, Match.id == MatchEvent.match_id)
        .where(wanted)
        .order_by(MatchEvent.id)
    ):
        last_reason[match_id] = reason
    decisions = []
    # Columns, not ORM rows with their joined listings: train-ranker reads every decision.
    columns = select(Match.id, Match.need_id, Match.status, Match.features, Match.feature_names)
    for match_id, need_id, status, features, names in session.execute(
        columns.where(wanted).order_by(Match.id)
    ):
        labelled = decision_label(status, last_reason.get(match_id))
        if labelled is not None and features:
            decisions.append(Decision(match_id, need_id, list(features), list(names or ()), *labelled))
    return decisions
