"""What of a listing goes into the indexes, and its fingerprint for checking indexes against the store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

# What a retriever returns: (listing id, score) pairs, best first.
Hits = list[tuple[int, float]]


@dataclass(frozen=True)
class IndexDocument:
    """One listing as the indexes see it: its database id, the text that represents it and the language
    it declares (None: told from the text, as for evaluation corpora)."""

    id: int
    text: str
    language: str | None = None

    @property
    def fingerprint(self) -> int:
        """64 bits of a hash of what is indexed, an int64 so that 10^6 of them fit in one array.

        The language is part of it: re-declaring a listing's language re-files it in the index. It
        equals the 16 hex digits that format 2 of the index files saved, read as a signed integer.
        """
        digest = hashlib.sha256(f"{self.language or ''}\x00{self.text}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


def listing_text(*, title: str, keywords: Sequence[str], description: str) -> str:
    """Title, then keywords, then description.

    The most telling words come first because the embedding model truncates long
    inputs (256 word pieces for MiniLM); the sector is left out because it is a
    structured feature the ranker scores on its own, and its label would make every
    listing of a sector look alike to both retrievers.
    """
    parts = [title.strip()]
    if keywords:
        parts.append(", ".join(keyword.strip() for keyword in keywords))
    parts.append(description.strip())
    return ". ".join(part for part in parts if part)
