"""Translated labels of the broker workflow's vocabulary: match statuses, reasons, sources and ranker features.

Registered into web.labels, so templates write `label("match_status", match.status)` like any other value.
"""

from __future__ import annotations

from matcher.features import FEATURE_NAMES
from models.introductions import INTRODUCTION_REQUESTED
from models.matches import SYSTEM_ROLE, MatchReason, MatchSource, MatchStatus
from web.i18n import N_
from web.labels import ENUMS, LABELS

MATCH_LABELS: dict[str, dict[str, str]] = {
    "match_status": {
        MatchStatus.SUGGESTED: N_("Suggested"),
        MatchStatus.ACCEPTED: N_("Accepted"),
        MatchStatus.REJECTED: N_("Rejected"),
        MatchStatus.INTRODUCED: N_("Introduced"),
        MatchStatus.NEGOTIATING: N_("Negotiating"),
        MatchStatus.DEAL: N_("Deal"),
        MatchStatus.LOST: N_("Lost"),
    },
    "match_reason": {
        MatchReason.NOT_RELEVANT: N_("Not relevant"),
        MatchReason.SECTOR_MISMATCH: N_("Sector mismatch"),
        MatchReason.TOO_EARLY_STAGE: N_("Technology too early-stage"),
        MatchReason.PRICE_BUDGET: N_("Price and budget apart"),
        MatchReason.IP_TERMS: N_("IP terms"),
        MatchReason.DUPLICATE: N_("Duplicate"),
        MatchReason.NO_RESPONSE: N_("No response"),
        MatchReason.CHOSE_ANOTHER: N_("Chose another partner"),
        MatchReason.TIMING: N_("Timing"),
        MatchReason.OTHER: N_("Other (say what in the note)"),
        MatchReason.LISTING_CHANGED: N_("A listing changed"),
        INTRODUCTION_REQUESTED: N_("Introduction requested by a member"),
    },
    "match_source": {MatchSource.ENGINE: N_("Engine"), MatchSource.BROKER: N_("Broker")},
    # Who moved a match: a role, or the engine itself (models.matches.SYSTEM_ROLE).
    "actor_role": {**LABELS["role"], SYSTEM_ROLE: N_("The engine")},
    "feature": {
        "text": N_("Text relevance"),
        "lexical": N_("Shared words"),
        "dense": N_("Meaning"),
        "bm25": N_("BM25 score"),
        "similarity": N_("Similarity"),
        "similarity_gap": N_("Gap to the best candidate"),
        "rank": N_("Rank among candidates"),
        "language_rank": N_("Rank in its language"),
        "lexical_rank": N_("Rank by shared words"),
        "language": N_("Language"),
        "sector": N_("Sector"),
        "trl": N_("Technology readiness"),
        "budget": N_("Budget"),
        "transfer": N_("Transfer type"),
        "region": N_("Region"),
        "freshness": N_("Freshness"),
    },
}
# Every ranker feature has a label: a new feature without one fails tests/web/test_match_labels.py.
MISSING_FEATURE_LABELS = sorted(set(FEATURE_NAMES) - set(MATCH_LABELS["feature"]))

LABELS.update(MATCH_LABELS)
ENUMS.update(match_status=MatchStatus, match_reason=MatchReason, match_source=MatchSource)
