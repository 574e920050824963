"""What explaining matches asks an index again and again, kept between requests: the query vectors of
short sentences, and whether a matched phrase tells anything."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from indexes.encoder import Encoder
from indexes.languages import LanguageCentroids
from indexes.lexical import LexicalIndex
from indexes.text import text_language

# A phrase whose rarest word occurs in more listings than this explains nothing ("và", "the");
# below a few listings document frequencies say nothing, so every phrase counts.
INFORMATIVE_SHARE = 0.2
INFORMATIVE_MIN_LISTINGS = 20
SENTENCE_CACHE_SIZE = 20_000


class SentenceVectors:
    """Query-side vectors of short texts (explanations), encoded in one batch and kept for reuse."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """The vectors of `sentences`, encoding only those not kept yet."""
        known = {text: self._vectors.get(text) for text in sentences}
        missing = [text for text, vector in known.items() if vector is None]
        if missing:
            fresh = dict(zip(missing, self._encoder.encode_queries(missing), strict=True))
            known.update(fresh)
            # Requests share the cache; a full one starts over rather than tracking recency.
            if len(self._vectors) > SENTENCE_CACHE_SIZE:
                self._vectors = {}
            self._vectors.update(fresh)
        return np.array([known[text] for text in sentences])


class InformativePhrases:
    """Whether a phrase of two characters or more tells something (see `ListingIndex.informative`)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}
        self._size = 0

    def informative(self, phrase: str, *, lexical: LexicalIndex, languages: LanguageCentroids) -> bool:
        """Whether `phrase` is not a stop word of its language in `lexical`; the caller holds the read lock
        over both indexes."""
        size = len(lexical)
        if size < INFORMATIVE_MIN_LISTINGS:
            return True
        # Explaining a page asks about the same words again and again; a word's share moves only
        # as the catalogue does, so answers are kept until it grew or shrank by a percent.
        if abs(size - self._size) > size // 100:
            self._known, self._size = {}, size
        known = self._known.get(phrase)
        if known is None:
            in_language = languages.count(text_language(phrase)) or size
            known = lexical.document_share(phrase) * size / in_language <= INFORMATIVE_SHARE
            if len(self._known) < SENTENCE_CACHE_SIZE:
                self._known[phrase] = known
        return known
