"""A browser-like client over a fresh store: the organizations and keys of tests/api, and a user per role."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from core.taxonomy import Role
from models.base import transaction
from models.users import User
from tests.api.conftest import World, client, need_body, offer_body, settings, world

__all__ = ["client", "need_body", "offer_body", "settings", "world"]

PASSWORD = "correct horse battery"
# One real argon2 hash shared by the test users: hashing is slow on purpose, verifying stays real.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class People:
    """One signed-up user per key of the World (same names: admin, broker, inst-a, ent-a...)."""

    emails: dict[str, str]


@pytest.fixture
def people(client: TestClient, world: World) -> People:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    roles = {
        "admin": (Role.ADMIN, "exchange"),
        "broker": (Role.BROKER, "exchange"),
        "inst-a": (Role.INSTITUTE_MEMBER, "inst-a"),
        "inst-b": (Role.INSTITUTE_MEMBER, "inst-b"),
        "ent-a": (Role.ENTERPRISE_MEMBER, "ent-a"),
        "ent-b": (Role.ENTERPRISE_MEMBER, "ent-b"),
    }
    emails = {}
    with transaction(runtime.session_factory) as session:
        for who, (role, org) in roles.items():
            email = f"{who}@example.vn"
            session.add(
                User(
                    email=email,
                    display_name=who,
                    password_hash=PASSWORD_HASH,
                    role=role,
                    organization_id=world.org[org],
                )
            )
            emails[who] = email
    return People(emails=emails)


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The CSRF token a page hands out (from its forms), as a browser would read it."""
    response = client.get(path)
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "next": "/", "csrf_token": csrf_of(client, "/sign-in")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
