"""The exchange's fixed vocabulary: sectors, listing attributes, roles and regions.

Shared by the store, the ranking module and the API so that a value means the same
thing everywhere; string enums so that JSON, SQL and CSV carry the plain value.
"""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    """Technology sectors of the exchange; the first six are the plan's priority fields."""

    AI = "ai"
    FINTECH = "fintech"
    EDTECH = "edtech"
    PRINTING_3D = "3d_printing"
    ROBOTICS = "robotics"
    SMART_AGRICULTURE = "smart_agriculture"
    ENVIRONMENT_WATER = "environment_water"
    BIOTECH_HEALTH = "biotech_health"
    NEW_MATERIALS = "new_materials"
    ENERGY = "energy"
    ICT = "ict"
    FOOD_PROCESSING = "food_processing"
    MECHANICAL_AUTOMATION = "mechanical_automation"
    ELECTRONICS = "electronics"
    CONSTRUCTION = "construction"


SECTOR_LABELS: dict[Sector, tuple[str, str]] = {
    Sector.AI: ("Artificial intelligence", "Trí tuệ nhân tạo"),
    Sector.FINTECH: ("Financial technology", "Công nghệ tài chính"),
    Sector.EDTECH: ("Education technology", "Công nghệ giáo dục"),
    Sector.PRINTING_3D: ("3D printing / additive manufacturing", "In 3D"),
    Sector.ROBOTICS: ("Robotics", "Robot"),
    Sector.SMART_AGRICULTURE: ("Smart agriculture", "Nông nghiệp thông minh"),
    Sector.ENVIRONMENT_WATER: ("Environment and water", "Môi trường và nước"),
    Sector.BIOTECH_HEALTH: ("Biotechnology and health", "Công nghệ sinh học và y tế"),
    Sector.NEW_MATERIALS: ("New materials", "Vật liệu mới"),
    Sector.ENERGY: ("Energy", "Năng lượng"),
    Sector.ICT: ("Information and communication technology", "Công nghệ thông tin và truyền thông"),
    Sector.FOOD_PROCESSING: ("Food processing", "Chế biến thực phẩm"),
    Sector.MECHANICAL_AUTOMATION: ("Mechanical engineering and automation", "Cơ khí và tự động hoá"),
    Sector.ELECTRONICS: ("Electronics and semiconductors", "Điện tử và bán dẫn"),
    Sector.CONSTRUCTION: ("Construction and building technology", "Công nghệ xây dựng"),
}

# Pairs of sectors whose technologies often serve each other's problems; the
# matcher gives these partial credit instead of treating them as unrelated.
RELATED_SECTORS: frozenset[frozenset[Sector]] = frozenset(
    frozenset(pair)
    for pair in [
        (Sector.AI, Sector.ICT),
        (Sector.AI, Sector.ROBOTICS),
        (Sector.AI, Sector.FINTECH),
        (Sector.AI, Sector.EDTECH),
        (Sector.AI, Sector.SMART_AGRICULTURE),
        (Sector.AI, Sector.BIOTECH_HEALTH),
        (Sector.FINTECH, Sector.ICT),
        (Sector.EDTECH, Sector.ICT),
        (Sector.ROBOTICS, Sector.MECHANICAL_AUTOMATION),
        (Sector.ROBOTICS, Sector.ELECTRONICS),
        (Sector.PRINTING_3D, Sector.NEW_MATERIALS),
        (Sector.PRINTING_3D, Sector.MECHANICAL_AUTOMATION),
        (Sector.SMART_AGRICULTURE, Sector.FOOD_PROCESSING),
        (Sector.SMART_AGRICULTURE, Sector.ENVIRONMENT_WATER),
        (Sector.SMART_AGRICULTURE, Sector.BIOTECH_HEALTH),
        (Sector.SMART_AGRICULTURE, Sector.ELECTRONICS),
        (Sector.ENVIRONMENT_WATER, Sector.ENERGY),
        (Sector.ENVIRONMENT_WATER, Sector.NEW_MATERIALS),
        (Sector.ENVIRONMENT_WATER, Sector.CONSTRUCTION),
        (Sector.BIOTECH_HEALTH, Sector.FOOD_PROCESSING),
        (Sector.NEW_MATERIALS, Sector.ENERGY),
        (Sector.NEW_MATERIALS, Sector.CONSTRUCTION),
        (Sector.ENERGY, Sector.ELECTRONICS),
        (Sector.ENERGY, Sector.CONSTRUCTION),
        (Sector.ICT, Sector.ELECTRONICS),
        (Sector.MECHANICAL_AUTOMATION, Sector.ELECTRONICS),
        (Sector.MECHANICAL_AUTOMATION, Sector.FOOD_PROCESSING),
    ]
)


def sector_relatedness(a: Sector, b: Sector) -> float:
    """1 for the same sector, 0.5 for related sectors, 0 otherwise."""
    if a == b:
        return 1.0
    return 0.5 if frozenset((a, b)) in RELATED_SECTORS else 0.0


class OrgKind(StrEnum):
    RESEARCH_INSTITUTE = "research_institute"
    UNIVERSITY = "university"
    ENTERPRISE = "enterprise"
    EXCHANGE_OPERATOR = "exchange_operator"


class Role(StrEnum):
    ADMIN = "admin"
    BROKER = "broker"
    INSTITUTE_MEMBER = "institute_member"
    ENTERPRISE_MEMBER = "enterprise_member"


class IPStatus(StrEnum):
    PATENT = "patent"
    UTILITY_SOLUTION = "utility_solution"
    PENDING = "pending"
    KNOW_HOW = "know_how"
    SOFTWARE_COPYRIGHT = "software_copyright"
    NONE = "none"


class TransferType(StrEnum):
    LICENCE = "licence"
    ASSIGNMENT = "assignment"
    JOINT_VENTURE = "joint_venture"
    CONSULTANCY = "consultancy"
    CO_DEVELOPMENT = "co_development"


class Currency(StrEnum):
    VND = "VND"
    USD = "USD"


class Language(StrEnum):
    VI = "vi"
    EN = "en"


class ListingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Confidentiality(StrEnum):
    PUBLIC = "public"
    BROKERS_ONLY = "brokers_only"


class Region(StrEnum):
    """Vietnam's five centrally run cities, its socio-economic regions, and two catch-alls."""

    HO_CHI_MINH_CITY = "ho_chi_minh_city"
    HA_NOI = "ha_noi"
    DA_NANG = "da_nang"
    HAI_PHONG = "hai_phong"
    CAN_THO = "can_tho"
    SOUTHEAST = "southeast"
    MEKONG_DELTA = "mekong_delta"
    RED_RIVER_DELTA = "red_river_delta"
    NORTHERN_MIDLANDS = "northern_midlands"
    CENTRAL_COAST = "central_coast"
    CENTRAL_HIGHLANDS = "central_highlands"
    NATIONWIDE = "nationwide"
    INTERNATIONAL = "international"


# Which broad region each city belongs to, so a need in Can Tho is "near" an offer
# in the Mekong Delta.
REGION_PARENT: dict[Region, Region] = {
    Region.HO_CHI_MINH_CITY: Region.SOUTHEAST,
    Region.HA_NOI: Region.RED_RIVER_DELTA,
    Region.HAI_PHONG: Region.RED_RIVER_DELTA,
    Region.DA_NANG: Region.CENTRAL_COAST,
    Region.CAN_THO: Region.MEKONG_DELTA,
}

# Exchange rate used only to compare a VND budget with a USD price; it is a
# ranking heuristic, not an accounting figure.
VND_PER_USD = 25_000
