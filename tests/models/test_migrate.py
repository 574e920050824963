"""Migrations keep the data: rebuilding a table on SQLite must not cascade into the rows that point at it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import func, select, text

from models.base import make_engine, make_session_factory, transaction
from models.listings import Need, Offer
from models.matches import Match
from models.migrate import alembic_config, upgrade
from models.organizations import Organization


def test_refs_become_unique_per_organization_and_matches_survive(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as connection:
        for org_id, slug, kind in [(1, "inst", "research_institute"), (2, "ent", "enterprise")]:
            connection.execute(
                text(
                    "INSERT INTO organizations (id, slug, name, kind, region, created_at) "
                    "VALUES (:id, :slug, :slug, :kind, 'ha_noi', CURRENT_TIMESTAMP)"
                ),
                {"id": org_id, "slug": slug, "kind": kind},
            )
        listing = (
            "INSERT INTO {table} (id, organization_id, external_ref, title, description, sector, keywords, "
            "transfer_types, currency, region, language, status, excluded_organization_ids, created_at, "
            "updated_at, {extra}) VALUES (1, :org, 'r-1', 't', 'd', 'ai', '[]', '[]', 'VND', 'ha_noi', 'en', "
            "'published', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {values})"
        )
        connection.execute(
            text(listing.format(table="offers", extra="trl, ip_status", values="5, 'none'")), {"org": 1}
        )
        connection.execute(
            text(listing.format(table="needs", extra="min_trl, confidentiality", values="5, 'public'")),
            {"org": 2},
        )
        connection.execute(
            text(
                "INSERT INTO matches (id, need_id, offer_id, fingerprint, status, source, created_at, updated_at) "
                "VALUES (1, 1, 1, 'f', 'suggested', 'engine', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Match)) == 1
    with transaction(factory) as session:
        # The other organization may now use the same ref.
        session.add(
            Offer(
                id=2,
                organization_id=2,
                external_ref="r-1",
                title="t",
                description="d",
                sector="ai",
                region="ha_noi",
                language="en",
                trl=5,
                ip_status="none",
            )
        )
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 2
        assert session.scalar(select(func.count()).select_from(Need)) == 1
        assert session.scalar(select(func.count()).select_from(Organization)) == 2
    engine.dispose()
