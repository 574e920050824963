"""Who is asking, and what they may see or change; pure rules shared by the store and the matcher."""

from __future__ import annotations

from dataclasses import dataclass

from core.taxonomy import Confidentiality, ListingStatus, OrgKind, Role


@dataclass(frozen=True)
class Viewer:
    """The caller of a request: anonymous when role is None."""

    role: Role | None = None
    organization_id: int | None = None
    api_key_id: int | None = None

    @property
    def is_staff(self) -> bool:
        """Admins and brokers run the exchange and see everything."""
        return self.role in (Role.ADMIN, Role.BROKER)

    @property
    def is_anonymous(self) -> bool:
        return self.role is None


ANONYMOUS = Viewer()


def can_see(
    viewer: Viewer,
    *,
    organization_id: int,
    status: ListingStatus,
    confidentiality: Confidentiality = Confidentiality.PUBLIC,
) -> bool:
    """Owners and staff see everything of theirs; others only published, public listings."""
    if viewer.is_staff or viewer.organization_id == organization_id:
        return True
    return status == ListingStatus.PUBLISHED and confidentiality == Confidentiality.PUBLIC


def can_write(viewer: Viewer, *, organization_id: int) -> bool:
    """Staff may edit any listing; members only their own organization's."""
    return viewer.is_staff or (
        viewer.organization_id is not None and viewer.organization_id == organization_id
    )


# Which kinds of organization may hold keys of each role; staff keys may also belong to none.
ROLE_ORGANIZATION_KINDS: dict[Role, tuple[OrgKind, ...]] = {
    Role.ADMIN: (OrgKind.EXCHANGE_OPERATOR,),
    Role.BROKER: (OrgKind.EXCHANGE_OPERATOR,),
    Role.INSTITUTE_MEMBER: (OrgKind.RESEARCH_INSTITUTE, OrgKind.UNIVERSITY),
    Role.ENTERPRISE_MEMBER: (OrgKind.ENTERPRISE,),
}


def key_problem(role: Role, organization_kind: OrgKind | None) -> str | None:
    """Why a key of `role` may not belong to an organization of this kind (None: it may)."""
    kinds = ROLE_ORGANIZATION_KINDS[role]
    if organization_kind is None:
        if role in (Role.ADMIN, Role.BROKER):
            return None
        return f"A {role.value} key needs an organization_id."
    if organization_kind not in kinds:
        allowed = " or ".join(kind.value for kind in kinds)
        return f"A {role.value} key must belong to a {allowed}, not a {organization_kind.value}."
    return None
