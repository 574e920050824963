"""Translated labels of the exchange's vocabulary (sectors, TRL, IP status, regions, roles...)."""

from __future__ import annotations

from enum import StrEnum

from core.taxonomy import (
    SECTOR_LABELS,
    Confidentiality,
    Currency,
    IPStatus,
    Language,
    ListingStatus,
    OrgKind,
    Region,
    Role,
    Sector,
    TransferType,
)
from web.i18n import N_, current_language, gettext

# Sectors carry their own English and Vietnamese names in core/taxonomy.py; every other value's
# English label is a message id here, translated by the catalogue.
LABELS: dict[str, dict[str, str]] = {
    "ip_status": {
        IPStatus.PATENT: N_("Patent"),
        IPStatus.UTILITY_SOLUTION: N_("Utility solution"),
        IPStatus.PENDING: N_("Application pending"),
        IPStatus.KNOW_HOW: N_("Know-how"),
        IPStatus.SOFTWARE_COPYRIGHT: N_("Software copyright"),
        IPStatus.NONE: N_("No protection"),
    },
    "transfer_type": {
        TransferType.LICENCE: N_("Licence"),
        TransferType.ASSIGNMENT: N_("Assignment"),
        TransferType.JOINT_VENTURE: N_("Joint venture"),
        TransferType.CONSULTANCY: N_("Consultancy"),
        TransferType.CO_DEVELOPMENT: N_("Co-development"),
    },
    "region": {
        Region.HO_CHI_MINH_CITY: N_("Ho Chi Minh City"),
        Region.HA_NOI: N_("Ha Noi"),
        Region.DA_NANG: N_("Da Nang"),
        Region.HAI_PHONG: N_("Hai Phong"),
        Region.CAN_THO: N_("Can Tho"),
        Region.SOUTHEAST: N_("Southeast"),
        Region.MEKONG_DELTA: N_("Mekong Delta"),
        Region.RED_RIVER_DELTA: N_("Red River Delta"),
        Region.NORTHERN_MIDLANDS: N_("Northern midlands and mountains"),
        Region.CENTRAL_COAST: N_("Central coast"),
        Region.CENTRAL_HIGHLANDS: N_("Central Highlands"),
        Region.NATIONWIDE: N_("Nationwide"),
        Region.INTERNATIONAL: N_("International"),
    },
    "language": {Language.VI: N_("Vietnamese"), Language.EN: N_("English")},
    "status": {
        ListingStatus.DRAFT: N_("Draft"),
        ListingStatus.PUBLISHED: N_("Published"),
        ListingStatus.ARCHIVED: N_("Archived"),
    },
    "confidentiality": {
        Confidentiality.PUBLIC: N_("Public"),
        Confidentiality.BROKERS_ONLY: N_("Brokers only"),
    },
    "role": {
        Role.ADMIN: N_("Administrator"),
        Role.BROKER: N_("Broker"),
        Role.INSTITUTE_MEMBER: N_("Institute member"),
        Role.ENTERPRISE_MEMBER: N_("Enterprise member"),
    },
    "org_kind": {
        OrgKind.RESEARCH_INSTITUTE: N_("Research institute"),
        OrgKind.UNIVERSITY: N_("University"),
        OrgKind.ENTERPRISE: N_("Enterprise"),
        OrgKind.EXCHANGE_OPERATOR: N_("Exchange operator"),
    },
    "currency": {Currency.VND: N_("VND"), Currency.USD: N_("USD")},
}
ENUMS: dict[str, type[StrEnum]] = {
    "sector": Sector,
    "ip_status": IPStatus,
    "transfer_type": TransferType,
    "region": Region,
    "language": Language,
    "status": ListingStatus,
    "confidentiality": Confidentiality,
    "role": Role,
    "org_kind": OrgKind,
    "currency": Currency,
}


def label(kind: str, value: object) -> str:
    """The label of one vocabulary value in the current language (the raw value if unknown)."""
    key = str(getattr(value, "value", value))
    if kind == "sector":
        try:
            english, vietnamese = SECTOR_LABELS[Sector(key)]
        except ValueError:
            return key
        return vietnamese if current_language() == "vi" else english
    message = LABELS.get(kind, {}).get(key)
    return gettext(message) if message else key


def options(kind: str) -> list[tuple[str, str]]:
    """(value, label) of every value of a vocabulary, for select boxes and facets."""
    return [(member.value, label(kind, member.value)) for member in ENUMS[kind]]
