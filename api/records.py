"""Reads listings from the store as the matcher's plain records."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.record_cache import RecordCache
from matcher.records import ListingFacts, ListingRecord, NeedFacts, NeedRecord, OfferFacts, OfferRecord
from models.id_sets import id_in
from models.listings import LISTING_MODELS

# Read as stored; the two list columns after them become a tuple and a frozenset.
PLAIN = ("id", "organization_id", "sector", "currency", "region", "language", "status", "updated_at")
FACTS = (*PLAIN, "transfer_types", "excluded_organization_ids")
TEXT = ("title", "description", "keywords")
OFFER_FACTS = (*FACTS, "trl", "ip_status", "price_min", "price_max")
NEED_FACTS = (*FACTS, "confidentiality", "min_trl", "budget_min", "budget_max", "deadline")
OFFER_FIELDS = (*OFFER_FACTS, *TEXT)
NEED_FIELDS = (*NEED_FACTS, *TEXT)


def _facts(row: Any) -> dict[str, Any]:
    return {
        **{name: getattr(row, name) for name in PLAIN},
        "transfer_types": tuple(row.transfer_types or ()),
        "excluded_organization_ids": frozenset(row.excluded_organization_ids or ()),
    }


def _offer_facts(row: Any) -> dict[str, Any]:
    return {
        **_facts(row),
        "trl": row.trl,
        "ip_status": row.ip_status.value,
        "price_min": row.price_min,
        "price_max": row.price_max,
    }


def _need_facts(row: Any) -> dict[str, Any]:
    return {
        **_facts(row),
        "confidentiality": row.confidentiality,
        "min_trl": row.min_trl,
        "budget_min": row.budget_min,
        "budget_max": row.budget_max,
        "deadline": row.deadline,
    }


def _text(row: Any) -> dict[str, Any]:
    return {"title": row.title, "description": row.description, "keywords": tuple(row.keywords or ())}


def offer_facts(row: Any) -> OfferFacts:
    """The facts of an Offer row (or of a result row carrying OFFER_FACTS)."""
    return OfferFacts(**_offer_facts(row))


def need_facts(row: Any) -> NeedFacts:
    """The facts of a Need row (or of a result row carrying NEED_FACTS)."""
    return NeedFacts(**_need_facts(row))


def offer_record(row: Any) -> OfferRecord:
    """The record of an Offer row (or of a result row carrying OFFER_FIELDS)."""
    return OfferRecord(**_offer_facts(row), **_text(row))


def need_record(row: Any) -> NeedRecord:
    """The record of a Need row (or of a result row carrying NEED_FIELDS)."""
    return NeedRecord(**_need_facts(row), **_text(row))


class StoreRecords:
    """The matcher's RecordSource over one database session, through the process's caches if given.

    Reads plain columns, not ORM instances: a match reads its ~400 candidates on every request, and
    building mapped instances (with the owner joined in) cost more than the ranking itself. Candidates
    are read as facts (no text, a third of a record's bytes), so a cache of them covers much more of
    the catalogue than one of whole records.
    """

    def __init__(
        self,
        session: Session,
        *,
        cache: RecordCache[ListingRecord] | None = None,
        facts_cache: RecordCache[ListingFacts] | None = None,
    ) -> None:
        self.session = session
        self.cache = cache
        self.facts_cache = facts_cache

    def offers(self, ids: Collection[int]) -> Mapping[int, OfferRecord]:
        return self._read(self.cache, "offers", ids, OFFER_FIELDS, offer_record)

    def needs(self, ids: Collection[int]) -> Mapping[int, NeedRecord]:
        return self._read(self.cache, "needs", ids, NEED_FIELDS, need_record)

    def offer_facts(self, ids: Collection[int]) -> Mapping[int, OfferFacts]:
        return self._read(self.facts_cache, "offers", ids, OFFER_FACTS, offer_facts)

    def need_facts(self, ids: Collection[int]) -> Mapping[int, NeedFacts]:
        return self._read(self.facts_cache, "needs", ids, NEED_FACTS, need_facts)

    def _read(
        self,
        cache: RecordCache[Any] | None,
        kind: str,
        ids: Collection[int],
        fields: tuple[str, ...],
        build: Callable[[Any], Any],
    ) -> Mapping[int, Any]:
        """`ids` of `kind` built from `fields`, through `cache` (which holds both kinds under (kind, id))."""
        model = LISTING_MODELS[kind]

        def load(missing: list[int]) -> dict[int, Any]:
            if not missing:
                return {}
            columns = [getattr(model, name) for name in fields]
            return {
                row.id: build(row)
                for row in self.session.execute(select(*columns).where(id_in(model.id, missing)))
            }

        return load(list(ids)) if cache is None else cache.read(kind, ids, load)
