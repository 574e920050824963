"""The hard rules of pairing: what no score can overrule."""

from __future__ import annotations

from core.access import Viewer, can_see
from core.taxonomy import ListingStatus
from matcher.records import ListingFacts


def visible_candidate(record: ListingFacts, viewer: Viewer) -> bool:
    """A published listing the viewer may see: nothing else is ever offered as a match."""
    return record.status == ListingStatus.PUBLISHED and can_see(
        viewer,
        organization_id=record.organization_id,
        status=record.status,
        confidentiality=record.confidentiality,
    )


def may_pair(a: ListingFacts, b: ListingFacts) -> bool:
    """Hard rules: never an organization with itself, never against an explicit exclusion."""
    return (
        a.organization_id != b.organization_id
        and a.organization_id not in b.excluded_organization_ids
        and b.organization_id not in a.excluded_organization_ids
    )
