"""Request and response bodies for offers and needs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from api.schemas.common import Description, Id, Int, Keyword, Strict, Title, UtcDatetime
from core.access import Viewer, can_write
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

Trl = Annotated[Int, Field(ge=1, le=9, description="Technology readiness level, 1 (idea) to 9 (proven)")]
Amount = Annotated[Int, Field(ge=0, le=10**15)]
Ref = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


def check_range(low: int | None, high: int | None, what: str) -> None:
    """A price or budget range must not run backwards."""
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what}_min ({low}) is greater than {what}_max ({high}).")


class ListingFields(Strict):
    title: Title
    description: Description
    sector: Sector
    keywords: list[Keyword] = Field(default_factory=list, max_length=30)
    transfer_types: list[TransferType] = Field(default_factory=list, max_length=5)
    currency: Currency = Currency.VND
    region: Region
    language: Language
    status: ListingStatus = ListingStatus.PUBLISHED
    excluded_organization_ids: list[Id] = Field(default_factory=list, max_length=100)


class OfferFields(ListingFields):
    trl: Trl
    ip_status: IPStatus = IPStatus.NONE
    price_min: Amount | None = None
    price_max: Amount | None = None

    @model_validator(mode="after")
    def _price_range(self) -> OfferFields:
        check_range(self.price_min, self.price_max, "price")
        return self


class NeedFields(ListingFields):
    min_trl: Trl
    budget_min: Amount | None = None
    budget_max: Amount | None = None
    deadline: date | None = None
    confidentiality: Confidentiality = Confidentiality.PUBLIC

    @model_validator(mode="after")
    def _budget_range(self) -> NeedFields:
        check_range(self.budget_min, self.budget_max, "budget")
        return self


class OfferCreate(OfferFields):
    organization_id: Id | None = Field(default=None, description="Defaults to the caller's organization")
    external_ref: Ref | None = None


class NeedCreate(NeedFields):
    organization_id: Id | None = Field(default=None, description="Defaults to the caller's organization")
    external_ref: Ref | None = None


def partial(model: type[BaseModel], name: str) -> type[Strict]:
    """The same fields, all optional: the body of a PATCH. Cross-field rules are checked after merging."""
    fields: dict[str, Any] = {
        field_name: (
            # Optional[...] rather than `| None`: the annotation is a runtime value here, not a type.
            Optional[Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation],  # noqa: UP045
            None,
        )
        for field_name, info in model.model_fields.items()
    }
    return create_model(name, __base__=Strict, **fields)


OfferUpdate = partial(OfferFields, "OfferUpdate")
NeedUpdate = partial(NeedFields, "NeedUpdate")


class ListingReadFields(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    organization_name: str
    external_ref: str | None
    title: str
    description: str
    sector: Sector
    keywords: list[str]
    transfer_types: list[TransferType]
    currency: Currency
    region: Region
    language: Language
    status: ListingStatus
    excluded_organization_ids: list[int] = []
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @model_validator(mode="before")
    @classmethod
    def _organization_name(cls, data: Any) -> Any:
        if hasattr(data, "organization"):
            return {
                **{name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)},
                "organization_name": data.organization.name,
            }
        return data


class OfferRead(ListingReadFields):
    trl: int
    ip_status: IPStatus
    price_min: int | None
    price_max: int | None


class NeedRead(ListingReadFields):
    min_trl: int
    budget_min: int | None
    budget_max: int | None
    deadline: date | None
    confidentiality: Confidentiality


def listing_view(read: type[BaseModel], row: Any, viewer: Viewer) -> ListingReadFields:
    """A listing as `viewer` may see it (see `viewer_copy`)."""
    view = read.model_validate(row)
    assert isinstance(view, ListingReadFields)
    return viewer_copy(view, viewer)


def viewer_copy(view: ListingReadFields, viewer: Viewer) -> ListingReadFields:
    """`view` as `viewer` may see it: whom the owner refuses to deal with is for the owner and staff.
    A view shared between requests is copied, never changed."""
    if can_write(viewer, organization_id=view.organization_id):
        return view
    return view.model_copy(update={"excluded_organization_ids": []})
