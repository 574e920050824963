"""Request and response bodies of the broker workflow: the match queue, reviews, the pipeline and alerts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from api.schemas.common import CleanText, Id, Strict, UtcDatetime
from api.schemas.matches import ExplanationRead
from core.taxonomy import Confidentiality, Sector
from models.matches import TRANSITIONS, MatchReason, MatchSource, MatchStatus
from models.outbox import NotificationStatus

Note = Annotated[CleanText, StringConstraints(strip_whitespace=True, max_length=4_000)]


class ListingBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    sector: Sector
    organization_id: int
    organization_name: str
    confidentiality: Confidentiality


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    match_id: int | None
    event: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: UtcDatetime
    last_status_code: int | None
    last_error: str | None
    idempotency_key: str
    created_at: UtcDatetime
    delivered_at: UtcDatetime | None


class MatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: MatchStatus
    source: MatchSource
    score: float | None
    text_score: float | None
    ranker_version: str | None
    explanation: ExplanationRead | None
    features: dict[str, float] | None
    note: str | None
    need: ListingBrief
    offer: ListingBrief
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def allowed_next(self) -> list[MatchStatus]:
        return list(TRANSITIONS[self.status])


class MatchDetail(MatchRead):
    notifications: list[NotificationRead] = []


class MatchPage(BaseModel):
    items: list[MatchRead]
    total: int
    offset: int
    limit: int


class MatchCreate(Strict):
    need_id: Id
    offer_id: Id
    note: Note | None = None


class ReviewBody(Strict):
    decision: Literal["accept", "reject"]
    reason: MatchReason | None = Field(default=None, description="Required for rejections")
    note: Note | None = None


class TransitionBody(Strict):
    to: MatchStatus
    reason: MatchReason | None = Field(default=None, description="Required when the match becomes lost")
    note: Note | None = None


class MatchEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    match_id: int
    from_status: MatchStatus | None
    to_status: MatchStatus
    reason: str | None
    note: str | None
    actor_api_key_id: int | None
    actor_role: str
    created_at: UtcDatetime


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    total: int
    offset: int
    limit: int


class AcceptanceRead(BaseModel):
    reviews: int
    accepted: int
    rate: float


class StageDurationRead(BaseModel):
    count: int
    mean_hours: float
    median_hours: float


class ListingWeekRead(BaseModel):
    week: date = Field(description="The Monday the week starts on (UTC)")
    offers: int
    needs: int


class BrokerStats(BaseModel):
    matches: int
    by_status: dict[str, int]
    reached: dict[str, int] = Field(description="Matches that ever entered each stage (the funnel)")
    suggestions: int
    suggestions_by_sector: dict[str, int]
    suggestions_by_score_band: dict[str, int]
    reviews: int
    acceptance_rate: float | None
    acceptance_by_sector: dict[str, AcceptanceRead]
    acceptance_by_score_band: dict[str, AcceptanceRead]
    stage_durations: dict[str, StageDurationRead]
    listings_by_week: list[ListingWeekRead]


def match_view(match: Any) -> dict[str, Any]:
    """A match row as MatchRead input: listing briefs and the feature vector keyed by name."""
    features = (
        dict(zip(match.feature_names, match.features, strict=True))
        if match.features and match.feature_names
        else None
    )
    briefs = {
        side: {
            "id": row.id,
            "title": row.title,
            "sector": row.sector,
            "organization_id": row.organization_id,
            "organization_name": row.organization.name,
            "confidentiality": row.confidentiality,
        }
        for side, row in (("need", match.need), ("offer", match.offer))
    }
    fields = (
        "id",
        "status",
        "source",
        "score",
        "text_score",
        "ranker_version",
        "explanation",
        "note",
        "created_at",
        "updated_at",
    )
    return {**{name: getattr(match, name) for name in fields}, "features": features, **briefs}
