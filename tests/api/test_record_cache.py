"""The record cache: reads what it holds, loads the rest once, forgets changed listings and races."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from api.record_cache import RecordCache
from core.taxonomy import Currency, Language, ListingStatus, Region, Sector
from matcher.records import ListingRecord


def record(doc_id: int, title: str = "t") -> ListingRecord:
    return ListingRecord(
        id=doc_id,
        organization_id=1,
        title=title,
        description="d",
        keywords=(),
        sector=Sector.ENVIRONMENT_WATER,
        transfer_types=(),
        currency=Currency.VND,
        region=Region.HO_CHI_MINH_CITY,
        language=Language.VI,
        status=ListingStatus.PUBLISHED,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


class Store:
    def __init__(self) -> None:
        self.titles = {i: f"v1-{i}" for i in range(1, 11)}
        self.asked: list[list[int]] = []

    def load(self, ids: list[int]) -> Mapping[int, ListingRecord]:
        self.asked.append(sorted(ids))
        return {i: record(i, self.titles[i]) for i in ids if i in self.titles}


def titles(found: Mapping[int, ListingRecord]) -> dict[int, str]:
    return {doc_id: r.title for doc_id, r in found.items()}


def test_loads_only_what_it_does_not_hold_and_forgets_changed_listings() -> None:
    cache, store = RecordCache(capacity=100), Store()
    assert titles(cache.read("offers", [1, 2], store.load)) == {1: "v1-1", 2: "v1-2"}
    assert titles(cache.read("offers", [1, 2, 3], store.load)) == {1: "v1-1", 2: "v1-2", 3: "v1-3"}
    assert store.asked == [[1, 2], [3]]
    # The same id of the other kind is another listing.
    cache.read("needs", [1], store.load)
    assert store.asked[-1] == [1]
    store.titles[2] = "v2-2"
    cache.discard([("offers", 2)])
    assert titles(cache.read("offers", [1, 2], store.load)) == {1: "v1-1", 2: "v2-2"}
    assert store.asked[-1] == [2]
    # A deleted listing is simply not found again.
    del store.titles[3]
    cache.discard([("offers", 3)])
    assert titles(cache.read("offers", [3], store.load)) == {}


def test_a_read_overtaken_by_a_change_is_not_kept() -> None:
    cache, store = RecordCache(capacity=100), Store()

    def load_then_change(ids: list[int]) -> Mapping[int, ListingRecord]:
        found = store.load(ids)  # the old version, read just before the change commits
        store.titles[5] = "v2-5"
        cache.discard([("offers", 5)])
        return found

    assert titles(cache.read("offers", [5], load_then_change)) == {5: "v1-5"}
    assert titles(cache.read("offers", [5], store.load)) == {5: "v2-5"}


def test_holds_at_most_its_capacity_dropping_the_least_recently_read() -> None:
    cache, store = RecordCache(capacity=3), Store()
    cache.read("offers", [1, 2, 3], store.load)
    cache.read("offers", [1], store.load)  # 1 is now the most recent
    cache.read("offers", [4], store.load)  # 2 goes
    assert len(cache) == 3
    cache.read("offers", [1, 3, 4], store.load)
    assert store.asked[-1] == [4]
    cache.read("offers", [2], store.load)
    assert store.asked[-1] == [2]
    none_kept = RecordCache(capacity=0)
    assert titles(none_kept.read("offers", [1], store.load)) == {1: "v1-1"} and len(none_kept) == 0
