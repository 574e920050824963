"""Reads listings from the store as the matcher's plain records."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.record_cache import RecordCache
from matcher.records import ListingRecord, NeedRecord, OfferRecord
from models.id_sets import id_in
from models.listings import Need, Offer

SHARED = (
    "id",
    "organization_id",
    "title",
    "description",
    "sector",
    "currency",
    "region",
    "language",
    "status",
    "updated_at",
)


OFFER_FIELDS = (
    *SHARED,
    "keywords",
    "transfer_types",
    "excluded_organization_ids",
    "trl",
    "ip_status",
    "price_min",
    "price_max",
)
NEED_FIELDS = (
    *SHARED,
    "keywords",
    "transfer_types",
    "excluded_organization_ids",
    "confidentiality",
    "min_trl",
    "budget_min",
    "budget_max",
    "deadline",
)


def offer_record(row: Any) -> OfferRecord:
    """The record of an Offer row (or of a result row carrying OFFER_FIELDS)."""
    return OfferRecord(
        **{name: getattr(row, name) for name in SHARED},
        keywords=tuple(row.keywords or ()),
        transfer_types=tuple(row.transfer_types or ()),
        excluded_organization_ids=frozenset(row.excluded_organization_ids or ()),
        trl=row.trl,
        ip_status=row.ip_status.value,
        price_min=row.price_min,
        price_max=row.price_max,
    )


def need_record(row: Any) -> NeedRecord:
    """The record of a Need row (or of a result row carrying NEED_FIELDS)."""
    return NeedRecord(
        **{name: getattr(row, name) for name in SHARED},
        keywords=tuple(row.keywords or ()),
        transfer_types=tuple(row.transfer_types or ()),
        excluded_organization_ids=frozenset(row.excluded_organization_ids or ()),
        confidentiality=row.confidentiality,
        min_trl=row.min_trl,
        budget_min=row.budget_min,
        budget_max=row.budget_max,
        deadline=row.deadline,
    )


class StoreRecords:
    """The matcher's RecordSource over one database session, through the process's record cache if given.

    Reads plain columns, not ORM instances: a match reads its ~200 candidates on every request, and
    building mapped instances (with the owner joined in) cost more than the ranking itself.
    """

    def __init__(self, session: Session, *, cache: RecordCache | None = None) -> None:
        self.session = session
        self.cache = cache

    def offers(self, ids: Collection[int]) -> Mapping[int, OfferRecord]:
        return self._read("offers", ids, self._offers)  # type: ignore[return-value]

    def needs(self, ids: Collection[int]) -> Mapping[int, NeedRecord]:
        return self._read("needs", ids, self._needs)  # type: ignore[return-value]

    def _read(
        self, kind: str, ids: Collection[int], load: Callable[[list[int]], Mapping[int, ListingRecord]]
    ) -> Mapping[int, ListingRecord]:
        if self.cache is None:
            return load(list(ids))
        return self.cache.read(kind, ids, load)

    def _offers(self, ids: list[int]) -> dict[int, ListingRecord]:
        return {row.id: offer_record(row) for row in self._rows(Offer, OFFER_FIELDS, ids)}

    def _needs(self, ids: list[int]) -> dict[int, ListingRecord]:
        return {row.id: need_record(row) for row in self._rows(Need, NEED_FIELDS, ids)}

    def _rows(self, model: type[Offer] | type[Need], fields: tuple[str, ...], ids: Collection[int]) -> Any:
        if not ids:
            return []
        columns = [getattr(model, name) for name in fields]
        return self.session.execute(select(*columns).where(id_in(model.id, list(ids))))
