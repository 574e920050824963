"""Structured compatibility: graded, explained, near-misses say what would qualify."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from core.taxonomy import Currency, Language, ListingStatus, Region, Sector
from matcher.features import (
    FEATURE_NAMES,
    budget_feature,
    compatibility,
    compatibility_values,
    freshness_feature,
    region_feature,
    sector_feature,
    transfer_feature,
    trl_feature,
)
from matcher.records import NeedRecord, OfferRecord

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def offer(**overrides: object) -> OfferRecord:
    values: dict = dict(
        id=1,
        organization_id=10,
        title="Drip irrigation controller",
        description="IoT drip",
        keywords=("irrigation",),
        sector=Sector.SMART_AGRICULTURE,
        transfer_types=("licence",),
        currency=Currency.VND,
        region=Region.MEKONG_DELTA,
        language=Language.EN,
        status=ListingStatus.PUBLISHED,
        updated_at=NOW - timedelta(days=10),
        trl=6,
        price_min=300_000_000,
        price_max=500_000_000,
    )
    values.update(overrides)
    return OfferRecord(**values)


def need(**overrides: object) -> NeedRecord:
    values: dict = dict(
        id=2,
        organization_id=20,
        title="Irrigation for durian",
        description="Save water",
        keywords=(),
        sector=Sector.SMART_AGRICULTURE,
        transfer_types=("licence",),
        currency=Currency.VND,
        region=Region.CAN_THO,
        language=Language.EN,
        status=ListingStatus.PUBLISHED,
        updated_at=NOW,
        min_trl=6,
        budget_max=400_000_000,
    )
    values.update(overrides)
    return NeedRecord(**values)


def test_trl_near_miss_is_partial_credit_with_a_fix() -> None:
    assert trl_feature(need(min_trl=6), offer(trl=7)).value == 1.0
    near = trl_feature(need(min_trl=6), offer(trl=5))
    far = trl_feature(need(min_trl=6), offer(trl=4))
    assert 0 < far.value < near.value < 1
    assert near.would_qualify == "requires TRL ≥ 6, offer is at 5"
    assert trl_feature(need(min_trl=6), offer(trl=2)).value == 0.0


def test_sector_relatedness_is_graded() -> None:
    same = sector_feature(need(), offer()).value
    related = sector_feature(need(sector=Sector.FOOD_PROCESSING), offer()).value
    unrelated = sector_feature(need(sector=Sector.FINTECH), offer()).value
    assert same > related > unrelated == 0.0


def test_budget_compares_across_currencies_and_degrades_gradually() -> None:
    assert budget_feature(need(budget_max=400_000_000), offer(price_min=300_000_000)).value == 1.0
    usd = budget_feature(need(budget_max=20_000, currency=Currency.USD), offer(price_min=300_000_000))
    assert usd.value == 1.0  # 20,000 USD is 500 M VND at the reference rate
    short = budget_feature(need(budget_max=250_000_000), offer(price_min=300_000_000))
    assert 0.5 < short.value < 1.0 and short.would_qualify
    assert budget_feature(need(budget_max=100_000_000), offer(price_min=300_000_000)).value == 0.0
    assert budget_feature(need(budget_max=None), offer()).value == 0.5


def test_transfer_region_and_freshness() -> None:
    assert transfer_feature(need(transfer_types=("licence", "assignment")), offer()).value == 1.0
    mismatch = transfer_feature(need(transfer_types=("joint_venture",)), offer())
    assert mismatch.value == 0.0 and "joint_venture" in (mismatch.would_qualify or "")
    assert region_feature(need(region=Region.MEKONG_DELTA), offer()).value == 1.0
    assert region_feature(need(region=Region.CAN_THO), offer()).value == 0.75  # Can Tho lies in the delta
    assert region_feature(need(region=Region.HA_NOI), offer()).value == 0.5
    fresh = freshness_feature(NOW - timedelta(days=30), now=NOW).value
    stale = freshness_feature(NOW - timedelta(days=900), now=NOW).value
    assert fresh == 1.0 and 0.3 <= stale < fresh


def test_compatibility_lists_every_structured_feature_in_order() -> None:
    names = [feature.name for feature in compatibility(need(), offer(), now=NOW)]
    assert names == ["language", "sector", "trl", "budget", "transfer", "region", "freshness"]
    assert FEATURE_NAMES[-len(names) :] == tuple(names)


def test_language_feature_tells_cross_language_pairs_apart() -> None:
    assert compatibility(need(), offer(), now=NOW)[0].value == 1.0
    cross = compatibility(need(language=Language.VI), offer(), now=NOW)[0]
    assert cross.value == 0.0 and cross.would_qualify is None and "vi" in cross.reason


def test_values_alone_equal_the_explained_features_for_varied_pairs() -> None:
    """The ranker reads `compatibility_values` of every candidate and explanations `compatibility` of
    the pairs shown: they must agree on every kind of pair."""
    rng = random.Random(7)
    money = [None, 0, 100_000_000, 300_000_000, 600_000_000, 2_000_000_000]
    for _ in range(500):
        pair_need = need(
            sector=rng.choice(list(Sector)),
            region=rng.choice(list(Region)),
            language=rng.choice(list(Language)),
            transfer_types=tuple(rng.sample(["licence", "assignment", "joint_venture"], rng.randint(0, 2))),
            currency=rng.choice(list(Currency)),
            min_trl=rng.randint(1, 9),
            budget_max=rng.choice(money),
        )
        pair_offer = offer(
            sector=rng.choice(list(Sector)),
            region=rng.choice(list(Region)),
            language=rng.choice(list(Language)),
            transfer_types=tuple(rng.sample(["licence", "assignment", "joint_venture"], rng.randint(0, 2))),
            currency=rng.choice(list(Currency)),
            trl=rng.randint(1, 9),
            price_min=rng.choice(money),
            updated_at=NOW - timedelta(days=rng.randint(0, 1500)),
        )
        explained = [feature.value for feature in compatibility(pair_need, pair_offer, now=NOW)]
        assert compatibility_values(pair_need, pair_offer, now=NOW) == explained
