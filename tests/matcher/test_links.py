"""Duplicate and translation detection on hand-built vectors: margins, rules, evidence and collapsing."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pytest

from indexes.documents import Hits
from matcher.links import (
    LinkEvidence,
    LinkRule,
    anchors,
    collapse,
    dense_evidence,
    find_links,
    word_overlap,
)


class Neighbourhood:
    """Vectors and languages in memory, searched exactly: what the detector needs of an index."""

    def __init__(self, vectors: dict[int, np.ndarray], languages: dict[int, str]) -> None:
        self.vectors = {doc_id: vector / np.linalg.norm(vector) for doc_id, vector in vectors.items()}
        self.languages = languages

    def vector_of(self, doc_id: int) -> np.ndarray | None:
        return self.vectors.get(doc_id)

    def language_of(self, ids: Sequence[int]) -> dict[int, str]:
        return {doc_id: self.languages[doc_id] for doc_id in ids if doc_id in self.languages}

    def indexed_languages(self) -> list[str]:
        return sorted(set(self.languages.values()))

    def nearest_in_language(
        self, vector: np.ndarray, k: int, *, language: str, exclude: Collection[int] = ()
    ) -> Hits:
        hits = [
            (doc_id, float(vector @ other))
            for doc_id, other in self.vectors.items()
            if self.languages[doc_id] == language and doc_id not in exclude
        ]
        return sorted(hits, key=lambda hit: -hit[1])[:k]


def catalogue(seed: int = 3) -> tuple[Neighbourhood, dict[int, str]]:
    """Eight topics in English (ids 1-8) and Vietnamese (11-18), each a noisy copy of a topic vector, plus
    a re-post of topic 1 (id 9) in English; English 1 and Vietnamese 11 are one text in two languages."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((8, 32))
    vectors, languages, texts = {}, {}, {}
    for topic in range(8):
        vectors[topic + 1] = topics[topic] + 0.15 * rng.standard_normal(32)
        languages[topic + 1] = "en"
        texts[topic + 1] = f"Topic {topic} sensor for ponds, built in 2024 with LoRa number {topic}"
        vectors[topic + 11] = topics[topic] + 0.15 * rng.standard_normal(32)
        languages[topic + 11] = "vi"
        texts[topic + 11] = f"Cảm biến chủ đề {topic} cho ao, chế tạo năm 2024 với LoRa số {topic}"
    vectors[9] = vectors[1] + 0.05 * rng.standard_normal(32)
    languages[9] = "en"
    texts[9] = texts[1] + " Re-posted"
    return Neighbourhood(vectors, languages), texts


def test_a_translation_and_a_repost_stand_out_from_their_neighbourhood() -> None:
    neighbourhood, _ = catalogue()
    evidence = {item.other_id: item for item in dense_evidence(neighbourhood, 1)}
    # The re-post and the translation have a margin well above 1; an unrelated topic stays below.
    assert evidence[9].same_language and evidence[9].margin > 1.1
    assert not evidence[11].same_language and evidence[11].margin > 1.1
    assert evidence[3].margin < 1.0
    assert all(other != 1 for other in evidence)


def test_find_links_names_the_type_and_the_shared_names_and_numbers() -> None:
    neighbourhood, texts = catalogue()
    links = find_links(neighbourhood, 1, texts=lambda ids: {i: texts[i] for i in ids})
    by_other = {link.other_id: link for link in links}
    assert set(by_other) == {9, 11}
    assert by_other[9].kind == "duplicate"
    assert by_other[11].kind == "translation"
    assert "2024" in by_other[11].evidence.shared_anchors
    assert "lora" in by_other[11].evidence.shared_anchors
    reason = by_other[11].evidence.as_reason("translation")
    assert "another language" in str(reason["summary"])
    assert by_other[9].evidence.word_overlap > 0.8


def test_a_same_language_pair_close_in_meaning_but_worded_differently_is_no_duplicate() -> None:
    neighbourhood, texts = catalogue()
    texts = {**texts, 9: "Completely different wording about something else entirely"}
    links = find_links(neighbourhood, 1, texts=lambda ids: {i: texts[i] for i in ids})
    assert {link.other_id for link in links} == {11}


def test_a_stricter_rule_finds_fewer_links() -> None:
    neighbourhood, texts = catalogue()
    strict = LinkRule(margin_threshold=50.0, anchored_margin_threshold=50.0)
    assert find_links(neighbourhood, 1, texts=lambda ids: {i: texts[i] for i in ids}, rule=strict) == []


def test_a_listing_without_a_vector_or_text_has_no_links() -> None:
    neighbourhood, texts = catalogue()
    assert find_links(neighbourhood, 99, texts=lambda ids: {i: texts[i] for i in ids}) == []
    assert find_links(neighbourhood, 1, texts=lambda ids: {}) == []


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (LinkEvidence(2, same_language=False, cosine=0.9, margin=1.05), "translation"),
        (LinkEvidence(2, same_language=True, cosine=0.9, margin=1.05, word_overlap=0.6), "duplicate"),
        (LinkEvidence(2, same_language=True, cosine=0.9, margin=1.05, word_overlap=0.1), None),
        (LinkEvidence(2, same_language=False, cosine=0.9, margin=1.0), None),
        # A shared name or number lowers the margin needed.
        (LinkEvidence(2, same_language=False, cosine=0.9, margin=1.015), None),
        (
            LinkEvidence(2, same_language=False, cosine=0.9, margin=1.015, shared_anchors=["lora"]),
            "translation",
        ),
    ],
)
def test_the_rule(evidence: LinkEvidence, expected: str | None) -> None:
    rule = LinkRule(margin_threshold=1.02, anchored_margin_threshold=1.01, duplicate_word_overlap=0.35)
    assert rule.decide(evidence) == expected


def test_anchors_meet_across_languages() -> None:
    english = "The line-scan camera (8K) inspects 1.8 m fabric at Binh Duong mills per ASTM D5430 with LoRa."
    vietnamese = "Camera line-scan 8K kiểm tra vải khổ 1,8 m tại Bình Dương theo ASTM D5430, truyền qua LoRa."
    shared = anchors(english) & anchors(vietnamese)
    assert {"18", "8k", "binh", "duong", "astm", "d5430", "lora"} <= shared
    # A capital at the start of a sentence is not a name.
    assert "the" not in anchors(english)


def test_word_overlap_is_a_jaccard_of_analysed_words() -> None:
    assert word_overlap("solar panel cleaning robot", "solar panel cleaning robot") == 1.0
    assert word_overlap("solar panel", "fish sauce") == 0.0
    # Folded and stemmed forms meet: diacritics and plurals do not make a re-post look new.
    assert word_overlap("robots cleaning panels", "robot clean panel") == 1.0


def test_collapse_keeps_the_best_member_and_carries_the_others() -> None:
    clusters = {3: 3, 7: 3, 9: 3, 5: 5, 6: 5}
    result = collapse([7, 1, 3, 5, 2, 9, 6], clusters)
    assert [(hit.id, hit.also) for hit in result] == [(7, (3, 9)), (1, ()), (5, (6,)), (2, ())]
