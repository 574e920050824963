"""Per-language mean vectors, to take a listing's language out of its cosine similarity to a query."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from indexes.documents import Hits
from indexes.id_table import IdTable

# (ids, a code for each, the language each code stands for): ids and codes aligned, codes index the names.
FiledLanguages = tuple[np.ndarray, np.ndarray, list[str]]


class LanguageCentroids:
    """Running mean vector of each language's listings, to take the language out of cosine similarity.

    Multilingual encoders place texts of one language closer to each other than to their translations:
    a Vietnamese need is nearer to every Vietnamese offer than to the English offer that solves it.
    Subtracting the query's similarity to a language's mean vector (cos(q, d) - q.mean_L(d)) removes that
    offset, so listings of both languages compete on meaning (docs/ranking.md, "Cross-language").
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        # Each listing's language as an index into `_names`, which only grows: a few languages, 10^6 ids.
        self._codes = IdTable()
        self._names: list[str] = []
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}

    @classmethod
    def filed(
        cls,
        dimension: int,
        languages: FiledLanguages,
        vector_of: Callable[[int], np.ndarray | None],
    ) -> LanguageCentroids:
        """Centroids of listings filed as `languages` (as saved), their vectors given by `vector_of`:
        one table built whole rather than 10^6 entries added one by one."""
        ids, codes, names = languages
        centroids = cls(dimension)
        centroids._names = list(names)
        sums = np.zeros((len(names), dimension), dtype=np.float64)
        counts = np.zeros(len(names), dtype=np.int64)
        kept = np.ones(len(ids), bool)
        for at, (doc_id, code) in enumerate(
            zip(np.asarray(ids).tolist(), np.asarray(codes).tolist(), strict=True)
        ):
            vector = vector_of(doc_id)
            if vector is None:
                kept[at] = False
                continue
            sums[code] += vector
            counts[code] += 1
        for code, name in enumerate(names):
            if counts[code]:
                centroids._sums[name], centroids._counts[name] = sums[code], int(counts[code])
        centroids._codes = IdTable(np.asarray(ids)[kept], np.asarray(codes)[kept])
        return centroids

    def add(self, doc_id: int, language: str, vector: np.ndarray | None) -> None:
        if vector is None:
            return
        if language not in self._names:
            self._names.append(language)
        self._codes[doc_id] = self._names.index(language)
        self._sums[language] = self._sums.get(language, np.zeros(self.dimension, dtype=np.float64)) + vector
        self._counts[language] = self._counts.get(language, 0) + 1

    def discard(self, doc_id: int, vector: np.ndarray | None) -> None:
        code = self._codes.pop(doc_id, None)
        if code is None or vector is None:
            return
        language = self._names[code]
        self._sums[language] -= vector
        self._counts[language] -= 1
        if not self._counts[language]:
            del self._sums[language], self._counts[language]

    def languages_of(self, ids: Iterable[int]) -> dict[int, str]:
        """The language of each of `ids` held."""
        id_array = np.fromiter(ids, np.int64)
        codes, found = self._codes.lookup(id_array)
        return {
            doc_id: self._names[code]
            for doc_id, code in zip(id_array[found].tolist(), codes[found].tolist(), strict=True)
        }

    def ids_in(self, language: str) -> np.ndarray:
        """The ids filed under `language`, sorted."""
        if language not in self._names:
            return np.empty(0, np.int64)
        ids, codes = self._codes.arrays()
        return ids[codes == self._names.index(language)]

    def arrays(self) -> FiledLanguages:
        """The language of each listing as saved."""
        ids, codes = self._codes.arrays()
        return ids, codes, list(self._names)

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
        # Per code, with a last entry of 0 for listings not held.
        offsets = np.zeros(len(self._names) + 1)
        for code, language in enumerate(self._names):
            if language in self._sums:
                offsets[code] = float(query @ (self._sums[language] / self._counts[language]))
        ids = np.fromiter((doc_id for doc_id, _ in hits), np.int64, count=len(hits))
        codes, found = self._codes.lookup(ids)
        codes[~found] = len(self._names)
        scores = np.fromiter((score for _, score in hits), np.float64, count=len(hits)) - offsets[codes]
        rescored = list(zip(ids.tolist(), scores.tolist(), strict=True))
        rescored.sort(key=lambda hit: -hit[1])
        return rescored
