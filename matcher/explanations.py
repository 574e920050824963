"""Why a result is there: the phrases it matched, each feature's effect on its score and, across
languages, which sentences say the same thing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from indexes.documents import IndexDocument
from indexes.text import matched_terms
from matcher.features import FEATURE_NAMES, REFERENCE, TEXT_FEATURES, Feature
from matcher.ranker import MatchRanker
from matcher.records import ListingRecord

# Enough matched terms to see why, few enough to read at a glance.
MAX_MATCHED_TERMS = 12
# Cross-language correspondences: the query's title and first sentences against the other listing's;
# bounded so that explaining a page of results encodes a few dozen short texts at most (cached).
MAX_SOURCE_SENTENCES = 4
MAX_TARGET_SENTENCES = 8
MIN_SENTENCE_CHARS = 12
MAX_SENTENCE_CHARS = 300
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


class ExplainingIndex(Protocol):
    """What explaining needs of an index (see indexes.catalog.ListingIndex)."""

    def informative(self, phrases: Iterable[str]) -> set[str]: ...  # those that tell something

    def compound_words(self, document: IndexDocument) -> frozenset[str] | None: ...

    def encode_sentences(self, sentences: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class FeatureEffect:
    name: str
    value: float
    effect: float
    reason: str


@dataclass(frozen=True)
class Correspondence:
    """A sentence of the query listing, the closest sentence of the other one, and their cosine."""

    source: str
    target: str
    similarity: float


@dataclass(frozen=True)
class Explanation:
    matched_terms: list[str]
    features: list[FeatureEffect] = field(default_factory=list)
    would_qualify: list[str] = field(default_factory=list)
    # Only for pairs written in two languages, where no term matches literally.
    correspondences: list[Correspondence] = field(default_factory=list)


def matched_phrases(
    index: ExplainingIndex,
    query: str,
    record: ListingRecord,
    *,
    query_compounds: frozenset[str] | None = None,
) -> list[str]:
    """Matched phrases in the listing's own words, longest first, without uninformative ones;
    `query_compounds`: those of a listing query as its own index holds them (see `compounds_of`)."""
    # The listing's words as the index segmented them: segmenting again took a tenth of a request.
    found = [
        phrase.split()
        for phrase in matched_terms(
            query, record.text, compounds=compounds_of(index, record), query_compounds=query_compounds
        )
    ]
    # Asked once for every word, then once for the trimmed phrases: each question takes the index's lock.
    telling_words = index.informative({word for words in found for word in words})
    phrases: dict[str, str] = {}
    for words in found:
        # "trong bệnh viện" -> "bệnh viện": stop words at either end explain nothing.
        start, end = 0, len(words)
        while start < end and words[start] not in telling_words:
            start += 1
        while end > start and words[end - 1] not in telling_words:
            end -= 1
        if start < end:
            phrase = " ".join(words[start:end])
            phrases.setdefault(phrase.lower(), phrase)
    telling = index.informative(phrases.values())
    return sorted(
        (phrase for phrase in phrases.values() if phrase in telling), key=lambda phrase: -len(phrase)
    )[:MAX_MATCHED_TERMS]


def compounds_of(index: ExplainingIndex, record: ListingRecord) -> frozenset[str] | None:
    """The compounds `index` holds for the listing's current text; None if it holds another text."""
    return index.compound_words(IndexDocument(record.id, record.text, language=record.language.value))


def correspondences(
    index: ExplainingIndex, query: ListingRecord, other: ListingRecord
) -> list[Correspondence]:
    """Each leading sentence of `query` with the closest sentence of `other`, most similar first."""
    sources = sentences(query, limit=MAX_SOURCE_SENTENCES)
    targets = sentences(other, limit=MAX_TARGET_SENTENCES)
    if not sources or not targets:
        return []
    vectors = index.encode_sentences([*sources, *targets])
    similarity = vectors[: len(sources)] @ vectors[len(sources) :].T
    best = similarity.argmax(axis=1)
    pairs = [
        Correspondence(source, targets[int(best[row])], round(float(similarity[row, best[row]]), 4))
        for row, source in enumerate(sources)
    ]
    return sorted(pairs, key=lambda pair: -pair.similarity)


def explain(
    *,
    ranker: MatchRanker,
    index: ExplainingIndex,
    x: np.ndarray,
    features: list[Feature],
    query: ListingRecord,
    other: ListingRecord,
    query_compounds: frozenset[str] | None = None,
) -> Explanation:
    """The explanation of one pair: `x` its ranker features, `features` its structured ones, `index`
    the other listing's kind, `query_compounds` the query listing's (from its own kind's index)."""
    effects = ranker.contributions(x, reference=REFERENCE)
    named = dict(zip(FEATURE_NAMES, effects, strict=True))
    named_value = dict(zip(FEATURE_NAMES, x, strict=True))
    text_effect = FeatureEffect(
        "text",
        round(float(named_value["lexical"] + named_value["dense"]), 4),
        round(float(sum(named[name] for name in TEXT_FEATURES)), 4),
        "how well the texts match (keywords and meaning)",
    )
    return Explanation(
        correspondences=correspondences(index, query, other) if query.language != other.language else [],
        matched_terms=matched_phrases(index, query.text, other, query_compounds=query_compounds),
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


def sentences(record: ListingRecord, *, limit: int) -> list[str]:
    """The title and the first sentences of the description, each at most MAX_SENTENCE_CHARS long."""
    parts = [record.title, *_SENTENCE_END.split(record.description)]
    cleaned = [part.strip()[:MAX_SENTENCE_CHARS] for part in parts if len(part.strip()) >= MIN_SENTENCE_CHARS]
    return list(dict.fromkeys(cleaned))[:limit]
