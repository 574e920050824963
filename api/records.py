"""Reads listings from the store as the matcher's plain records."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.records import NeedRecord, OfferRecord
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
    """The matcher's RecordSource over one database session.

    Reads plain columns, not ORM objects: a match reads its ~200 candidates on every request, and
    building mapped instances (with the owner joined in) cost more than the ranking itself.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def offers(self, ids: Collection[int]) -> Mapping[int, OfferRecord]:
        return {row.id: offer_record(row) for row in self._rows(Offer, OFFER_FIELDS, ids)}

    def needs(self, ids: Collection[int]) -> Mapping[int, NeedRecord]:
        return {row.id: need_record(row) for row in self._rows(Need, NEED_FIELDS, ids)}

    def _rows(self, model: type[Offer] | type[Need], fields: tuple[str, ...], ids: Collection[int]) -> Any:
        if not ids:
            return []
        columns = [getattr(model, name) for name in fields]
        return self.session.execute(select(*columns).where(id_in(model.id, list(ids))))
