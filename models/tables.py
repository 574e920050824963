"""Imports every table module so that the metadata (alembic, tests) knows all tables."""

from models.links import ListingLink  # noqa: F401
from models.listing_changes import ListingDeletion  # noqa: F401
from models.listings import Need, Offer
from models.matches import Match, MatchEvent
from models.matchmaking import EventExclusion, MatchmakingEvent, Meeting, MeetingRequest, Participant  # noqa: F401
from models.organizations import ApiKey, Organization
from models.outbox import Notification
from models.users import User, UserSession

__all__ = ["ApiKey", "Match", "MatchEvent", "Need", "Notification", "Offer", "Organization", "User", "UserSession"]
