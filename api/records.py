"""Reads listings from the store as the matcher's plain records."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from matcher.records import NeedRecord, OfferRecord
from models.listings import Need, Offer, get_listings

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


def offer_record(row: Offer) -> OfferRecord:
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


def need_record(row: Need) -> NeedRecord:
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
    """The matcher's RecordSource over one database session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def offers(self, ids: Collection[int]) -> Mapping[int, OfferRecord]:
        rows = get_listings(session=self.session, model=Offer, ids=list(ids))
        return {doc_id: offer_record(row) for doc_id, row in rows.items()}

    def needs(self, ids: Collection[int]) -> Mapping[int, NeedRecord]:
        rows = get_listings(session=self.session, model=Need, ids=list(ids))
        return {doc_id: need_record(row) for doc_id, row in rows.items()}
