"""Organizations of the exchange and their API keys: tables and the services over them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.access import Viewer
from core.taxonomy import OrgKind, Region, Role
from models.base import Base, utcnow
from models.errors import NotFoundError


def enum_column(enum: type, length: int = 32) -> Enum:
    """Store an enum as its plain string value, the same on SQLite and PostgreSQL."""
    return Enum(enum, native_enum=False, values_callable=lambda e: [m.value for m in e], length=length)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind))
    region: Mapped[Region] = mapped_column(enum_column(Region))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="organization")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    organization: Mapped[Organization | None] = relationship(back_populates="api_keys")


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_organization(*, session: Session, values: dict[str, object]) -> Organization:
    organization = Organization(**values)
    session.add(organization)
    session.flush()
    return organization


def get_organization(*, session: Session, organization_id: int) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFoundError(f"Organization {organization_id} does not exist.")
    return organization


def get_organization_by_slug(*, session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == slug))


def list_organizations(
    *, session: Session, kind: OrgKind | None, offset: int, limit: int
) -> tuple[list[Organization], int]:
    query = select(Organization)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Organization.id).offset(offset).limit(limit)).all()
    return list(rows), total


def update_organization(
    *, session: Session, organization: Organization, values: dict[str, object]
) -> Organization:
    for field, value in values.items():
        setattr(organization, field, value)
    session.flush()
    return organization


def create_api_key(
    *, session: Session, role: Role, name: str, organization_id: int | None, raw_key: str | None = None
) -> tuple[ApiKey, str]:
    """Store a new key's hash and return the row with the raw key, which is shown only once."""
    raw_key = raw_key or f"tm_{role.value.split('_')[0]}_{secrets.token_urlsafe(24)}"
    api_key = ApiKey(
        organization_id=organization_id,
        name=name,
        role=role,
        prefix=raw_key[:12],
        key_hash=hash_key(raw_key),
    )
    session.add(api_key)
    session.flush()
    return api_key, raw_key


def authenticate(*, session: Session, raw_key: str) -> Viewer | None:
    """The viewer behind a raw bearer key, or None when the key is unknown or revoked."""
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key)))
    if api_key is None or api_key.revoked_at is not None:
        return None
    return Viewer(role=api_key.role, organization_id=api_key.organization_id, api_key_id=api_key.id)
