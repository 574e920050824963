"""The matcher's hard rules, explanations and bounded scores, over in-memory stand-in indexes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import pytest

from core.access import ANONYMOUS, Viewer
from core.taxonomy import Confidentiality, ListingStatus, Role
from indexes.encoder import FakeEncoder
from indexes.text import analyze, text_language
from matcher.fusion import AdaptiveFusion
from matcher.ranker import default_ranker
from matcher.records import ListingRecord, NeedFacts, NeedRecord, OfferFacts, OfferRecord
from matcher.service import LISTING_QUERY_TERMS, Matcher
from tests.matcher.test_features import NOW, need, offer

BROKER = Viewer(role=Role.BROKER, organization_id=1)


class WordOverlapIndex:
    """Scores listings by shared analyzed words: enough to exercise candidates and filters."""

    def __init__(self, records: Mapping[int, ListingRecord]) -> None:
        self.records = records
        self.max_terms_asked: list[int | None] = []

    def _search(self, text: str, k: int, allowed_ids: Collection[int] | None) -> list[tuple[int, float]]:
        words = set(analyze(text))
        hits = [
            (doc_id, len(words & set(analyze(record.text))) / (len(words) or 1))
            for doc_id, record in self.records.items()
            if allowed_ids is None or doc_id in allowed_ids
        ]
        return sorted((hit for hit in hits if hit[1] > 0), key=lambda hit: -hit[1])[:k]

    def dense_search(
        self,
        text: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,  # type: ignore[no-untyped-def]
        vector: object = None,
    ):
        return self._search(text, k, allowed_ids)

    def lexical_search(  # type: ignore[no-untyped-def]
        self, text: str, k: int, *, allowed_ids: Collection[int] | None = None, max_terms: int | None = None
    ):
        self.max_terms_asked.append(max_terms)
        return self._search(text, k, allowed_ids)

    def informative(self, phrases: Iterable[str]) -> set[str]:
        return {phrase for phrase in phrases if phrase.lower() not in {"for", "cho"}}

    def compound_words(self, document: object) -> None:
        return None  # not indexed: the text is segmented again

    def stored_vector(self, document: object) -> None:
        return None

    def language_of(self, ids: Iterable[int]) -> dict[int, str]:
        return {doc_id: self.records[doc_id].language.value for doc_id in ids if doc_id in self.records}

    def query_language(self, text: str, *, vector: object = None) -> str:
        return text_language(text)

    def encode_sentences(self, sentences: Sequence[str]) -> np.ndarray:
        return FakeEncoder().encode_queries(sentences)


def facts_of(record: OfferRecord | NeedRecord) -> OfferFacts | NeedFacts:
    kind = OfferFacts if isinstance(record, OfferRecord) else NeedFacts
    return kind(**{field.name: getattr(record, field.name) for field in fields(kind)})


class Records:
    """The listings in memory, counting which ids were read with their text."""

    def __init__(self, offers: dict[int, OfferRecord], needs: dict[int, NeedRecord]) -> None:
        self._offers, self._needs = offers, needs
        self.read_with_text: list[int] = []

    def offers(self, ids: Collection[int]) -> dict[int, OfferRecord]:
        self.read_with_text.extend(ids)
        return {i: self._offers[i] for i in ids if i in self._offers}

    def needs(self, ids: Collection[int]) -> dict[int, NeedRecord]:
        self.read_with_text.extend(ids)
        return {i: self._needs[i] for i in ids if i in self._needs}

    def offer_facts(self, ids: Collection[int]) -> dict[int, OfferFacts]:
        return {i: facts_of(self._offers[i]) for i in ids if i in self._offers}  # type: ignore[misc]

    def need_facts(self, ids: Collection[int]) -> dict[int, NeedFacts]:
        return {i: facts_of(self._needs[i]) for i in ids if i in self._needs}  # type: ignore[misc]


def build(offers: list[OfferRecord], needs: list[NeedRecord]) -> tuple[Matcher, Records]:
    offer_map, need_map = {o.id: o for o in offers}, {n.id: n for n in needs}
    matcher = Matcher(
        indexes={"offers": WordOverlapIndex(offer_map), "needs": WordOverlapIndex(need_map)},
        fusion=AdaptiveFusion(),
        ranker=default_ranker(),
        ranker_version="test",
    )
    return matcher, Records(offer_map, need_map)


THE_NEED = need(
    id=100,
    organization_id=20,
    title="Drip irrigation controller for durian",
    description="soil moisture drip irrigation",
)


def test_hard_rules_self_archived_and_exclusions() -> None:
    good = offer(id=1, organization_id=10)
    own = offer(id=2, organization_id=20)  # same organization as the need
    archived = offer(id=3, organization_id=11, status=ListingStatus.ARCHIVED)
    excluded_by_need = offer(id=4, organization_id=12)
    excludes_need = offer(id=5, organization_id=13, excluded_organization_ids=frozenset({20}))
    target = replace(THE_NEED, excluded_organization_ids=frozenset({12}))
    matcher, records = build([good, own, archived, excluded_by_need, excludes_need], [target])
    results = matcher.match_need(need=target, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW)
    assert [r.id for r in results] == [1]


def test_brokers_only_needs_reach_staff_only() -> None:
    secret = replace(THE_NEED, confidentiality=Confidentiality.BROKERS_ONLY)
    matcher, records = build([offer(id=1)], [secret])
    the_offer = records.offers([1])[1]
    assert [
        r.id
        for r in matcher.match_offer(
            offer=the_offer, allowed_need_ids=None, source=records, viewer=BROKER, now=NOW
        )
    ] == [100]
    for viewer in (ANONYMOUS, Viewer(role=Role.INSTITUTE_MEMBER, organization_id=10)):
        assert (
            matcher.match_offer(
                offer=the_offer, allowed_need_ids=None, source=records, viewer=viewer, now=NOW
            )
            == []
        )


def test_allowed_ids_are_applied_inside_retrieval() -> None:
    offers = [offer(id=i, organization_id=10 + i) for i in range(1, 6)]
    matcher, records = build(offers, [THE_NEED])
    results = matcher.match_need(
        need=THE_NEED, allowed_offer_ids={2, 4}, source=records, viewer=BROKER, now=NOW
    )
    assert sorted(r.id for r in results) == [2, 4]
    assert matcher.match_need(need=THE_NEED, allowed_offer_ids=set(), source=records, viewer=BROKER) == []


def test_candidates_are_ranked_on_their_facts_and_only_the_shown_are_read_with_text() -> None:
    offers = [offer(id=i, organization_id=10 + i) for i in range(1, 7)]
    matcher, records = build(offers, [THE_NEED])
    everything = matcher.match_need(
        need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, k=6, now=NOW
    )
    assert len(everything) == 6
    records.read_with_text.clear()
    top = matcher.match_need(
        need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, k=2, now=NOW
    )
    assert [r.id for r in top] == [r.id for r in everything[:2]]
    assert sorted(records.read_with_text) == sorted(r.id for r in top)
    assert [r.explanation.matched_terms for r in top] == [r.explanation.matched_terms for r in everything[:2]]
    assert all(r.explanation.matched_terms for r in top)


def test_a_candidate_deleted_or_archived_between_its_facts_and_its_text_is_not_shown() -> None:
    offers = [offer(id=i, organization_id=10 + i) for i in range(1, 4)]
    matcher, records = build(offers, [THE_NEED])
    ranked = [
        r.id
        for r in matcher.match_need(
            need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW
        )
    ]
    read_text = records.offers

    def changed_meanwhile(ids: Collection[int]) -> dict[int, OfferRecord]:
        found = {i: record for i, record in read_text(ids).items() if i != ranked[0]}
        found[ranked[1]] = replace(found[ranked[1]], status=ListingStatus.ARCHIVED)
        return found

    records.offers = changed_meanwhile  # type: ignore[method-assign]
    shown = matcher.match_need(need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW)
    assert [r.id for r in shown] == ranked[2:]


class NoCompoundsIndex(WordOverlapIndex):
    """Holds every listing with no compounds, as an index of unsegmented text would."""

    def compound_words(self, document: object) -> frozenset[str]:  # type: ignore[override]
        return frozenset()


def test_a_matchs_query_words_come_from_the_query_listings_own_index() -> None:
    need_record = need(id=100, organization_id=20, title="Máy bay phun thuốc cho nông sản", description="")
    dryer = offer(id=1, organization_id=10, title="Máy sấy nông sản", description="")
    matcher, records = build([dryer], [need_record])
    # The stand-in index holds no compounds (None): pyvi reads "máy bay" and "máy sấy" as words.
    segmented = matcher.match_need(
        need=need_record, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW
    )
    assert "Máy" not in segmented[0].explanation.matched_terms
    # Indexes that hold no compounds for either: lone syllables, and the need's "máy" meets the dryer's.
    matcher.indexes = {name: NoCompoundsIndex(index.records) for name, index in matcher.indexes.items()}  # type: ignore[attr-defined]
    unsegmented = matcher.match_need(
        need=need_record, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW
    )
    assert "Máy" in unsegmented[0].explanation.matched_terms


def test_a_listing_query_scores_its_heaviest_terms_and_free_text_all_of_its() -> None:
    matcher, records = build([offer(id=1, organization_id=10)], [THE_NEED])
    offers_index = matcher.indexes["offers"]
    assert isinstance(offers_index, WordOverlapIndex)
    matcher.match_need(need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW)
    matcher.search(kind="offers", query="drip irrigation", allowed_ids=None, source=records)
    assert offers_index.max_terms_asked == [LISTING_QUERY_TERMS, None]


def test_hidden_ids_are_dropped_from_the_candidates_and_the_total() -> None:
    needs = [replace(THE_NEED, id=100 + i, organization_id=20 + i) for i in range(4)]
    matcher, records = build([offer(id=1)], needs)
    everything, total = matcher.search(
        kind="needs", query="drip irrigation", allowed_ids=None, source=records
    )
    assert total == 4 and {r.id for r in everything} == {100, 101, 102, 103}
    shown, total = matcher.search(
        kind="needs", query="drip irrigation", allowed_ids=None, source=records, hidden_ids={101, 103}
    )
    assert total == 2 and {r.id for r in shown} == {100, 102}
    the_offer = records.offers([1])[1]
    matched = matcher.match(
        the_offer, allowed_ids=None, source=records, viewer=BROKER, hidden_ids={100}, now=NOW
    )
    assert {r.id for r in matched} == {101, 102, 103}


def test_near_miss_is_ranked_below_a_qualifying_offer_and_explained() -> None:
    qualifying = offer(id=1, organization_id=10, trl=6)
    near_miss = offer(id=2, organization_id=11, trl=5)
    matcher, records = build([near_miss, qualifying], [THE_NEED])
    results = matcher.match_need(
        need=THE_NEED, allowed_offer_ids=None, source=records, viewer=BROKER, now=NOW
    )
    assert [r.id for r in results] == [1, 2]
    explanation = results[1].explanation
    assert "requires TRL ≥ 6, offer is at 5" in explanation.would_qualify
    trl_effect = next(f for f in explanation.features if f.name == "trl")
    assert trl_effect.value == pytest.approx(0.6)
    assert all(0 < r.score < 1 for r in results)
    assert results[0].ranker_version == "test"


def test_explanations_name_matched_terms_in_the_listings_words() -> None:
    vietnamese = offer(
        id=1, organization_id=10, title="Bộ điều khiển tưới nhỏ giọt", description="Tưới cho sầu riêng"
    )
    matcher, records = build([vietnamese], [THE_NEED])
    results, total = matcher.search(kind="offers", query="tuoi nho giot", allowed_ids=None, source=records)
    assert total == 1
    assert "tưới nhỏ giọt" in [term.lower() for term in results[0].explanation.matched_terms]


def test_scores_compare_within_a_query() -> None:
    offers = [
        offer(id=1, organization_id=10),
        offer(
            id=2,
            organization_id=11,
            title="Unrelated fintech ledger",
            description="blockchain payments",
            keywords=(),
        ),
    ]
    matcher, records = build(offers, [THE_NEED])
    results = matcher.match_need(
        need=THE_NEED,
        allowed_offer_ids=None,
        source=records,
        viewer=BROKER,
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert results[0].id == 1
    assert results[0].score > 0.5
    assert all(a.score >= b.score for a, b in pairwise(results))


def test_search_without_an_id_list_never_shows_a_listing_archived_since_it_was_indexed() -> None:
    """With no allowed set (nothing to exclude), the indexes may still hold a listing archived a moment ago."""
    live = offer(id=1, organization_id=10)
    archived = offer(id=2, organization_id=11, status=ListingStatus.ARCHIVED)
    matcher, records = build([live, archived], [THE_NEED])
    results, _total = matcher.search(kind="offers", query="drip irrigation", allowed_ids=None, source=records)
    assert [r.id for r in results] == [1]
