"""Learning from decisions: brokers' moves as labelled, weighted samples for the ranker."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.matches import Match, MatchEvent, MatchReason, MatchStatus

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
