"""Per-language mean vectors, to take a listing's language out of its cosine similarity to a query."""

from __future__ import annotations

import numpy as np

from indexes.documents import Hits


class LanguageCentroids:
    """Running mean vector of each language's listings, to take the language out of cosine similarity.

    Multilingual encoders place texts of one language closer to each other than to their translations:
    a Vietnamese need is nearer to every Vietnamese offer than to the English offer that solves it.
    Subtracting the query's similarity to a language's mean vector (cos(q, d) - q.mean_L(d)) removes that
    offset, so listings of both languages compete on meaning (docs/ranking.md, "Cross-language").
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.language_of: dict[int, str] = {}
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}

    def add(self, doc_id: int, language: str, vector: np.ndarray | None) -> None:
        if vector is None:
            return
        self.language_of[doc_id] = language
        self._sums[language] = self._sums.get(language, np.zeros(self.dimension, dtype=np.float64)) + vector
        self._counts[language] = self._counts.get(language, 0) + 1

    def discard(self, doc_id: int, vector: np.ndarray | None) -> None:
        language = self.language_of.pop(doc_id, None)
        if language is None or vector is None:
            return
        self._sums[language] -= vector
        self._counts[language] -= 1
        if not self._counts[language]:
            del self._sums[language], self._counts[language]

    def count(self, language: str) -> int:
        """How many indexed listings are written in `language`."""
        return self._counts.get(language, 0)

    def names(self) -> list[str]:
        """The languages with at least one indexed listing."""
        return sorted(self._counts)

    def nearest(self, query: np.ndarray) -> str | None:
        """The language whose mean vector is closest to `query`; None unless two languages are indexed."""
        if len(self._sums) < 2:
            return None
        return max(
            self._sums, key=lambda language: float(query @ (self._sums[language] / self._counts[language]))
        )

    def centred(self, query: np.ndarray, hits: Hits) -> Hits:
        """Hits rescored as cosine minus the query's similarity to the mean of the hit's language."""
        offsets = {
            language: float(query @ (total / self._counts[language]))
            for language, total in self._sums.items()
        }
        rescored = [
            (doc_id, score - offsets.get(self.language_of.get(doc_id, ""), 0.0)) for doc_id, score in hits
        ]
        rescored.sort(key=lambda hit: -hit[1])
        return rescored
