"""People's accounts: password checks, the lockout window, sessions and invitations that expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.taxonomy import OrgKind, Region, Role
from models.base import transaction, utcnow
from models.errors import ConflictError, InvalidError
from models.organizations import create_organization
from models.users import (
    AccountLockedError,
    LockoutPolicy,
    accept_invitation,
    authenticate_password,
    create_user,
    end_session,
    find_session,
    invite_user,
    invited_user,
    start_session,
)

PASSWORD = "correct horse battery"
POLICY = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), lock_for=timedelta(minutes=15))


@pytest.fixture
def session(factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with transaction(factory) as db:
        yield db


def test_passwords_are_hashed_with_argon2_and_checked(session: Session) -> None:
    user = create_user(
        session=session, email=" Lan@Exchange.VN ", password=PASSWORD, role=Role.ADMIN, organization_id=None
    )
    assert user.email == "lan@exchange.vn" and user.password_hash.startswith("$argon2id$")  # type: ignore[union-attr]
    assert authenticate_password(session=session, email="LAN@exchange.vn", password=PASSWORD) is user
    assert authenticate_password(session=session, email="lan@exchange.vn", password="x" * 10_000) is None
    with pytest.raises(ConflictError):
        create_user(
            session=session, email="lan@exchange.vn", password=PASSWORD, role=Role.ADMIN, organization_id=None
        )
    with pytest.raises(InvalidError, match="password"):
        create_user(
            session=session, email="b@exchange.vn", password="short", role=Role.ADMIN, organization_id=None
        )


def test_members_need_an_organization_of_their_side(session: Session) -> None:
    school = create_organization(
        session=session,
        values={"slug": "s", "name": "S", "kind": OrgKind.UNIVERSITY, "region": Region.HA_NOI},
    )
    with pytest.raises(InvalidError, match="organization"):
        create_user(
            session=session,
            email="a@b.vn",
            password=PASSWORD,
            role=Role.ENTERPRISE_MEMBER,
            organization_id=school.id,
        )
    with pytest.raises(InvalidError, match="organization"):
        create_user(
            session=session,
            email="a@b.vn",
            password=PASSWORD,
            role=Role.INSTITUTE_MEMBER,
            organization_id=None,
        )
    assert create_user(
        session=session,
        email="a@b.vn",
        password=PASSWORD,
        role=Role.INSTITUTE_MEMBER,
        organization_id=school.id,
    )


def test_failures_lock_only_within_the_window_and_the_lock_ends(session: Session) -> None:
    user = create_user(
        session=session, email="a@b.vn", password=PASSWORD, role=Role.BROKER, organization_id=None
    )
    for _ in range(2):
        assert authenticate_password(session=session, email="a@b.vn", password="wrong", policy=POLICY) is None
    # The first failures fall out of the window: counting starts again.
    user.first_failed_at = utcnow() - timedelta(minutes=16)
    assert authenticate_password(session=session, email="a@b.vn", password="wrong", policy=POLICY) is None
    assert user.failed_attempts == 1 and user.locked_until is None
    for _ in range(2):
        authenticate_password(session=session, email="a@b.vn", password="wrong", policy=POLICY)
    assert user.locked_until is not None
    with pytest.raises(AccountLockedError):
        authenticate_password(session=session, email="a@b.vn", password=PASSWORD, policy=POLICY)
    user.locked_until = utcnow() - timedelta(seconds=1)
    assert authenticate_password(session=session, email="a@b.vn", password=PASSWORD, policy=POLICY) is user
    assert user.failed_attempts == 0 and user.locked_until is None


def test_sessions_are_found_by_token_until_they_expire_or_end(session: Session) -> None:
    user = create_user(
        session=session, email="a@b.vn", password=PASSWORD, role=Role.BROKER, organization_id=None
    )
    row, raw = start_session(session=session, user=user, language="vi", lifetime=timedelta(hours=1))
    assert row.token_hash != raw and find_session(session=session, raw_token=raw) is row
    assert find_session(session=session, raw_token=raw + "x") is None
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert find_session(session=session, raw_token=raw) is None
    _other, second = start_session(session=session, user=user, language="en", lifetime=timedelta(hours=1))
    end_session(session=session, raw_token=second)
    assert find_session(session=session, raw_token=second) is None


def test_invitations_are_single_use_and_expire(session: Session) -> None:
    admin = create_user(
        session=session, email="admin@x.vn", password=PASSWORD, role=Role.ADMIN, organization_id=None
    )
    broker = create_user(
        session=session, email="broker@x.vn", password=PASSWORD, role=Role.BROKER, organization_id=None
    )
    with pytest.raises(InvalidError, match="brokers invite"):
        invite_user(session=session, inviter=broker, email="new@x.vn", role=Role.ADMIN, organization_id=None)
    user, raw = invite_user(
        session=session, inviter=admin, email="new@x.vn", role=Role.BROKER, organization_id=None
    )
    assert user.invited_by == admin.id and user.password_hash is None
    assert authenticate_password(session=session, email="new@x.vn", password=PASSWORD) is None
    assert invited_user(session=session, raw_token=raw) is user
    accept_invitation(session=session, user=user, password=PASSWORD)
    assert invited_user(session=session, raw_token=raw) is None
    assert authenticate_password(session=session, email="new@x.vn", password=PASSWORD) is user
    late, late_raw = invite_user(
        session=session, inviter=admin, email="late@x.vn", role=Role.BROKER, organization_id=None
    )
    late.invitation_expires_at = utcnow() - timedelta(seconds=1)
    assert invited_user(session=session, raw_token=late_raw) is None


def test_expired_sessions_are_purged_while_live_ones_are_loaded(session: Session) -> None:
    from models.users import purge_expired_sessions

    user = create_user(
        session=session, email="a@b.vn", password=PASSWORD, role=Role.BROKER, organization_id=None
    )
    old, old_raw = start_session(session=session, user=user, language="vi", lifetime=timedelta(hours=1))
    _live, live_raw = start_session(session=session, user=user, language="vi", lifetime=timedelta(hours=1))
    old.expires_at = utcnow() - timedelta(minutes=1)
    session.flush()
    session.expire_all()
    assert find_session(session=session, raw_token=live_raw) is not None  # a loaded row, as in a request
    assert purge_expired_sessions(session=session) == 1
    session.expire_all()
    assert find_session(session=session, raw_token=old_raw) is None
    assert find_session(session=session, raw_token=live_raw) is not None
