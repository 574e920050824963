"""Offers and needs: the two listing tables and the services that read and write them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from core.access import Viewer, can_see
from core.taxonomy import (
    Confidentiality,
    Currency,
    IPStatus,
    Language,
    ListingStatus,
    Region,
    Sector,
    TransferType,
)
from models.base import Base, utcnow
from models.errors import ConflictError, InvalidError, NotFoundError
from models.id_sets import id_in
from models.json_lists import json_list_has_any
from models.organizations import Organization, enum_column

if TYPE_CHECKING:
    from models.facets import ListingFacets  # it builds on this module


class ListingColumns:
    """Columns every listing has, whichever side of the exchange it comes from."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique within the organization only, so a taken ref reveals nothing about others' listings.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    sector: Mapped[Sector] = mapped_column(enum_column(Sector), index=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    transfer_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, 3), default=Currency.VND)
    region: Mapped[Region] = mapped_column(enum_column(Region), index=True)
    language: Mapped[Language] = mapped_column(enum_column(Language, 2), index=True)
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus, 16), default=ListingStatus.DRAFT, index=True
    )
    # Organizations the owner never wants to be matched with.
    excluded_organization_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: API workers poll for listings written in the last seconds (models/listing_changes.py).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    @property
    def confidentiality(self) -> Confidentiality:
        """Offers are always public once published; needs override this with a column."""
        return Confidentiality.PUBLIC

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (
            UniqueConstraint(
                "organization_id", "external_ref", name=f"uq_{table}_organization_id_external_ref"
            ),
            # Lists come newest first: walked in this order, a filtered page stops after its rows
            # instead of sorting every match (migration 0008).
            Index(f"ix_{table}_status_created_at", "status", "created_at"),
        )

    @declared_attr
    def organization_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def organization(cls) -> Mapped[Organization]:
        return relationship(Organization, lazy="joined")


class Offer(ListingColumns, Base):
    """A technology a research institute or university offers to transfer."""

    __tablename__ = "offers"

    trl: Mapped[int] = mapped_column(index=True)
    ip_status: Mapped[IPStatus] = mapped_column(enum_column(IPStatus), index=True)
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    price_max: Mapped[int | None] = mapped_column(BigInteger)


class Need(ListingColumns, Base):
    """A problem an enterprise wants solved by a technology."""

    __tablename__ = "needs"

    min_trl: Mapped[int] = mapped_column(index=True)
    budget_min: Mapped[int | None] = mapped_column(BigInteger)
    budget_max: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[date | None] = mapped_column()
    # Indexed: every needs search by a non-staff viewer looks up the few hidden ones (models/search_scope).
    confidentiality: Mapped[Confidentiality] = mapped_column(
        enum_column(Confidentiality, 16), default=Confidentiality.PUBLIC, index=True
    )


# The two sides of the exchange by their table (and URL) name.
LISTING_MODELS: dict[str, type[Offer] | type[Need]] = {"offers": Offer, "needs": Need}
ListingT = TypeVar("ListingT", bound=ListingColumns)


def trl_column(model: type[Any]) -> Any:
    """The TRL an offer has, or the minimum TRL a need asks for."""
    return Offer.trl if model is Offer else Need.min_trl


@dataclass(frozen=True)
class ListingFilters:
    """Structured filters shared by listing pages and search; None means no constraint."""

    sectors: Sequence[Sector] = ()
    trl_min: int | None = None
    trl_max: int | None = None
    ip_statuses: Sequence[IPStatus] = ()
    transfer_types: Sequence[TransferType] = ()
    regions: Sequence[Region] = ()
    languages: Sequence[Language] = ()
    statuses: Sequence[ListingStatus] = ()
    organization_id: int | None = None
    exclude_ids: Sequence[int] = field(default_factory=tuple)


def _visible_to(query: Select[Any], model: type[Offer] | type[Need], viewer: Viewer) -> Select[Any]:
    if viewer.is_staff:
        return query
    public = model.status == ListingStatus.PUBLISHED
    if model is Need:
        public = public & (Need.confidentiality == Confidentiality.PUBLIC)
    if viewer.organization_id is not None:
        return query.where(or_(public, model.organization_id == viewer.organization_id))
    return query.where(public)


def _filtered(model: type[Any], filters: ListingFilters, viewer: Viewer) -> Select[Any]:
    query = _visible_to(select(model), model, viewer)
    trl = trl_column(model)
    if filters.sectors:
        query = query.where(model.sector.in_(filters.sectors))
    if filters.trl_min is not None:
        query = query.where(trl >= filters.trl_min)
    if filters.trl_max is not None:
        query = query.where(trl <= filters.trl_max)
    if filters.ip_statuses and model is Offer:
        query = query.where(Offer.ip_status.in_(filters.ip_statuses))
    if filters.transfer_types:
        query = query.where(json_list_has_any(model.transfer_types, filters.transfer_types))
    if filters.regions:
        query = query.where(model.region.in_(filters.regions))
    if filters.languages:
        query = query.where(model.language.in_(filters.languages))
    if filters.statuses:
        query = query.where(model.status.in_(filters.statuses))
    if filters.organization_id is not None:
        query = query.where(model.organization_id == filters.organization_id)
    if filters.exclude_ids:
        query = query.where(~id_in(model.id, filters.exclude_ids))
    return query


# Without listing facets (models/facets.py), lists count their matches up to here and then say "more
# than": an exact count in SQL reads every row the filters keep, which took most of the server's time
# at 10^6 listings (0.9 s per filtered list).
COUNT_CAP = 10_000


