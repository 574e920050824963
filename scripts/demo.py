"""The bundled bilingual demo data set and one API key per role to explore it with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from core.taxonomy import Role
from models.organizations import authenticate, create_api_key, get_organization_by_slug
from models.users import create_user, get_user_by_email
from scripts.transfer import ImportReport, import_file

DEMO_DIR = Path(__file__).with_name("demo_data")
EXCHANGE_SLUG = "hcm-exchange"

# Fixed so that the README's curl examples work; they only ever exist in a demo database.
DEMO_KEYS: dict[Role, tuple[str, str]] = {
    Role.ADMIN: ("tm_demo_admin", EXCHANGE_SLUG),
    Role.BROKER: ("tm_demo_broker", EXCHANGE_SLUG),
    Role.INSTITUTE_MEMBER: ("tm_demo_institute", "hcmut"),
    Role.ENTERPRISE_MEMBER: ("tm_demo_enterprise", "tanphu-textile"),
}

# One person per role for the floor's pages; like the keys, only ever in a demo database.
DEMO_USERS: dict[Role, tuple[str, str, str]] = {
    Role.ADMIN: ("admin@demo.techmatch.vn", "demo-admin-2026", EXCHANGE_SLUG),
    Role.BROKER: ("broker@demo.techmatch.vn", "demo-broker-2026", EXCHANGE_SLUG),
    Role.INSTITUTE_MEMBER: ("institute@demo.techmatch.vn", "demo-institute-2026", "hcmut"),
    Role.ENTERPRISE_MEMBER: ("enterprise@demo.techmatch.vn", "demo-enterprise-2026", "tanphu-textile"),
}


def load_demo(*, session: Session, data_dir: Path = DEMO_DIR) -> dict[str, ImportReport]:
    """Load organizations, offers and needs (idempotent: refs and slugs are upserted), the demo keys and users."""
    reports = {
        kind: import_file(session=session, path=data_dir / f"{kind}.jsonl", kind=kind)
        for kind in ("organizations", "offers", "needs")
    }
    for kind, report in reports.items():
        if not report.ok:
            raise ValueError(f"demo {kind} has invalid rows: {report.rejected[:3]}")
    session.flush()
    for role, (raw_key, slug) in DEMO_KEYS.items():
        if authenticate(session=session, raw_key=raw_key) is not None:
            continue
        organization = get_organization_by_slug(session=session, slug=slug)
        create_api_key(
            session=session,
            role=role,
            name=f"demo {role.value}",
            organization_id=organization.id if organization else None,
            raw_key=raw_key,
        )
    for role, (email, password, slug) in DEMO_USERS.items():
        if get_user_by_email(session=session, email=email) is not None:
            continue
        organization = get_organization_by_slug(session=session, slug=slug)
        create_user(
            session=session,
            email=email,
            password=password,
            role=role,
            organization_id=organization.id if organization else None,
            display_name=f"Demo {role.value.replace('_', ' ')}",
        )
    return reports
