"""What matching hands back: scored, explained listings, and the candidate pairs a match ranks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from matcher.explanations import Explanation
from matcher.features import Feature, compatibility
from matcher.fusion import FusedCandidate
from matcher.records import ListingFacts, ListingRecord, NeedRecord


@dataclass(frozen=True)
class ScoredListing:
    """One result: the listing's id, its bounded score and why it is there."""

    id: int
    score: float
    text_score: float
    explanation: Explanation
    ranker_version: str | None = None
    # The ranker's input for this pair, in FEATURE_NAMES order: stored with suggestions as training data.
    features: tuple[float, ...] = ()
    # Other listings of the same technology (duplicates, translations) this hit stands for.
    also: tuple[int, ...] = ()


@dataclass(frozen=True)
class CandidatePairs:
    """The allowed candidates for one listing, in fused order, with their facts and ranker features."""

    listing: ListingRecord
    candidates: list[FusedCandidate]
    others: list[ListingFacts]
    features: np.ndarray
    now: datetime

    def structured(self, row: int) -> list[Feature]:
        """The structured features of one pair with their reasons (built only for pairs shown)."""
        need, offer = (
            (self.listing, self.others[row])
            if isinstance(self.listing, NeedRecord)
            else (self.others[row], self.listing)
        )
        return compatibility(need, offer, now=self.now)  # type: ignore[arg-type]
