"""Ranked, explained matches: free-text search, need → offers and offer → needs."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from core.access import Viewer, can_see
from core.settings import Settings
from core.taxonomy import ListingStatus
from indexes.documents import IndexDocument, listing_text
from indexes.text import matched_terms
from matcher.features import FEATURE_NAMES, NEUTRAL, TEXT_FEATURES, Feature, compatibility, text_features
from matcher.fusion import AdaptiveFusion, FusedCandidate
from matcher.ranker import MatchRanker
from matcher.records import ListingRecord, NeedRecord, OfferRecord, RecordSource

Hits = list[tuple[int, float]]
# Neutral reference for explanations: a feature "helped" when it scored above this.
REFERENCE = np.array([NEUTRAL] * len(FEATURE_NAMES))
# Enough matched terms to see why, few enough to read at a glance.
MAX_MATCHED_TERMS = 12


class TextIndex(Protocol):
    """The two retrievers of one listing kind (see indexes.catalog.ListingIndex)."""

    def dense_search(
        self,
        text: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,
        vector: np.ndarray | None = None,
    ) -> Hits: ...

    def lexical_search(self, text: str, k: int, *, allowed_ids: Collection[int] | None = None) -> Hits: ...

    def informative(self, phrase: str) -> bool: ...

    def stored_vector(self, document: IndexDocument) -> np.ndarray | None: ...


@dataclass(frozen=True)
class FeatureEffect:
    name: str
    value: float
    effect: float
    reason: str


@dataclass(frozen=True)
class Explanation:
    matched_terms: list[str]
    features: list[FeatureEffect] = field(default_factory=list)
    would_qualify: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScoredListing:
    """One result: the listing's id, its bounded score and why it is there."""

    id: int
    score: float
    text_score: float
    explanation: Explanation
    ranker_version: str | None = None
    # The ranker's input for this pair, in FEATURE_NAMES order: stored with suggestions as training data.
    features: tuple[float, ...] = ()


def visible_candidate(record: ListingRecord, viewer: Viewer) -> bool:
    return record.status == ListingStatus.PUBLISHED and can_see(
        viewer,
        organization_id=record.organization_id,
        status=record.status,
        confidentiality=record.confidentiality,
    )


def may_pair(a: ListingRecord, b: ListingRecord) -> bool:
    """Hard rules: never an organization with itself, never against an explicit exclusion."""
    return (
        a.organization_id != b.organization_id
        and a.organization_id not in b.excluded_organization_ids
        and b.organization_id not in a.excluded_organization_ids
    )


