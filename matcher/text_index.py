"""What matching needs of the indexes of one listing kind: both retrievers and a few lookups."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

import numpy as np

from indexes.documents import Hits, IndexDocument


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

    def lexical_search(
        self,
        text: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,
        max_terms: int | None = None,
    ) -> Hits: ...

    def informative(self, phrases: Iterable[str]) -> set[str]: ...

    def compound_words(self, document: IndexDocument) -> frozenset[str] | None: ...

    def language_of(self, ids: Iterable[int]) -> dict[int, str]: ...

    def encode_sentences(self, sentences: Sequence[str]) -> np.ndarray: ...

    def query_language(self, text: str, *, vector: np.ndarray | None = None) -> str: ...

    def stored_vector(self, document: IndexDocument) -> np.ndarray | None: ...
