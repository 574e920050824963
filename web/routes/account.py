"""Sign-in, sign-out, the language switch and invitations: the pages around a person's account."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from core.taxonomy import Role
from models.errors import ConflictError, InvalidError
from models.organizations import Organization
from models.users import (
    PASSWORD_MAX_LENGTH,
    AccountLockedError,
    LockoutPolicy,
    User,
    accept_invitation,
    authenticate_password,
    end_session,
    invite_user,
    invited_user,
    purge_expired_sessions,
    start_session,
)
from web import i18n
from web.i18n import N_
from web.pages import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Page,
    PageDep,
    add_nav_link,
    render,
    require_role,
    safe_next,
    set_cookie,
)

router = APIRouter()

Text = Annotated[str, Form(max_length=PASSWORD_MAX_LENGTH)]
NextPath = Annotated[str, Form(max_length=2_000)]
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600

add_nav_link("/invite", N_("Invite a user"), roles=(Role.ADMIN, Role.BROKER), order=90)
_INVITE_ERRORS = {
    "email": N_("Enter an email address that has no account yet."),
    "organization_id": N_("This role needs an organization of the matching kind."),
    "role": N_("Choose a role you may invite."),
}


def _policy(page: Page) -> LockoutPolicy:
    settings = page.request.app.state.runtime.settings
    return LockoutPolicy(
        max_failures=settings.signin_max_failures,
        window=timedelta(minutes=settings.signin_failure_window_minutes),
        lock_for=timedelta(minutes=settings.signin_lock_minutes),
    )


def signed_in_response(page: Page, user_id: int, next_path: str) -> Response:
    """Start a session for the user, put its token in the cookie and go on to `next_path`."""
    settings = page.request.app.state.runtime.settings
    user = page.db.get_one(User, user_id)
    lifetime = timedelta(hours=settings.session_lifetime_hours)
    purge_expired_sessions(session=page.db)  # a sign-in is rare enough to tidy up the table on
    _row, raw = start_session(session=page.db, user=user, language=page.language, lifetime=lifetime)
    page.db.commit()
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_cookie(page.request, response, SESSION_COOKIE, raw, max_age=int(lifetime.total_seconds()))
    return response


@router.get("/sign-in")
def sign_in_form(page: PageDep, next: str = "/") -> Response:
    return render(page, "account/sign_in.html", next_path=safe_next(next), email="", error=None)


@router.post("/sign-in")
def sign_in(
    page: PageDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Text = "",
    next_path: Annotated[str, Form(alias="next", max_length=2_000)] = "/",
) -> Response:
    try:
        user = authenticate_password(session=page.db, email=email, password=password, policy=_policy(page))
    except AccountLockedError:
        page.db.commit()
        error = N_("This account is locked after repeated failed sign-ins. Try again later.")
        return render(
            page,
            "account/sign_in.html",
            status_code=423,
            next_path=safe_next(next_path),
            email=email,
            error=error,
        )
    if user is None:
        page.db.commit()  # the failure count
        error = N_("The email or the password is wrong.")
        return render(
            page,
            "account/sign_in.html",
            status_code=401,
            next_path=safe_next(next_path),
            email=email,
            error=error,
        )
    return signed_in_response(page, user.id, next_path)


@router.post("/sign-out")
def sign_out(page: PageDep) -> Response:
    raw = page.request.cookies.get(SESSION_COOKIE)
    if raw:
        end_session(session=page.db, raw_token=raw)
        page.db.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def switch_language(
    page: PageDep,
    language: Annotated[str, Form(max_length=8)],
    next_path: Annotated[str, Form(alias="next", max_length=2_000)] = "/",
) -> Response:
    """Kept in the session of a signed-in user, in a cookie for an anonymous visitor."""
    if language not in i18n.LANGUAGES:
        raise HTTPException(422, "Unknown language.")
    response = RedirectResponse(safe_next(next_path), status_code=303)
    if page.user_session is not None:
        page.user_session.language = language
        page.db.commit()
    else:
        set_cookie(page.request, response, LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS)
    return response


def _invite_roles(page: Page) -> list[Role]:
    if page.user is not None and page.user.role == Role.ADMIN:
        return list(Role)
    return [Role.INSTITUTE_MEMBER, Role.ENTERPRISE_MEMBER]


def _render_invite(
    page: Page,
    *,
    status_code: int = 200,
    errors: dict[str, str],
    link: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    organizations = page.db.scalars(select(Organization).order_by(Organization.name)).all()
    return render(
        page,
        "account/invite.html",
        status_code=status_code,
        organizations=organizations,
        roles=_invite_roles(page),
        values=values or {"email": "", "display_name": "", "role": "", "organization_id": ""},
        errors=errors,
        link=link,
    )


@router.get("/invite")
def invite_form(page: Annotated[Page, require_role(Role.ADMIN, Role.BROKER)]) -> Response:
    return _render_invite(page, errors={}, link=None)


@router.post("/invite")
def invite(
    page: Annotated[Page, require_role(Role.ADMIN, Role.BROKER)],
    email: Annotated[str, Form(max_length=320)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    organization_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    values = {"email": email, "display_name": display_name, "role": role, "organization_id": organization_id}
    errors: dict[str, str] = {}
    if role not in {r.value for r in _invite_roles(page)}:
        errors["role"] = N_("Choose a role you may invite.")
    org_id = int(organization_id) if organization_id.isdigit() else None
    if not errors:
        assert page.user is not None
        try:
            _user, raw = invite_user(
                session=page.db,
                inviter=page.user,
                email=email,
                role=Role(role),
                organization_id=org_id,
                display_name=display_name.strip(),
            )
        except (InvalidError, ConflictError) as exc:
            field, _sep, _message = str(exc).partition(":")
            errors[field if field in values else "email"] = _INVITE_ERRORS.get(
                field, N_("This value is not valid.")
            )
        else:
            page.db.commit()
            link = str(page.request.url_for("invitation_form", token=raw))
            return _render_invite(page, errors={}, link=link)
    return _render_invite(page, status_code=422, errors=errors, values=values)


@router.get("/invitations/{token}", name="invitation_form")
def invitation_form(page: PageDep, token: str) -> Response:
    user = invited_user(session=page.db, raw_token=token[:200])
    if user is None:
        raise HTTPException(404, "This invitation is unknown or has expired.")
    return render(page, "account/invitation.html", invited=user, token=token, error=None)


@router.post("/invitations/{token}")
def accept(
    page: PageDep,
    token: str,
    password: Text = "",
    password_again: Text = "",
) -> Response:
    user = invited_user(session=page.db, raw_token=token[:200])
    if user is None:
        raise HTTPException(404, "This invitation is unknown or has expired.")
    error = None
    if password != password_again:
        error = N_("The two passwords differ.")
    else:
        try:
            accept_invitation(session=page.db, user=user, password=password)
        except InvalidError:
            error = N_("Choose a password of at least 10 characters.")
    if error:
        return render(
            page, "account/invitation.html", status_code=422, invited=user, token=token, error=error
        )
    return signed_in_response(page, user.id, "/")