class Matcher:
    """Candidates from both retrievers, adaptive fusion, then the ranker over text and structure."""

    def __init__(
        self,
        *,
        indexes: Mapping[str, TextIndex],
        fusion: AdaptiveFusion,
        ranker: MatchRanker,
        ranker_version: str,
        candidates: int = 200,
        reuse_listing_vectors: bool = True,
    ) -> None:
        self.indexes = indexes
        self.fusion = fusion
        self.ranker = ranker
        self.ranker_version = ranker_version
        self.candidates = candidates
        # With a symmetric model (no query/passage prefixes) a listing's indexed vector is
        # exactly its query vector, which saves encoding a long text on every match request.
        self.reuse_listing_vectors = reuse_listing_vectors

    def retrieve(
        self, *, kind: str, text: str, allowed_ids: Collection[int] | None, vector: np.ndarray | None = None
    ) -> tuple[Hits, Hits]:
        """(BM25 hits, dense hits) from the `kind` indexes, restricted to `allowed_ids` inside retrieval."""
        if allowed_ids is not None and not allowed_ids:
            return [], []
        index = self.indexes[kind]
        k = self.candidates if allowed_ids is None else min(self.candidates, len(allowed_ids))
        lexical = index.lexical_search(text, k, allowed_ids=allowed_ids)
        dense = index.dense_search(text, k, allowed_ids=allowed_ids, vector=vector)
        return lexical, dense

    def candidates_for(
        self, *, kind: str, text: str, allowed_ids: Collection[int] | None, vector: np.ndarray | None = None
    ) -> list[FusedCandidate]:
        """Both retrievers' candidates fused into one ranking."""
        lexical, dense = self.retrieve(kind=kind, text=text, allowed_ids=allowed_ids, vector=vector)
        return self.fusion.fuse(lexical, dense, query=text)

    def search(
        self,
        *,
        kind: str,
        query: str,
        allowed_ids: Collection[int] | None,
        source: RecordSource,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[ScoredListing], int]:
        """A page of free-text results, with the words each matched, and the number of candidates found."""
        fused = self.candidates_for(kind=kind, text=query, allowed_ids=allowed_ids)
        page = fused[offset : offset + limit]
        ids = [candidate.id for candidate in page]
        records: Mapping[int, ListingRecord] = source.offers(ids) if kind == "offers" else source.needs(ids)
        results = [
            ScoredListing(
                id=candidate.id,
                score=round(candidate.score, 4),
                text_score=round(candidate.score, 4),
                explanation=Explanation(matched_terms=self._terms(kind, query, records[candidate.id])),
            )
            for candidate in page
            if candidate.id in records
        ]
        return results, len(fused)

    def match_need(
        self,
        *,
        need: NeedRecord,
        allowed_offer_ids: Collection[int] | None,
        source: RecordSource,
        viewer: Viewer,
        k: int = 10,
        now: datetime | None = None,
    ) -> list[ScoredListing]:
        """The offers best able to solve `need`."""
        return self.match(need, allowed_ids=allowed_offer_ids, source=source, viewer=viewer, k=k, now=now)

    def match_offer(
        self,
        *,
        offer: OfferRecord,
        allowed_need_ids: Collection[int] | None,
        source: RecordSource,
        viewer: Viewer,
        k: int = 10,
        now: datetime | None = None,
    ) -> list[ScoredListing]:
        """The needs `offer` could solve."""
        return self.match(offer, allowed_ids=allowed_need_ids, source=source, viewer=viewer, k=k, now=now)

    def match(
        self,
        listing: NeedRecord | OfferRecord,
        *,
        allowed_ids: Collection[int] | None,
        source: RecordSource,
        viewer: Viewer,
        k: int = 10,
        now: datetime | None = None,
    ) -> list[ScoredListing]:
        """Listings of the other side for `listing`: candidates, hard rules, ranker, explanations."""
        is_need = isinstance(listing, NeedRecord)
        own, other = ("needs", "offers") if is_need else ("offers", "needs")
        fused = self.candidates_for(
            kind=other,
            text=query_text(listing),
            allowed_ids=allowed_ids,
            vector=self._own_vector(own, listing),
        )
        ids = [candidate.id for candidate in fused]
        found: Mapping[int, ListingRecord] = source.offers(ids) if is_need else source.needs(ids)
        pairs = [
            (candidate, listing, found[candidate.id])
            if is_need
            else (candidate, found[candidate.id], listing)
            for candidate in fused
            if candidate.id in found
        ]
        return self._rank(
            pairs,  # type: ignore[arg-type]
            other_side=(lambda pair: pair[2]) if is_need else (lambda pair: pair[1]),
            query=listing,
            viewer=viewer,
            k=k,
            now=now,
            kind=other,
        )

    def _own_vector(self, kind: str, record: ListingRecord) -> np.ndarray | None:
        if not self.reuse_listing_vectors or kind not in self.indexes:
            return None
        return self.indexes[kind].stored_vector(IndexDocument(record.id, query_text(record)))

    def _rank(
        self,
        pairs: Sequence[tuple[FusedCandidate, NeedRecord, OfferRecord]],
        *,
        other_side: Callable[[tuple[FusedCandidate, NeedRecord, OfferRecord]], ListingRecord],
        query: ListingRecord,
        viewer: Viewer,
        k: int,
        now: datetime | None,
        kind: str,
    ) -> list[ScoredListing]:
        now = now or datetime.now(UTC)
        kept = [
            pair
            for pair in pairs
            if may_pair(pair[1], pair[2]) and visible_candidate(other_side(pair), viewer)
        ]
        if not kept:
            return []
        structured = [compatibility(need, offer, now=now) for _candidate, need, offer in kept]
        matrix = np.array(
            [
                [*text_features(candidate), *(feature.value for feature in features)]
                for (candidate, _need, _offer), features in zip(kept, structured, strict=True)
            ]
        )
        scores = self.ranker.score_pairs(matrix)
        order = np.argsort(-scores, kind="stable")[:k]
        results = []
        for row in order:
            candidate = kept[row][0]
            other: ListingRecord = other_side(kept[row])
            results.append(
                ScoredListing(
                    id=other.id,
                    score=round(float(scores[row]), 4),
                    text_score=round(candidate.score, 4),
                    explanation=self._explain(
                        matrix[row], structured[row], query=query, other=other, kind=kind
                    ),
                    ranker_version=self.ranker_version,
                    features=tuple(round(float(value), 6) for value in matrix[row]),
                )
            )
        return results

    def _terms(self, kind: str, query: str, record: ListingRecord) -> list[str]:
        """Matched phrases in the listing's own words, longest first, without uninformative ones."""
        index = self.indexes[kind]
        phrases = {phrase.lower(): phrase for phrase in matched_terms(query, record.text)}
        telling = [phrase for phrase in phrases.values() if index.informative(phrase)]
        return sorted(telling, key=lambda phrase: -len(phrase))[:MAX_MATCHED_TERMS]

    def _explain(
        self, x: np.ndarray, features: list[Feature], *, query: ListingRecord, other: ListingRecord, kind: str
    ) -> Explanation:
        effects = self.ranker.contributions(x, reference=REFERENCE)
        named = dict(zip(FEATURE_NAMES, effects, strict=True))
        text_effect = FeatureEffect(
            "text",
            round(float(x[0]), 4),
            round(float(sum(named[name] for name in TEXT_FEATURES)), 4),
            "how well the texts match (keywords and meaning)",
        )
        return Explanation(
            matched_terms=self._terms(kind, query_text(query), other),
            features=[text_effect]
            + [
                FeatureEffect(
                    feature.name,
                    round(feature.value, 4),
                    round(float(named[feature.name]), 4),
                    feature.reason,
                )
                for feature in features
            ],
            would_qualify=[feature.would_qualify for feature in features if feature.would_qualify],
        )


def build_matcher(
    *, settings: Settings, indexes: Mapping[str, TextIndex], ranker: MatchRanker, ranker_version: str
) -> Matcher:
    """The matcher as configured: fusion told whether the encoder reads Vietnamese, vectors reused if symmetric."""
    return Matcher(
        indexes=indexes,
        fusion=AdaptiveFusion(encoder_reads_vietnamese=settings.embedding_reads_vietnamese),
        ranker=ranker,
        ranker_version=ranker_version,
        reuse_listing_vectors=settings.query_prefix == settings.passage_prefix,
    )


def query_text(record: ListingRecord) -> str:
    """A listing's text as a query against the other side: the same text its own index holds."""
    return listing_text(title=record.title, keywords=record.keywords, description=record.description)
