"""What every page of the floor needs: who is asking, in which language, the CSRF token, and rendering.

The contract for page modules (see web/README.md for examples):

- `PageDep` (any visitor) or `require_role(Role.BROKER, ...)` (signed-in users of these roles; an
  anonymous visitor is sent to the sign-in page and comes back, a wrong role is a 403 page) give a
  `Page`: `page.user`, `page.viewer` (the core.access Viewer for the service functions),
  `page.db` (the request's database session), `page.language`, `page.csrf_token`.
- `render(page, "template.html", **context)` renders in the page's language; templates get `page`,
  `user`, `_()`/`gettext`/`ngettext`, `{% trans %}`, `csrf_field()`, the formatting filters
  (`number`, `money(currency)`, `day`, `moment`), `label(kind, value)` for vocabulary values, and
  `nav_links`. Pass `status_code=` for a 4xx page.
- Every POST/PUT/PATCH/DELETE to a web route must carry the token: `{{ csrf_field() }}` in a form, or
  the `X-CSRF-Token` header that base.html makes htmx send on every request. The routers in
  web/__init__.py:ROUTERS check it (`csrf_protected`), so a post without it is a 403.
- Nav links: `add_nav_link("/broker/queue", N_("Queue"), roles=(Role.BROKER, Role.ADMIN))`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.deps import SessionDep
from core.access import ANONYMOUS, Viewer
from core.taxonomy import Role
from models.users import User, UserSession, find_session
from web import i18n
from web.labels import label, options
from web.search import excerpt, highlight

TEMPLATES_DIR = Path(__file__).with_name("templates")
SESSION_COOKIE = "tm_session"
CSRF_COOKIE = "tm_csrf"
LANGUAGE_COOKIE = "tm_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BRAND = "TechMatch"  # a name, the same in every language


@dataclass
class Page:
    """One request to a page: the visitor, their language and the CSRF token of their session."""

    request: Request
    db: Session
    user: User | None
    user_session: UserSession | None
    language: str
    csrf_token: str
    # An anonymous visitor's token travels in a cookie (double submit); set it on the response.
    set_csrf_cookie: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def viewer(self) -> Viewer:
        return self.user.viewer if self.user is not None else ANONYMOUS

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"


def cookie_secure(request: Request) -> bool:
    """The Secure flag: as configured, or whether this request came over https."""
    configured = request.app.state.runtime.settings.session_cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def load_page(request: Request, db: Session) -> Page:
    """The page context of a request: the session behind the cookie (if live) or an anonymous visitor."""
    raw = request.cookies.get(SESSION_COOKIE)
    user_session = find_session(session=db, raw_token=raw) if raw else None
    if user_session is not None:
        # Loaded now: an error page renders the header after the request's session is closed.
        _ = user_session.user.organization
        page = Page(
            request=request,
            db=db,
            user=user_session.user,
            user_session=user_session,
            language=i18n.normalise_language(user_session.language),
            csrf_token=user_session.csrf_token,
        )
    else:
        token = request.cookies.get(CSRF_COOKIE) or ""
        fresh = len(token) < 32 or len(token) > 64
        page = Page(
            request=request,
            db=db,
            user=None,
            user_session=None,
            language=i18n.normalise_language(request.cookies.get(LANGUAGE_COOKIE)),
            csrf_token=secrets.token_urlsafe(32) if fresh else token,
            set_csrf_cookie=fresh,
        )
    request.state.page = page
    return page


def get_page(request: Request, db: SessionDep) -> Page:
    return load_page(request, db)


PageDep = Annotated[Page, Depends(get_page)]


class SignInRequired(HTTPException):
    """An anonymous visitor opened a page for signed-in users; web/errors.py redirects to sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(401, "Sign in to open this page.")
        self.next_path = next_path


def require_role(*roles: Role) -> Any:
    """A dependency giving the Page of a signed-in user with one of `roles` (none given: any role)."""

    def _check(page: PageDep) -> Page:
        if page.user is None:
            path = page.request.url.path
            if page.request.url.query:
                path += "?" + page.request.url.query
            raise SignInRequired(path)
        if roles and page.user.role not in roles:
            raise HTTPException(403, "Your role may not open this page.")
        return page

    return Depends(_check)


SignedInDep = Annotated[Page, require_role()]


class CsrfRefused(HTTPException):
    """An unsafe request without the session's CSRF token; web/errors.py says so on the 403 page."""

    def __init__(self) -> None:
        super().__init__(403, "The form has expired or did not come from this site; reload the page.")


async def csrf_protected(request: Request, page: PageDep) -> AsyncIterator[None]:
    """Refuse (403) an unsafe request whose token, from the form or the header, is not the session's.

    The form is parsed here (and cached on the request for the route) and closed after the route,
    so uploaded files never outlive their request.
    """
    if request.method not in UNSAFE_METHODS:
        yield
        return
    form = await request.form()
    value = form.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER) or (value if isinstance(value, str) else None)
    try:
        if not sent or not secrets.compare_digest(sent.encode(), page.csrf_token.encode()):
            # An anonymous visitor without the cookie got a fresh random token, which nothing sent can match.
            raise CsrfRefused()
        yield
    finally:
        await form.close()


def safe_next(path: str | None, default: str = "/") -> str:
    """A local path to go back to: never another site (`//host`, `https://...`)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def sign_in_url(next_path: str) -> str:
    return "/sign-in?next=" + quote(next_path, safe="/")


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str  # a message id, translated when shown
    roles: tuple[Role, ...] | None  # None: everyone, anonymous visitors included
    order: int


NAV_LINKS: list[NavLink] = []


def add_nav_link(path: str, label: str, *, roles: tuple[Role, ...] | None = None, order: int = 50) -> None:
    """Show a link in the header to these roles (None: to everyone); lower `order` comes first."""
    NAV_LINKS.append(NavLink(path, label, roles, order))
    NAV_LINKS.sort(key=lambda link: link.order)


def nav_links(page: Page) -> list[NavLink]:
    role = page.user.role if page.user else None
    return [link for link in NAV_LINKS if link.roles is None or (role is not None and role in link.roles)]


def _csrf_field(page: Page) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, page.csrf_token)


def _build_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(
        number=i18n.format_number, money=i18n.format_money, day=i18n.format_day, moment=i18n.format_moment
    )
    environment.globals.update(
        label=label,
        options=options,
        languages=i18n.LANGUAGES,
        highlight=highlight,
        excerpt=excerpt,
        brand=BRAND,
    )
    return environment


TEMPLATES = _build_environment()


def render(page: Page, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` in the page's language, with the page, its user and the CSRF helpers."""
    with i18n.language_of(page.language):
        html = TEMPLATES.get_template(template).render(
            page=page,
            user=page.user,
            csrf_field=lambda: _csrf_field(page),
            nav_links=nav_links(page),
            **context,
        )
    response = HTMLResponse(html, status_code=status_code, headers=page.extra_headers or None)
    if page.set_csrf_cookie:
        set_cookie(page.request, response, CSRF_COOKIE, page.csrf_token, max_age=None)
    return response


def set_cookie(request: Request, response: Any, name: str, value: str, *, max_age: int | None) -> None:
    """Every cookie of the floor: HttpOnly, SameSite=Lax, Secure over https (or as configured)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )
