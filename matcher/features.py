"""Graded structured compatibility between a need and an offer, each feature in [0, 1] with its reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from core.taxonomy import REGION_PARENT, VND_PER_USD, Currency, Region, sector_relatedness
from matcher.fusion import FusedCandidate
from matcher.records import NeedFacts, OfferFacts

# Order of the feature vector the ranker sees: retrieval's text features, then the structured ones.
# "lexical", "dense" (the two shares of the fused score) and the ranks (among all candidates, and
# among those written in the candidate's language) are relative to the query's other candidates;
# "similarity" (language-centred cosine) and "similarity_gap" (below the query's best) carry how good
# the best is, which a calibrated probability needs: a need with no good offer must score low
# everywhere. Both are in units of the model's confident spread (its model card), so one weight means
# the same under another encoder's cosine scale. The fused score itself is not a feature: it is
# lexical + dense exactly, and a collinear copy only splits the regularised weights.
TEXT_FEATURES = (
    "lexical",
    "dense",
    "bm25",
    "similarity",
    "similarity_gap",
    "rank",
    "language_rank",
    "lexical_rank",
)
FEATURE_NAMES = (
    *TEXT_FEATURES,
    "language",
    "sector",
    "trl",
    "budget",
    "transfer",
    "region",
    "freshness",
)
# What a feature is worth when nothing is known: neither a reason for nor against a match.
NEUTRAL = 0.5
# The values explanations compare a pair with ("helped" = above): neutral, and for the text features
# those of an average candidate (a centred similarity of 0 is the language's average listing).
REFERENCE = np.array(
    [
        {
            "similarity": 0.0,
            "similarity_gap": 2.0,
            "rank": 0.1,
            "language_rank": 0.1,
            "lexical_rank": 0.1,
        }.get(name, NEUTRAL)
        for name in FEATURE_NAMES
    ]
)

# Credit for an offer that falls short of the required TRL by 1, 2, 3+ levels: one level is
# usually bridged by a pilot with the enterprise, three are a research project.
TRL_SHORTFALL_CREDIT = (1.0, 0.6, 0.25, 0.0)


@dataclass(frozen=True)
class Feature:
    """One compatibility signal: its value, a sentence saying why, and what would fix a shortfall."""

    name: str
    value: float
    reason: str
    would_qualify: str | None = None


def text_features(
    candidate: FusedCandidate,
    *,
    rank: int,
    language_rank: int,
    best_similarity: float,
    lexical_rank: int | None = None,
    similarity_scale: float = 1.0,
) -> list[float]:
    """The retrieval part of a pair's feature vector, in TEXT_FEATURES order; ranks count from 0
    (`lexical_rank`: in BM25's order, None when BM25 did not find the candidate), cosines divided by
    `similarity_scale`."""
    return [
        candidate.lexical,
        candidate.dense,
        candidate.bm25,
        candidate.similarity / similarity_scale,
        (best_similarity - candidate.similarity) / similarity_scale,
        1.0 / (1 + rank),
        1.0 / (1 + language_rank),
        0.0 if lexical_rank is None else 1.0 / (1 + lexical_rank),
    ]


def text_feature_rows(
    candidates: Sequence[FusedCandidate], languages: Sequence[str], *, similarity_scale: float = 1.0
) -> list[list[float]]:
    """The text features of a query's candidates, in fused order; `languages`: each candidate's;
    `similarity_scale`: the cosine spread the encoder is confident at."""
    best = max((candidate.similarity for candidate in candidates), default=0.0)
    by_bm25 = sorted(range(len(candidates)), key=lambda row: -candidates[row].bm25)
    lexical_rank = {row: rank for rank, row in enumerate(by_bm25) if candidates[row].bm25 > 0}
    seen_in_language: Counter[str] = Counter()
    rows = []
    for rank, (candidate, language) in enumerate(zip(candidates, languages, strict=True)):
        rows.append(
            text_features(
                candidate,
                rank=rank,
                language_rank=seen_in_language[language],
                lexical_rank=lexical_rank.get(rank),
                best_similarity=best,
                similarity_scale=similarity_scale,
            )
        )
        seen_in_language[language] += 1
    return rows


# Each structured feature is a value (every candidate of a match needs one for the ranker) and a
# Feature with its reason, built only for the few pairs a match returns; the Feature takes its value
# from the value function, so the two never disagree.


def language_value(need: NeedFacts, offer: OfferFacts) -> float:
    return 1.0 if need.language == offer.language else 0.0


def language_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    value = language_value(need, offer)
    if value == 1.0:
        return Feature("language", value, f"both written in {need.language.value}")
    # Not a shortfall to fix: cross-language pairs are what the exchange exists for; the ranker
    # learns how much the language barrier costs a deal from broker decisions.
    return Feature("language", value, f"need in {need.language.value}, offer in {offer.language.value}")


def _in_vnd(amount: int, currency: Currency) -> float:
    return float(amount) * (VND_PER_USD if currency == Currency.USD else 1)


def _money(amount: int, currency: Currency) -> str:
    return f"{amount:,} {currency.value}"


def trl_value(need: NeedFacts, offer: OfferFacts) -> float:
    shortfall = need.min_trl - offer.trl
    return 1.0 if shortfall <= 0 else TRL_SHORTFALL_CREDIT[min(shortfall, len(TRL_SHORTFALL_CREDIT) - 1)]


def trl_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    shortfall = need.min_trl - offer.trl
    if shortfall <= 0:
        return Feature("trl", 1.0, f"offer is at TRL {offer.trl}, need asks for ≥ {need.min_trl}")
    return Feature(
        "trl",
        trl_value(need, offer),
        f"offer is at TRL {offer.trl}, {shortfall} level{'s' if shortfall > 1 else ''} below the need",
        would_qualify=f"requires TRL ≥ {need.min_trl}, offer is at {offer.trl}",
    )


def sector_value(need: NeedFacts, offer: OfferFacts) -> float:
    return sector_relatedness(need.sector, offer.sector)


def sector_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    value = sector_value(need, offer)
    if value == 1.0:
        return Feature("sector", value, f"same sector ({offer.sector.value})")
    kind = "related" if value > 0 else "unrelated"
    return Feature("sector", value, f"{kind} sectors: need {need.sector.value}, offer {offer.sector.value}")


def _budget_and_price(need: NeedFacts, offer: OfferFacts) -> tuple[int | None, int | None]:
    budget = need.budget_max if need.budget_max is not None else need.budget_min
    price = offer.price_min if offer.price_min is not None else offer.price_max
    return budget, price


def budget_value(need: NeedFacts, offer: OfferFacts) -> float:
    budget, price = _budget_and_price(need, offer)
    if budget is None or price is None:
        return NEUTRAL
    budget_vnd, price_vnd = _in_vnd(budget, need.currency), _in_vnd(price, offer.currency)
    if price_vnd <= budget_vnd:
        return 1.0
    # Credit falls linearly to zero when the price is twice the budget: room for negotiation, not more.
    return max(0.0, 1.0 - (price_vnd - budget_vnd) / budget_vnd) if budget_vnd > 0 else 0.0


def budget_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    budget, price = _budget_and_price(need, offer)
    if budget is None or price is None:
        return Feature("budget", NEUTRAL, "price or budget not stated")
    value = budget_value(need, offer)
    said = f"budget up to {_money(budget, need.currency)}, price from {_money(price, offer.currency)}"
    if value == 1.0:
        return Feature("budget", value, said)
    budget_vnd, price_vnd = _in_vnd(budget, need.currency), _in_vnd(price, offer.currency)
    return Feature(
        "budget", value, said, would_qualify=f"price is {price_vnd / max(budget_vnd, 1):.1f}× the budget"
    )


def transfer_value(need: NeedFacts, offer: OfferFacts) -> float:
    if not need.transfer_types or not offer.transfer_types:
        return NEUTRAL
    return 1.0 if set(need.transfer_types) & set(offer.transfer_types) else 0.0


def transfer_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    value = transfer_value(need, offer)
    wanted, offered = set(need.transfer_types), set(offer.transfer_types)
    if not wanted or not offered:
        return Feature("transfer", value, "transfer terms not stated on both sides")
    if value == 1.0:
        return Feature("transfer", value, f"both accept {', '.join(sorted(wanted & offered))}")
    return Feature(
        "transfer",
        value,
        f"need wants {', '.join(sorted(wanted))}; offer proposes {', '.join(sorted(offered))}",
        would_qualify=f"offer would need to accept {' or '.join(sorted(wanted))}",
    )


def _broad(region: Region) -> Region:
    return REGION_PARENT.get(region, region)


def region_value(need: NeedFacts, offer: OfferFacts) -> float:
    if need.region == offer.region:
        return 1.0
    if Region.NATIONWIDE in (need.region, offer.region) or _broad(need.region) == _broad(offer.region):
        return 0.75
    if Region.INTERNATIONAL in (need.region, offer.region):
        return 0.4
    # Transfers across Vietnam are common; distance is a mild cost, not a barrier.
    return 0.5


def region_feature(need: NeedFacts, offer: OfferFacts) -> Feature:
    value = region_value(need, offer)
    reason = {
        1.0: f"same region ({offer.region.value})",
        0.75: f"nearby regions: {need.region.value} / {offer.region.value}",
        0.4: "cross-border transfer",
    }.get(value, f"different regions: {need.region.value} / {offer.region.value}")
    return Feature("region", value, reason)


def _age_days(listing_updated: datetime, now: datetime) -> float:
    updated = listing_updated if listing_updated.tzinfo else listing_updated.replace(tzinfo=UTC)
    return max(0.0, (now - updated).total_seconds() / 86_400)


def freshness_value(listing_updated: datetime, *, now: datetime) -> float:
    age_days = _age_days(listing_updated, now)
    # Full credit for half a year, then a slow decay to a floor: old listings may still be valid.
    return 1.0 if age_days <= 180 else max(0.3, 1.0 - (age_days - 180) / 730)


def freshness_feature(listing_updated: datetime, *, now: datetime) -> Feature:
    value = freshness_value(listing_updated, now=now)
    return Feature("freshness", value, f"offer updated {int(_age_days(listing_updated, now))} days ago")


def compatibility_values(need: NeedFacts, offer: OfferFacts, *, now: datetime) -> list[float]:
    """The values of `compatibility`, without building its reasons: what the ranker reads of every
    candidate."""
    return [
        language_value(need, offer),
        sector_value(need, offer),
        trl_value(need, offer),
        budget_value(need, offer),
        transfer_value(need, offer),
        region_value(need, offer),
        freshness_value(offer.updated_at, now=now),
    ]


def compatibility(need: NeedFacts, offer: OfferFacts, *, now: datetime | None = None) -> list[Feature]:
    """Every structured feature of a need–offer pair, in FEATURE_NAMES order (text excluded)."""
    now = now or datetime.now(UTC)
    return [
        language_feature(need, offer),
        sector_feature(need, offer),
        trl_feature(need, offer),
        budget_feature(need, offer),
        transfer_feature(need, offer),
        region_feature(need, offer),
        freshness_feature(offer.updated_at, now=now),
    ]
