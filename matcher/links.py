"""Finds listings of one kind that describe the same technology: near-duplicates and translations.

The dense evidence is a margin, the ratio of a pair's cosine to the two listings' usual similarity to
their nearest neighbours in the other's language (Artetxe and Schwenk's margin for mining translations):
multilingual e5 puts every listing near every other of its language, so an absolute cosine says little,
while a translation or a re-post stands out from its neighbourhood. A translation is a pair in two
languages above the margin threshold; a near-duplicate is a pair in one language above it that also
shares a good part of its words (two listings of one topic can be close in meaning without being copies).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import numpy as np

from indexes.documents import Hits
from indexes.text import analyze, fold_diacritics

LinkKind = Literal["duplicate", "translation"]
# Shipped thresholds, chosen by `techmatch evaluate links` (see docs/decisions.md): the margin on
# the xquad translation pairs, the word overlap on the demo's near-duplicates; both reported out of fold.
MARGIN_THRESHOLD = 1.022
ANCHORED_MARGIN_THRESHOLD = 1.02
DUPLICATE_WORD_OVERLAP = 0.33
NEIGHBOURS = 4
CANDIDATES = 10
MAX_SHARED_ANCHORS = 12

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


class VectorNeighbourhood(Protocol):
    """Stored listing vectors of one kind (see indexes.catalog.ListingIndex)."""

    def vector_of(self, doc_id: int) -> np.ndarray | None: ...

    def language_of(self, ids: Sequence[int]) -> dict[int, str]: ...

    def nearest_in_language(
        self, vector: np.ndarray, k: int, *, language: str, exclude: Collection[int] = ()
    ) -> Hits: ...

    def indexed_languages(self) -> list[str]: ...


@dataclass(frozen=True)
class LinkRule:
    """When a pair counts as a link: a fitted part, its thresholds chosen on labelled pairs.

    A pair sharing a name or a number (a translation keeps them) needs a little less dense evidence
    than one sharing none.
    """

    margin_threshold: float = MARGIN_THRESHOLD
    anchored_margin_threshold: float = ANCHORED_MARGIN_THRESHOLD
    duplicate_word_overlap: float = DUPLICATE_WORD_OVERLAP

    @property
    def lowest_margin(self) -> float:
        return min(self.margin_threshold, self.anchored_margin_threshold)

    def decide(self, evidence: LinkEvidence) -> LinkKind | None:
        needed = self.anchored_margin_threshold if evidence.shared_anchors else self.margin_threshold
        if evidence.margin < min(needed, self.margin_threshold):
            return None
        if not evidence.same_language:
            return "translation"
        return "duplicate" if evidence.word_overlap >= self.duplicate_word_overlap else None


@dataclass(frozen=True)
class LinkEvidence:
    """Why two listings look like one technology: the figures and the names and numbers they share."""

    other_id: int
    same_language: bool
    cosine: float
    margin: float
    word_overlap: float = 0.0
    shared_anchors: list[str] = field(default_factory=list)

    def summary(self, kind: LinkKind) -> str:
        what = "same text in another language" if kind == "translation" else "near-copy in the same language"
        parts = [f"{what}: cosine {self.cosine:.3f}, {self.margin:.3f}× its usual neighbours"]
        if self.same_language:
            parts.append(f"{self.word_overlap:.0%} of words shared")
        if self.shared_anchors:
            parts.append("both name " + ", ".join(self.shared_anchors))
        return "; ".join(parts)

    def as_reason(self, kind: LinkKind) -> dict[str, object]:
        return {
            "summary": self.summary(kind),
            "cosine": round(self.cosine, 4),
            "margin": round(self.margin, 4),
            "word_overlap": round(self.word_overlap, 4),
            "shared_anchors": self.shared_anchors,
        }


@dataclass(frozen=True)
class DetectedLink:
    other_id: int
    kind: LinkKind
    score: float
    evidence: LinkEvidence


def anchors(text: str) -> set[str]:
    """Numbers and named things of a text, comparable across languages: the same in a translation.

    Numbers lose their separators (Vietnamese writes 1,8 and 120.000 where English writes 1.8 and
    120,000); names are words with a capital inside a sentence, an inner capital or a digit (LoRa, PBAT,
    D5430), lower-cased and without diacritics (Bình Dương and Binh Duong meet).
    """
    found = {re.sub(r"[.,]", "", match.group()) for match in _NUMBER.finditer(text)}
    for sentence in _SENTENCE.split(text):
        for position, word in enumerate(_WORD.findall(sentence)):
            if word.isdigit():
                continue
            inner_capital = any(character.isupper() for character in word[1:])
            if inner_capital or any(c.isdigit() for c in word) or (position > 0 and word[0].isupper()):
                found.add(fold_diacritics(word).lower())
    return found


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' analysed word sets (folded, stemmed: spelling changes still meet)."""
    first, second = set(analyze(a)), set(analyze(b))
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def _neighbour_mean(hits: Hits, k: int) -> float | None:
    scores = [score for _, score in hits[:k]]
    return float(np.mean(scores)) if scores else None


