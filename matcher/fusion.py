"""Fusion of the BM25 and dense candidate lists into one ranking with per-side contributions.

Plain reciprocal rank fusion trusts both lists equally, so a dense model that does not read the
query's language drags a good BM25 ranking down. `AdaptiveFusion` weighs the dense side per query
by how much the dense list actually discriminates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexes.encoder import Encoder
from indexes.text import looks_vietnamese, text_language

Ranked = Sequence[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class FusedCandidate:
    """A fused result: `score` = `lexical` + `dense`, each side's share of it, all within [0, 1].

    `similarity` is the dense side's unscaled (language-centred) cosine: unlike the shares, it means
    the same for every query, which is what calibrated scores need; `bm25` is the BM25 score over the
    query's best, before any lexical evidence was lent to other-language documents.
    """

    id: int
    score: float
    lexical: float
    dense: float
    similarity: float = 0.0
    bm25: float = 0.0


class AdaptiveFusion:
    """Convex combination of max-normalised BM25 and min-max-normalised cosine, weighted per query.

    The dense weight is `dense_weight` scaled down when the dense list is flat (cosine spread between
    its first and `spread_rank`-th candidate below `full_confidence_spread`: an encoder that does not
    understand the query scores every document alike) and by `foreign_language_factor` when the
    encoder does not read the query (`reads`).
    """

    def __init__(
        self,
        *,
        dense_weight: float = 0.6,
        full_confidence_spread: float = 0.2,
        spread_rank: int = 10,
        foreign_language_factor: float = 0.1,
        encoder_languages: frozenset[str] = frozenset({"en"}),
    ) -> None:
        self.dense_weight = dense_weight
        self.full_confidence_spread = full_confidence_spread
        self.spread_rank = spread_rank
        self.foreign_language_factor = foreign_language_factor
        self.encoder_languages = encoder_languages

    def dense_confidence(self, dense: Ranked, *, query: str, query_language: str | None = None) -> float:
        """How far the dense list can be trusted for this query, in [0, 1]: how much it discriminates,
        times `reads`."""
        return self._discrimination(dense) * self.reads(query, query_language=query_language)

    def _discrimination(self, dense: Ranked) -> float:
        """1 when the dense list's cosine drops by `full_confidence_spread` over its first ranks, less if flatter."""
        if not dense:
            return 0.0
        scores = sorted((score for _, score in dense), reverse=True)
        spread = scores[0] - scores[min(self.spread_rank, len(scores)) - 1]
        return min(1.0, spread / self.full_confidence_spread)

    def reads(self, query: str, *, query_language: str | None = None) -> float:
        """1 when the model reads the query's language, else `foreign_language_factor`. Vietnamese typed
        without diacritics counts as unread: the models place it poorly (docs/ranking.md)."""
        language = query_language or text_language(query)
        unaccented_vietnamese = language == "vi" and not looks_vietnamese(query)
        if language not in self.encoder_languages or unaccented_vietnamese:
            return self.foreign_language_factor
        return 1.0

    def dense_share(self, dense: Ranked, *, query: str, query_language: str | None = None) -> float:
        """Weight in [0, 1] of the dense side for this query (the lexical side gets the rest)."""
        return self.dense_weight * self.dense_confidence(dense, query=query, query_language=query_language)

    def fuse(
        self,
        bm25: Ranked,
        dense: Ranked,
        *,
        query: str,
        languages: Mapping[int, str] | None = None,
        query_language: str | None = None,
    ) -> list[FusedCandidate]:
        """All candidates of either list, best first; a side that returned nothing gets no weight.

        `languages` (document id -> language) marks the documents written in another language than
        the query (`query_language`, else told by its letters): BM25 cannot see their relevance (what
        it finds there are shared names and numbers), so their lexical evidence is replaced by their
        dense evidence instead of counting as missing (when the encoder reads both languages).
        """
        query_language = query_language or text_language(query)
        reads = self.reads(query, query_language=query_language)
        share = 1.0 if not bm25 else self.dense_weight * self._discrimination(dense) * reads
        # BM25 is divided by its best score (0 stays 0, no candidate floor); cosine is min-max scaled
        # because its floor over the candidates is far above 0.
        lexical = _scaled(bm25, floor_at_zero=True)
        literal = dict(lexical)
        semantic = _scaled(dense, floor_at_zero=False)
        if languages and "vi" in self.encoder_languages:
            # Lent in full only when the model reads the query: min-max scaling would otherwise turn
            # the noise of a list it cannot read (unaccented typing) into full evidence.
            for doc_id in lexical.keys() | semantic.keys():
                if languages.get(doc_id, query_language) != query_language:
                    lexical[doc_id] = reads * semantic.get(doc_id, 0.0)
        similarity = dict(dense)
        fused = [
            FusedCandidate(
                id=doc_id,
                score=(1 - share) * lexical.get(doc_id, 0.0) + share * semantic.get(doc_id, 0.0),
                lexical=(1 - share) * lexical.get(doc_id, 0.0),
                dense=share * semantic.get(doc_id, 0.0),
                similarity=similarity.get(doc_id, 0.0),
                bm25=literal.get(doc_id, 0.0),
            )
            for doc_id in lexical.keys() | semantic.keys()
        ]
        # Ties (e.g. a zero dense share) fall back to the dense order, then to ids for reproducibility.
        fused.sort(key=lambda c: (-c.score, -semantic.get(c.id, 0.0), c.id))
        return fused


def fusion_for(encoder: Encoder) -> AdaptiveFusion:
    """The fusion as the encoder's model card asks: the languages it reads, the spread it is sure at."""
    return AdaptiveFusion(
        encoder_languages=encoder.languages, full_confidence_spread=encoder.confident_spread
    )


def reciprocal_rank_fusion(bm25: Ranked, dense: Ranked, *, k: int = 60) -> list[FusedCandidate]:
    """Plain RRF (Cormack et al. 2009), scaled by (k + 1) / 2 so a double first place scores 1."""
    scale = (k + 1) / 2
    lexical = {doc_id: scale / (k + rank) for rank, (doc_id, _) in enumerate(bm25, start=1)}
    semantic = {doc_id: scale / (k + rank) for rank, (doc_id, _) in enumerate(dense, start=1)}
    fused = [
        FusedCandidate(
            id=doc_id,
            score=lexical.get(doc_id, 0.0) + semantic.get(doc_id, 0.0),
            lexical=lexical.get(doc_id, 0.0),
            dense=semantic.get(doc_id, 0.0),
        )
        for doc_id in lexical.keys() | semantic.keys()
    ]
    fused.sort(key=lambda c: (-c.score, c.id))
    return fused


def _scaled(ranked: Ranked, *, floor_at_zero: bool) -> dict[int, float]:
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    high, low = max(scores), (0.0 if floor_at_zero else min(scores))
    if high <= low:
        return {doc_id: 1.0 for doc_id, _ in ranked}
    return {doc_id: (score - low) / (high - low) for doc_id, score in ranked}
