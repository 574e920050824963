"""Explanations: a listing's leading sentences, and matched phrases trimmed of uninformative words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from matcher.explanations import MAX_SENTENCE_CHARS, matched_phrases, sentences
from tests.matcher.test_features import offer


class StopWords:
    """An index for which only "cho" and "for" are uninformative."""

    def informative(self, phrases: Iterable[str]) -> set[str]:
        return {phrase for phrase in phrases if phrase.lower() not in {"cho", "for"}}

    def compound_words(self, document: object) -> None:
        return None  # not indexed: the text is segmented again

    def encode_sentences(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("matched phrases need no vectors")


def test_sentences_are_the_title_then_the_first_distinct_sentences_cut_to_length() -> None:
    long = "x" * (MAX_SENTENCE_CHARS + 50)
    record = offer(
        id=1,
        title="Drip irrigation controller",
        description=f"Saves water on durian farms. Short. Saves water on durian farms. {long}",
    )
    assert sentences(record, limit=3) == [
        "Drip irrigation controller",
        "Saves water on durian farms.",
        long[:MAX_SENTENCE_CHARS],
    ]
    assert sentences(record, limit=1) == ["Drip irrigation controller"]


def test_matched_phrases_keep_the_listings_words_without_stop_words_at_their_ends() -> None:
    record = offer(id=1, title="Bộ điều khiển tưới nhỏ giọt cho sầu riêng", description="For durian farms.")
    # Typed without diacritics, found in the listing's own spelling, one phrase across the inner "cho".
    assert matched_phrases(StopWords(), "tuoi nho giot cho sau rieng", record) == [
        "tưới nhỏ giọt cho sầu riêng"
    ]
    # A stop word at the end of a match is trimmed off.
    assert matched_phrases(StopWords(), "cho sau rieng", record) == ["sầu riêng"]
