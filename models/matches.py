"""Matches between needs and offers: the Match and MatchEvent tables and the pipeline's rules.

A match is created by the suggestion worker (status `suggested`) or by a broker; brokers
review it and move it along TRANSITIONS, and every move is a MatchEvent saying who, when
and why. Services over these tables: models.match_pairs (what may be paired), models.match_pipeline
(the moves), models.match_queue (the brokers' queue) and models.match_decisions (training data).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
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
    # Material fields of both listings when the pair was last scored or decided
    # (see models.match_pairs.material_fingerprint).
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
