"""What of a listing goes into the indexes, and its fingerprint for checking indexes against the store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IndexDocument:
    """One listing as the indexes see it: its database id and the text that represents it."""

    id: int
    text: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


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