def dense_evidence(
    neighbourhood: VectorNeighbourhood,
    doc_id: int,
    *,
    neighbours: int = NEIGHBOURS,
    candidates: int = CANDIDATES,
) -> list[LinkEvidence]:
    """The nearest listings of `doc_id` in every indexed language, with cosine and margin (best first)."""
    vector = neighbourhood.vector_of(doc_id)
    if vector is None:
        return []
    own_language = neighbourhood.language_of([doc_id]).get(doc_id)
    found: list[LinkEvidence] = []
    for language in neighbourhood.indexed_languages():
        hits = neighbourhood.nearest_in_language(
            vector, max(candidates, neighbours), language=language, exclude=(doc_id,)
        )
        own_mean = _neighbour_mean(hits, neighbours)
        if own_mean is None or own_language is None:
            continue
        for other_id, cosine in hits[:candidates]:
            other_vector = neighbourhood.vector_of(other_id)
            if other_vector is None:
                continue
            back = neighbourhood.nearest_in_language(
                other_vector, neighbours, language=own_language, exclude=(other_id,)
            )
            other_mean = _neighbour_mean(back, neighbours)
            if other_mean is None:
                continue
            denominator = (own_mean + other_mean) / 2
            margin = cosine / denominator if denominator > 0 else 0.0
            found.append(LinkEvidence(other_id, language == own_language, float(cosine), float(margin)))
    return sorted(found, key=lambda evidence: -evidence.margin)


def with_text_evidence(evidence: LinkEvidence, text: str, other_text: str) -> LinkEvidence:
    shared = sorted(anchors(text) & anchors(other_text), key=lambda anchor: (-len(anchor), anchor))
    return replace(
        evidence,
        word_overlap=word_overlap(text, other_text) if evidence.same_language else 0.0,
        shared_anchors=shared[:MAX_SHARED_ANCHORS],
    )


def find_links(
    neighbourhood: VectorNeighbourhood,
    doc_id: int,
    *,
    texts: Callable[[Sequence[int]], Mapping[int, str]],
    rule: LinkRule | None = None,
    neighbours: int = NEIGHBOURS,
    candidates: int = CANDIDATES,
) -> list[DetectedLink]:
    """The listings `doc_id` duplicates or translates, best first; `texts` reads indexed texts by id."""
    rule = rule or LinkRule()
    dense = [
        evidence
        for evidence in dense_evidence(neighbourhood, doc_id, neighbours=neighbours, candidates=candidates)
        if evidence.margin >= rule.lowest_margin
    ]
    if not dense:
        return []
    known = texts([doc_id, *(evidence.other_id for evidence in dense)])
    if doc_id not in known:
        return []
    links = []
    for evidence in dense:
        if evidence.other_id not in known:
            continue
        full = with_text_evidence(evidence, known[doc_id], known[evidence.other_id])
        kind = rule.decide(full)
        if kind is not None:
            links.append(DetectedLink(full.other_id, kind, round(full.margin, 4), full))
    return links


@dataclass(frozen=True)
class Collapsed:
    """One hit of a result list with the ids of the other members of its cluster it stands for."""

    id: int
    also: tuple[int, ...]


def collapse(ids: Sequence[int], cluster_of: Mapping[int, int]) -> list[Collapsed]:
    """Keep the first (best) member of each cluster in a ranked list; the others ride along as `also`."""
    kept: dict[int, list[int]] = {}
    order: list[int] = []
    first_of: dict[int, int] = {}
    for doc_id in ids:
        cluster = cluster_of.get(doc_id, -1 - doc_id)
        if cluster in first_of:
            kept[first_of[cluster]].append(doc_id)
            continue
        first_of[cluster] = doc_id
        kept[doc_id] = []
        order.append(doc_id)
    return [Collapsed(doc_id, tuple(kept[doc_id])) for doc_id in order]
