"""An API client over a fresh store, with organizations and one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from core.taxonomy import OrgKind, Region, Role
from models.base import transaction
from models.organizations import create_api_key, create_organization


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        embedding_model="fake:64",
        background_workers=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass
class World:
    """Two institutes, two enterprises, the exchange, and a key per role."""

    org: dict[str, int]
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture
def world(client: TestClient) -> World:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    orgs = {
        "exchange": OrgKind.EXCHANGE_OPERATOR,
        "inst-a": OrgKind.RESEARCH_INSTITUTE,
        "inst-b": OrgKind.UNIVERSITY,
        "ent-a": OrgKind.ENTERPRISE,
        "ent-b": OrgKind.ENTERPRISE,
    }
    key_specs = {
        "admin": (Role.ADMIN, "exchange"),
        "broker": (Role.BROKER, "exchange"),
        "inst-a": (Role.INSTITUTE_MEMBER, "inst-a"),
        "inst-b": (Role.INSTITUTE_MEMBER, "inst-b"),
        "ent-a": (Role.ENTERPRISE_MEMBER, "ent-a"),
        "ent-b": (Role.ENTERPRISE_MEMBER, "ent-b"),
    }
    with transaction(runtime.session_factory) as session:
        ids = {
            slug: create_organization(
                session=session,
                values={"slug": slug, "name": slug.upper(), "kind": kind, "region": Region.HO_CHI_MINH_CITY},
            ).id
            for slug, kind in orgs.items()
        }
        keys = {
            who: create_api_key(session=session, role=role, name=who, organization_id=ids[slug])[1]
            for who, (role, slug) in key_specs.items()
        }
    return World(org=ids, keys=keys)


def offer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Hệ thống tưới nhỏ giọt thông minh dùng cảm biến độ ẩm đất",
        "description": "Bộ điều khiển IoT đo độ ẩm đất và tự động tưới cho vườn sầu riêng.",
        "sector": "smart_agriculture",
        "keywords": ["tưới nhỏ giọt", "IoT"],
        "trl": 6,
        "ip_status": "utility_solution",
        "transfer_types": ["licence", "consultancy"],
        "price_min": 300_000_000,
        "price_max": 500_000_000,
        "currency": "VND",
        "region": "mekong_delta",
        "language": "vi",
    }
    body.update(overrides)
    return body


def need_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Need an automated irrigation controller for durian orchards",
        "description": "Our 40 ha orchard wastes water; we want soil-moisture driven drip irrigation.",
        "sector": "smart_agriculture",
        "keywords": ["irrigation"],
        "min_trl": 6,
        "budget_min": 200_000_000,
        "budget_max": 600_000_000,
        "currency": "VND",
        "deadline": "2027-06-30",
        "region": "mekong_delta",
        "language": "en",
        "transfer_types": ["licence"],
    }
    body.update(overrides)
    return body
