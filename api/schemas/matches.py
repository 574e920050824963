"""Response bodies of search and match endpoints."""

from __future__ import annotations

from pydantic import BaseModel

from api.schemas.links import AlsoListed
from api.schemas.listings import NeedRead, OfferRead


class FeatureEffectRead(BaseModel):
    name: str
    value: float
    effect: float
    reason: str


class CorrespondenceRead(BaseModel):
    """For a pair in two languages: a sentence of the query listing and the closest of the other."""

    source: str
    target: str
    similarity: float


class ExplanationRead(BaseModel):
    matched_terms: list[str]
    features: list[FeatureEffectRead] = []
    would_qualify: list[str] = []
    correspondences: list[CorrespondenceRead] = []


class OfferHit(BaseModel):
    score: float
    text_score: float
    ranker_version: str | None = None
    offer: OfferRead
    explanation: ExplanationRead
    also_listed_as: list[AlsoListed] = []


class NeedHit(BaseModel):
    score: float
    text_score: float
    ranker_version: str | None = None
    need: NeedRead
    explanation: ExplanationRead
    also_listed_as: list[AlsoListed] = []


class OfferResults(BaseModel):
    items: list[OfferHit]
    total: int
    offset: int
    limit: int


class NeedResults(BaseModel):
    items: list[NeedHit]
    total: int
    offset: int
    limit: int
