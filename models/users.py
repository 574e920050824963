"""People who sign in to the floor, and their server-side sessions: tables and the services over them.

API keys stay for machines; a user is a person with an email and a password (argon2), belonging to
an organization with one of the four roles, who signs in through a form and holds a session cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.access import Viewer, key_problem
from core.taxonomy import Role
from models.base import Base, utcnow
from models.errors import ConflictError, InvalidError
from models.organizations import Organization, enum_column

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256  # argon2 would hash a megabyte happily; a form field has no business sending one
EMAIL_MAX_LENGTH = 320

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # None until the invited person chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invitation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invitation_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization | None] = relationship()

    @property
    def viewer(self) -> Viewer:
        return Viewer(role=self.role, organization_id=self.organization_id)


class UserSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures within how long lock an account, and for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


class AccountLockedError(InvalidError):
    """Too many failed sign-ins: the account refuses even the right password until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("This account is locked after repeated failed sign-ins.")
        self.until = until


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """Why a new password is refused (None: it is acceptable)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"at most {PASSWORD_MAX_LENGTH} characters"
    return None


def _check_new_user(
    session: Session, *, email: str, role: Role, organization_id: int | None
) -> tuple[str, Organization | None]:
    email = normalise_email(email)
    if "@" not in email or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidError("email: not an email address.")
    organization = session.get(Organization, organization_id) if organization_id is not None else None
    if organization_id is not None and organization is None:
        raise InvalidError(f"organization_id: organization {organization_id} does not exist.")
    problem = key_problem(role, organization.kind if organization else None)
    if problem:
        raise InvalidError(f"organization_id: {problem.replace(' key', ' user')}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("email: a user with this email already exists.")
    return email, organization


def create_user(
    *,
    session: Session,
    email: str,
    password: str,
    role: Role,
    organization_id: int | None,
    display_name: str = "",
) -> User:
    """A user who can sign in at once (the first admin, the demo users)."""
    problem = password_problem(password)
    if problem:
        raise InvalidError(f"password: {problem}.")
    email, _organization = _check_new_user(session, email=email, role=role, organization_id=organization_id)
    user = User(
        email=email,
        display_name=display_name or email.split("@")[0],
        password_hash=_hasher.hash(password),
        role=role,
        organization_id=organization_id,
    )
    session.add(user)
    session.flush()
    return user


def invite_user(
    *,
    session: Session,
    inviter: User,
    email: str,
    role: Role,
    organization_id: int | None,
    display_name: str = "",
    valid_for: timedelta = timedelta(days=7),
) -> tuple[User, str]:
    """A user without a password and the raw invitation token (shown once) with which they choose one.

    Admins invite anyone; brokers invite institute and enterprise members only.
    """
    if inviter.role not in (Role.ADMIN, Role.BROKER):
        raise InvalidError("Only admins and brokers invite users.")
    if inviter.role == Role.BROKER and role in (Role.ADMIN, Role.BROKER):
        raise InvalidError("role: brokers invite institute and enterprise members only.")
    email, _organization = _check_new_user(session, email=email, role=role, organization_id=organization_id)
    raw = secrets.token_urlsafe(32)
    user = User(
        email=email,
        display_name=display_name or email.split("@")[0],
        role=role,
        organization_id=organization_id,
        invited_by=inviter.id,
        invitation_hash=hash_token(raw),
        invitation_expires_at=utcnow() + valid_for,
    )
    session.add(user)
    session.flush()
    return user, raw


def invited_user(*, session: Session, raw_token: str) -> User | None:
    """The user an invitation token is for, while it is valid."""
    user = session.scalar(select(User).where(User.invitation_hash == hash_token(raw_token)))
    if user is None or user.invitation_expires_at is None or _aware(user.invitation_expires_at) < utcnow():
        return None
    return user


def accept_invitation(*, session: Session, user: User, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise InvalidError(f"password: {problem}.")
    user.password_hash = _hasher.hash(password)
    user.invitation_hash = None
    user.invitation_expires_at = None
    session.flush()


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def authenticate_password(
    *, session: Session, email: str, password: str, policy: LockoutPolicy = LockoutPolicy()
) -> User | None:
    """The user whose email and password these are, or None; counts failures and locks the account.

    A locked account raises AccountLockedError whatever the password, so guessing stops paying.
    """
    now = utcnow()
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if len(password) > PASSWORD_MAX_LENGTH:
        password = password[:PASSWORD_MAX_LENGTH]  # fails below anyway: no stored password is longer
    if user is None or user.password_hash is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and _aware(user.locked_until) > now:
        raise AccountLockedError(_aware(user.locked_until))
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        if user.first_failed_at is None or now - _aware(user.first_failed_at) > policy.window:
            user.first_failed_at = now
            user.failed_attempts = 0
        user.failed_attempts += 1
        if user.failed_attempts >= policy.max_failures:
            user.locked_until = now + policy.lock_for
            user.failed_attempts = 0
            user.first_failed_at = None
        session.flush()
        return None
    user.failed_attempts = 0
    user.first_failed_at = None
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.flush()
    return user


def start_session(
    *, session: Session, user: User, language: str, lifetime: timedelta
) -> tuple[UserSession, str]:
    """A new session row and the raw token for the cookie (stored only hashed)."""
    raw = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=hash_token(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        language=language,
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    return row, raw


def find_session(*, session: Session, raw_token: str) -> UserSession | None:
    """The live session behind a cookie token, or None when unknown or expired."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(raw_token)))
    if row is None or _aware(row.expires_at) < utcnow():
        return None
    return row


def end_session(*, session: Session, raw_token: str) -> None:
    session.execute(
        delete(UserSession).where(UserSession.token_hash == hash_token(raw_token)),
        execution_options={"synchronize_session": False},
    )


def purge_expired_sessions(*, session: Session) -> int:
    # Not evaluated against loaded rows: SQLite hands their times back without a zone.
    result = session.execute(
        delete(UserSession).where(UserSession.expires_at < utcnow()),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))
