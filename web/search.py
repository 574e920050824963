"""The search page's facets and results: one search box over offers or needs, filters beside it."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from core.access import Viewer
from core.taxonomy import (
    VND_PER_USD,
    Currency,
    IPStatus,
    Language,
    ListingStatus,
    Region,
    Sector,
    TransferType,
)
from models.facets import ListingFacets
from models.id_sets import id_in
from models.listings import LISTING_MODELS, ListingFilters, Offer
from models.search_scope import SearchScope, scope_ids, search_scope

PAGE_SIZE = 20
MAX_PAGE = 50  # the search reads at most offset 1000, like the API
MAX_QUERY_CHARS = 2_000
MAX_AMOUNT = 10**15


@dataclass
class Facets:
    """What the visitor asked for, read leniently from the query string: an unknown value is ignored."""

    q: str = ""
    kind: str = "offers"
    sectors: list[str] = field(default_factory=list)
    trl_min: int | None = None
    trl_max: int | None = None
    ip_statuses: list[str] = field(default_factory=list)
    transfer_types: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    price_from: int | None = None
    price_to: int | None = None
    page: int = 1

    @classmethod
    def read(cls, params: QueryParams) -> Facets:
        def chosen(name: str, allowed: type[StrEnum]) -> list[str]:
            values = {member.value for member in allowed}
            return [value for value in dict.fromkeys(params.getlist(name)) if value in values]

        def number(name: str, low: int, high: int) -> int | None:
            raw = (params.get(name) or "").replace(" ", "").replace(".", "").replace(",", "")
            return min(max(int(raw), low), high) if raw.isdigit() and len(raw) <= 16 else None

        kind = params.get("kind", "offers")
        return cls(
            q=(params.get("q") or "")[:MAX_QUERY_CHARS].strip(),
            kind=kind if kind in LISTING_MODELS else "offers",
            sectors=chosen("sector", Sector),
            trl_min=number("trl_min", 1, 9),
            trl_max=number("trl_max", 1, 9),
            ip_statuses=chosen("ip_status", IPStatus),
            transfer_types=chosen("transfer_type", TransferType),
            regions=chosen("region", Region),
            languages=chosen("language", Language),
            price_from=number("price_from", 0, MAX_AMOUNT),
            price_to=number("price_to", 0, MAX_AMOUNT),
            page=number("page", 1, MAX_PAGE) or 1,
        )

    @property
    def filters(self) -> ListingFilters:
        low, high = self.trl_min, self.trl_max
        if low is not None and high is not None and low > high:
            low, high = high, low
        return ListingFilters(
            sectors=[Sector(v) for v in self.sectors],
            trl_min=low,
            trl_max=high,
            ip_statuses=[IPStatus(v) for v in self.ip_statuses] if self.kind == "offers" else [],
            transfer_types=[TransferType(v) for v in self.transfer_types],
            regions=[Region(v) for v in self.regions],
            languages=[Language(v) for v in self.languages],
            statuses=(ListingStatus.PUBLISHED,),
        )

    @property
    def active(self) -> int:
        """How many filters are set (shown on the facets' summary)."""
        lists = self.sectors + self.ip_statuses + self.transfer_types + self.regions + self.languages
        singles = (self.trl_min, self.trl_max, self.price_from, self.price_to)
        return len(lists) + sum(value is not None for value in singles)

    def query(self, **changes: Any) -> str:
        """This search's query string with some values changed (pagination, the other side)."""
        values: dict[str, Any] = {
            "q": self.q,
            "kind": self.kind,
            "sector": self.sectors,
            "trl_min": self.trl_min,
            "trl_max": self.trl_max,
            "ip_status": self.ip_statuses,
            "transfer_type": self.transfer_types,
            "region": self.regions,
            "language": self.languages,
            "price_from": self.price_from,
            "price_to": self.price_to,
            "page": self.page,
        }
        values.update(changes)
        pairs = [
            (name, item)
            for name, value in values.items()
            for item in (value if isinstance(value, list) else [value])
            if item not in (None, "") and not (name == "page" and item == 1)
        ]
        return urlencode(pairs)


def in_vnd(amount: int | None, currency: Currency | str) -> int | None:
    if amount is None:
        return None
    return amount * VND_PER_USD if str(currency) == Currency.USD.value else amount


def within_price(
    *, session: Session, kind: str, ids: AbstractSet[int], price_from: int | None, price_to: int | None
) -> AbstractSet[int]:
    """The listings whose price (offers) or budget (needs) range meets [from, to] in VND.

    Listings without a price are kept: "price on request" is common and should not vanish from a search.
    """
    if price_from is None and price_to is None:
        return ids
    model = LISTING_MODELS[kind]
    low_column, high_column = (
        (Offer.price_min, Offer.price_max) if model is Offer else (model.budget_min, model.budget_max)  # type: ignore[union-attr]
    )
    rows = session.execute(select(model.id, low_column, high_column, model.currency).where(id_in(model.id, ids)))
    kept: set[int] = set()
    for listing_id, low, high, currency in rows:
        low, high = in_vnd(low, currency), in_vnd(high, currency)
        if low is None and high is None:
            kept.add(listing_id)
            continue
        if price_to is not None and (low if low is not None else high) > price_to:  # type: ignore[operator]
            continue
        if price_from is not None and (high if high is not None else low) < price_from:  # type: ignore[operator]
            continue
        kept.add(listing_id)
    return kept


def search_scope_of(
    *, session: Session, facets: Facets, viewer: Viewer, counter: ListingFacets | None = None
) -> SearchScope:
    """The listings the floor's search may show: the facets' scope, narrowed by the price range; the ids
    of a filtered one from the listing facets (`counter`) when there are some."""
    model = LISTING_MODELS[facets.kind]
    if facets.price_from is None and facets.price_to is None:
        return search_scope(
            session=session, model=model, filters=facets.filters, viewer=viewer, facets=counter
        )
    ids = scope_ids(session=session, model=model, filters=facets.filters, viewer=viewer, facets=counter)
    return SearchScope(
        within_price(
            session=session, kind=facets.kind, ids=ids, price_from=facets.price_from, price_to=facets.price_to
        )
    )


def highlight(text: str | None, terms: list[str] | None) -> Markup:
    """The text, escaped, with every occurrence of the matched terms in <mark> (longest first, any case)."""
    if not text:
        return Markup("")
    if not terms:
        return escape(text)
    ordered = sorted({term for term in terms if term.strip()}, key=len, reverse=True)
    pattern = re.compile(
        "|".join(r"(?<!\w)" + r"\s+".join(map(re.escape, term.split())) + r"(?!\w)" for term in ordered),
        re.IGNORECASE,
    )
    pieces: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        pieces.append(str(escape(text[last : found.start()])))
        pieces.append(f"<mark>{escape(found.group(0))}</mark>")
        last = found.end()
    pieces.append(str(escape(text[last:])))
    return Markup("".join(pieces))


def excerpt(text: str, terms: list[str] | None, length: int = 280) -> str:
    """A window of the description around the first matched term (or its beginning)."""
    if len(text) <= length:
        return text
    start = 0
    lowered = text.lower()
    positions = [lowered.find(term.lower()) for term in terms or () if term.strip()]
    positions = [p for p in positions if p >= 0]
    if positions:
        start = max(0, min(positions) - length // 4)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + length)
    while end < len(text) and not text[end - 1].isspace():
        end += 1
    return ("… " if start else "") + text[start:end].strip() + (" …" if end < len(text) else "")
