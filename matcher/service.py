"""Ranked, explained matches: free-text search, need → offers and offer → needs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

import numpy as np

from core.access import Viewer
from core.taxonomy import ListingStatus
from indexes.documents import Hits, IndexDocument
from indexes.encoder import Encoder
from matcher.explanations import Explanation, compounds_of, explain, matched_phrases
from matcher.features import FEATURE_NAMES, compatibility_values, text_feature_rows
from matcher.fusion import AdaptiveFusion, FusedCandidate, fusion_for
from matcher.links import collapse
from matcher.ranker import MatchRanker
from matcher.records import ListingFacts, ListingRecord, NeedRecord, OfferRecord, RecordSource
from matcher.results import CandidatePairs, ScoredListing
from matcher.rules import may_pair, visible_candidate
from matcher.text_index import TextIndex

# A listing matched against the other side is a query of its whole text; BM25 scores its heaviest
# terms only, as Lucene's MoreLikeThis does with 25 words. Our analyser emits ~4 terms for a Vietnamese
# word (syllables, compound, folded forms), and 25 terms lost 0.016 nDCG@10 on the demo's vi→vi
# matches: docs/decisions.md, "Scale: a listing as a query".
LISTING_QUERY_TERMS = 100


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
        listing_query_terms: int | None = LISTING_QUERY_TERMS,
    ) -> None:
        self.indexes = indexes
        self.fusion = fusion
        self.ranker = ranker
        self.ranker_version = ranker_version
        self.candidates = candidates
        # With a symmetric model (no query/passage prefixes) a listing's indexed vector is
        # exactly its query vector, which saves encoding a long text on every match request.
        self.reuse_listing_vectors = reuse_listing_vectors
        self.listing_query_terms = listing_query_terms

    def retrieve(
        self,
        *,
        kind: str,
        text: str,
        allowed_ids: Collection[int] | None,
        vector: np.ndarray | None = None,
        extra: int = 0,
        max_terms: int | None = None,
    ) -> tuple[Hits, Hits]:
        """(BM25 hits, dense hits) from the `kind` indexes, restricted to `allowed_ids` inside retrieval;
        `extra` more candidates than usual, for those the caller will drop; `max_terms`: BM25 scores
        only that many of the text's heaviest terms."""
        if allowed_ids is not None and not allowed_ids:
            return [], []
        index = self.indexes[kind]
        k = self.candidates + extra if allowed_ids is None else min(self.candidates, len(allowed_ids))
        lexical = index.lexical_search(text, k, allowed_ids=allowed_ids, max_terms=max_terms)
        dense = index.dense_search(text, k, allowed_ids=allowed_ids, vector=vector)
        return lexical, dense

    def candidates_for(
        self,
        *,
        kind: str,
        text: str,
        allowed_ids: Collection[int] | None,
        vector: np.ndarray | None = None,
        language: str | None = None,
        hidden_ids: Collection[int] = frozenset(),
        max_terms: int | None = None,
    ) -> list[FusedCandidate]:
        """Both retrievers' candidates fused into one ranking; `language`: the query's, when declared;
        `hidden_ids`: listings never to return (a few, dropped after retrieval rather than passing the
        indexes every other id); `max_terms` as in `retrieve`."""
        extra = min(len(hidden_ids), self.candidates)
        lexical, dense = self.retrieve(
            kind=kind, text=text, allowed_ids=allowed_ids, vector=vector, extra=extra, max_terms=max_terms
        )
        if hidden_ids:
            lexical = [hit for hit in lexical if hit[0] not in hidden_ids]
            dense = [hit for hit in dense if hit[0] not in hidden_ids]
        index = self.indexes[kind]
        languages = index.language_of(doc_id for doc_id, _ in [*lexical, *dense])
        query_language = language or (index.query_language(text, vector=vector) if dense else None)
        return self.fusion.fuse(
            lexical, dense, query=text, languages=languages, query_language=query_language
        )

    def search(
        self,
        *,
        kind: str,
        query: str,
        allowed_ids: Collection[int] | None,
        source: RecordSource,
        limit: int = 20,
        offset: int = 0,
        clusters: Mapping[int, int] | None = None,
        hidden_ids: Collection[int] = frozenset(),
    ) -> tuple[list[ScoredListing], int]:
        """A page of free-text results, with the words each matched, and the number of candidates found;
        with `clusters` (listing id -> cluster), each cluster is one hit, its best-ranked member."""
        fused = self.candidates_for(kind=kind, text=query, allowed_ids=allowed_ids, hidden_ids=hidden_ids)
        also: dict[int, tuple[int, ...]] = {}
        if clusters:
            by_id = {candidate.id: candidate for candidate in fused}
            collapsed = collapse([candidate.id for candidate in fused], clusters)
            fused = [by_id[hit.id] for hit in collapsed]
            also = {hit.id: hit.also for hit in collapsed}
        page = fused[offset : offset + limit]
        ids = [candidate.id for candidate in page]
        records: Mapping[int, ListingRecord] = source.offers(ids) if kind == "offers" else source.needs(ids)
        results = [
            ScoredListing(
                id=candidate.id,
                score=round(candidate.score, 4),
                text_score=round(candidate.score, 4),
                explanation=Explanation(
                    matched_terms=matched_phrases(self.indexes[kind], query, records[candidate.id])
                ),
                also=also.get(candidate.id, ()),
            )
            for candidate in page
            # The indexes lag the store for a moment: a listing archived since is never shown.
            if candidate.id in records and records[candidate.id].status == ListingStatus.PUBLISHED
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
        clusters: Mapping[int, int] | None = None,
        hidden_ids: Collection[int] = frozenset(),
    ) -> list[ScoredListing]:
        """Listings of the other side for `listing`: candidates, hard rules, ranker, explanations; with
        `clusters` (listing id -> cluster), the best-scored member of a cluster stands for the others."""
        pairs = self.candidate_pairs(
            listing, allowed_ids=allowed_ids, source=source, viewer=viewer, now=now, hidden_ids=hidden_ids
        )
        if not pairs.others:
            return []
        scores = self.ranker.score_pairs(pairs.features)
        order = np.argsort(-scores, kind="stable")
        also: dict[int, tuple[int, ...]] = {}
        if clusters:
            collapsed = collapse([pairs.others[row].id for row in order], clusters)
            row_of = {pairs.others[row].id: row for row in order}
            order = np.array([row_of[hit.id] for hit in collapsed], dtype=np.int64)
            also = {hit.id: hit.also for hit in collapsed}
        order = order[:k]
        # The candidates were ranked on their facts; the page shown is read with its text, to explain.
        shown_ids = [pairs.others[row].id for row in order]
        is_need = isinstance(listing, NeedRecord)
        shown: Mapping[int, ListingRecord] = source.offers(shown_ids) if is_need else source.needs(shown_ids)
        kind, own = ("offers", "needs") if is_need else ("needs", "offers")
        query_compounds = compounds_of(self.indexes[own], listing) if own in self.indexes else None
        return [
            ScoredListing(
                id=other.id,
                score=round(float(scores[row]), 4),
                text_score=round(pairs.candidates[row].score, 4),
                explanation=explain(
                    ranker=self.ranker,
                    index=self.indexes[kind],
                    x=pairs.features[row],
                    features=pairs.structured(row),
                    query=listing,
                    other=other,
                    query_compounds=query_compounds,
                ),
                ranker_version=self.ranker_version,
                features=tuple(round(float(value), 6) for value in pairs.features[row]),
                also=also.get(other.id, ()),
            )
            for row in order
            # Deleted, archived or hidden between the two reads: not shown.
            if (other := shown.get(pairs.others[row].id)) is not None and visible_candidate(other, viewer)
        ]

    def candidate_pairs(
        self,
        listing: NeedRecord | OfferRecord,
        *,
        allowed_ids: Collection[int] | None,
        source: RecordSource,
        viewer: Viewer,
        now: datetime | None = None,
        hidden_ids: Collection[int] = frozenset(),
    ) -> CandidatePairs:
        """Every candidate of the other side that the hard rules allow, with its facts (no text) and the
        ranker's features."""
        is_need = isinstance(listing, NeedRecord)
        own, other = ("needs", "offers") if is_need else ("offers", "needs")
        fused = self.candidates_for(
            kind=other,
            # The same text its own index holds, composed once per record.
            text=listing.text,
            allowed_ids=allowed_ids,
            vector=self._own_vector(own, listing),
            language=listing.language.value,
            hidden_ids=hidden_ids,
            max_terms=self.listing_query_terms,
        )
        ids = [candidate.id for candidate in fused]
        found: Mapping[int, ListingFacts] = source.offer_facts(ids) if is_need else source.need_facts(ids)
        now = now or datetime.now(UTC)
        candidates, others, structured = [], [], []
        for candidate in fused:
            record = found.get(candidate.id)
            if record is None or not visible_candidate(record, viewer):
                continue
            need, offer = (listing, record) if is_need else (record, listing)
            if not may_pair(need, offer):
                continue
            candidates.append(candidate)
            others.append(record)
            structured.append(compatibility_values(need, offer, now=now))  # type: ignore[arg-type]
        text_rows = text_feature_rows(
            candidates,
            [record.language.value for record in others],
            similarity_scale=self.fusion.full_confidence_spread,
        )
        rows = [[*text, *values] for text, values in zip(text_rows, structured, strict=True)]
        features = np.array(rows).reshape(len(candidates), len(FEATURE_NAMES))
        return CandidatePairs(
            listing=listing, candidates=candidates, others=others, features=features, now=now
        )

    def _own_vector(self, kind: str, record: ListingRecord) -> np.ndarray | None:
        if not self.reuse_listing_vectors or kind not in self.indexes:
            return None
        document = IndexDocument(record.id, record.text, language=record.language.value)
        return self.indexes[kind].stored_vector(document)


def build_matcher(
    *, encoder: Encoder, indexes: Mapping[str, TextIndex], ranker: MatchRanker, ranker_version: str
) -> Matcher:
    """The matcher for this encoder: fusion told the languages it reads, listing vectors reused if symmetric."""
    return Matcher(
        indexes=indexes,
        fusion=fusion_for(encoder),
        ranker=ranker,
        ranker_version=ranker_version,
        reuse_listing_vectors=encoder.symmetric,
    )