def list_listings(
    *,
    session: Session,
    model: type[ListingT],
    filters: ListingFilters,
    viewer: Viewer,
    offset: int = 0,
    limit: int = 20,
    sort: str = "-created_at",
    facets: ListingFacets | None = None,
) -> tuple[list[ListingT], int, bool]:
    """One page of listings the viewer may see, how many match the filters and whether that count is
    exact: counted exactly by `facets` (the API process's, in memory), else in SQL up to COUNT_CAP."""
    query = _filtered(model, filters, viewer)
    if facets is not None:
        total, exact = facets.count(model=model, filters=filters, viewer=viewer), True  # type: ignore[arg-type]
    else:
        total, exact = capped_count(session=session, query=query)
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    column = trl_column(model) if name == "trl" else getattr(model, name)
    order = column.desc() if descending else column.asc()
    rows = session.scalars(query.order_by(order, model.id.desc()).offset(offset).limit(limit)).unique().all()
    return list(rows), total, exact


def capped_count(*, session: Session, query: Select[Any]) -> tuple[int, bool]:
    """How many rows `query` selects, counted up to COUNT_CAP, and whether that is all of them."""
    counted = session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0
    return min(counted, COUNT_CAP), counted <= COUNT_CAP


def visible_ids(
    *, session: Session, model: type[Offer] | type[Need], filters: ListingFilters, viewer: Viewer
) -> set[int]:
    """Ids of listings matching the filters that the viewer may see: the search's allowed set."""
    query = _filtered(model, filters, viewer).with_only_columns(model.id)
    return set(session.scalars(query))


def changed_listings(*, session: Session, since: datetime) -> list[tuple[str, int]]:
    """(kind, id) of every listing written at or after `since`, whatever its status now."""
    return [
        (kind, listing_id)
        for kind, model in LISTING_MODELS.items()
        for listing_id in session.scalars(
            select(model.id).where(model.updated_at >= since).order_by(model.id)
        )
    ]


class Visible(Protocol):
    """What says who may see a listing: a row, or the matcher's record of it."""

    @property
    def organization_id(self) -> int: ...

    @property
    def status(self) -> ListingStatus: ...

    @property
    def confidentiality(self) -> Confidentiality: ...


VisibleT = TypeVar("VisibleT", bound=Visible)


def visible_or_missing(
    listing: VisibleT | None, *, model: type[ListingColumns], listing_id: int, viewer: Viewer
) -> VisibleT:
    """`listing` if the viewer may see it; a hidden one is reported as missing, like an absent one, so
    its existence does not leak."""
    if listing is None or not can_see(
        viewer,
        organization_id=listing.organization_id,
        status=listing.status,
        confidentiality=listing.confidentiality,
    ):
        raise NotFoundError(f"{model.__name__} {listing_id} does not exist.")
    return listing


def get_listing(*, session: Session, model: type[ListingT], listing_id: int, viewer: Viewer) -> ListingT:
    """A listing the viewer may see; hidden ones are reported as missing so their existence does not leak."""
    return visible_or_missing(
        session.get(model, listing_id), model=model, listing_id=listing_id, viewer=viewer
    )


def get_listings(*, session: Session, model: type[ListingT], ids: Sequence[int]) -> dict[int, ListingT]:
    """Listings by id in one query, for ranking and index sync."""
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(id_in(model.id, ids))).unique()}


def visible_listings(
    *, session: Session, model: type[ListingT], ids: Sequence[int], viewer: Viewer
) -> dict[int, ListingT]:
    """`get_listings` keeping only those the viewer may see (the ends of links, of results)."""
    return {
        listing_id: row
        for listing_id, row in get_listings(session=session, model=model, ids=ids).items()
        if can_see(
            viewer,
            organization_id=row.organization_id,
            status=row.status,
            confidentiality=row.confidentiality,
        )
    }


def check_organizations(*, session: Session, values: dict[str, Any]) -> None:
    """The owner and the excluded organizations must exist: a listing may not point at nothing."""
    wanted = set(values.get("excluded_organization_ids") or ())
    if values.get("organization_id") is not None:
        wanted.add(values["organization_id"])
    if not wanted:
        return
    found = set(session.scalars(select(Organization.id).where(id_in(Organization.id, wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidError(f"No organization with id {', '.join(map(str, missing))}.")


def create_listing(*, session: Session, model: type[ListingT], values: dict[str, Any]) -> ListingT:
    check_organizations(session=session, values=values)
    if values.get("external_ref") and session.scalar(
        select(model.id).where(
            model.organization_id == values["organization_id"], model.external_ref == values["external_ref"]
        )
    ):
        raise ConflictError(f"A {model.__name__.lower()} with ref {values['external_ref']!r} already exists.")
    row = model(**values)
    session.add(row)
    session.flush()
    return row


def update_listing(*, session: Session, row: ListingT, values: dict[str, Any]) -> ListingT:
    check_organizations(session=session, values=values)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    return row


def delete_listing(*, session: Session, row: Offer | Need) -> None:
    from models.listing_changes import record_deletion  # it builds on this module

    record_deletion(session=session, row=row)
    session.delete(row)
    session.flush()


def listing_ids_by_status(*, session: Session, model: type[Offer] | type[Need]) -> dict[int, ListingStatus]:
    """Every listing's status, for checking indexes against the store."""
    return dict(session.execute(select(model.id, model.status)).tuples().all())
