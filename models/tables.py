"""Imports every table module so that the metadata (alembic, tests) knows all tables."""

from models.listings import Need, Offer
from models.organizations import ApiKey, Organization

__all__ = ["ApiKey", "Need", "Offer", "Organization"]
