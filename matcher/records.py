"""Plain, read-only views of listings: what the matcher needs to know, free of any ORM."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Protocol

from core.taxonomy import Confidentiality, Currency, Language, ListingStatus, Region, Sector
from indexes.documents import listing_text


@dataclass(frozen=True, kw_only=True)
class ListingFacts:
    """What ranking reads of a listing, its text aside: a match reads these for its ~400 candidates
    and the text only for the page it shows."""

    id: int
    organization_id: int
    sector: Sector
    transfer_types: tuple[str, ...]
    currency: Currency
    region: Region
    language: Language
    status: ListingStatus
    updated_at: datetime
    excluded_organization_ids: frozenset[int] = field(default_factory=frozenset)
    confidentiality: Confidentiality = Confidentiality.PUBLIC


@dataclass(frozen=True, kw_only=True)
class OfferFacts(ListingFacts):
    trl: int = 1
    ip_status: str = "none"
    price_min: int | None = None
    price_max: int | None = None


@dataclass(frozen=True, kw_only=True)
class NeedFacts(ListingFacts):
    min_trl: int = 1
    budget_min: int | None = None
    budget_max: int | None = None
    deadline: date | None = None


@dataclass(frozen=True, kw_only=True)
class ListingRecord(ListingFacts):
    """A listing with its text: what a query, a shown result and its explanation read."""

    title: str
    description: str
    keywords: tuple[str, ...]

    @cached_property
    def text(self) -> str:
        """The words a person reads, where matched terms are looked up: punctuated as indexed, so a
        phrase never runs from one keyword into the next. Composed once: explaining a page reads
        the query's and each result's text several times."""
        return listing_text(title=self.title, keywords=self.keywords, description=self.description)


@dataclass(frozen=True, kw_only=True)
class OfferRecord(OfferFacts, ListingRecord):
    pass


@dataclass(frozen=True, kw_only=True)
class NeedRecord(NeedFacts, ListingRecord):
    pass


class RecordSource(Protocol):
    """Where the matcher reads listings from; the API backs it with the store."""

    def offers(self, ids: Collection[int]) -> Mapping[int, OfferRecord]: ...

    def needs(self, ids: Collection[int]) -> Mapping[int, NeedRecord]: ...

    def offer_facts(self, ids: Collection[int]) -> Mapping[int, OfferFacts]: ...

    def need_facts(self, ids: Collection[int]) -> Mapping[int, NeedFacts]: ...
