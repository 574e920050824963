"""Errors on the floor's pages are pages: the API's JSON handlers stay for /api, /docs and the schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from api.errors import STORE_STATUS
from models.errors import StoreError
from web.i18n import N_
from web.pages import CsrfRefused, Page, load_page, render, sign_in_url

API_PATHS = ("/api/", "/docs", "/redoc", "/openapi.json")

# What the visitor reads for each status; the API's message is for developers and stays English.
ERROR_TITLES = {
    400: N_("The request could not be read."),
    403: N_("You may not open this page."),
    404: N_("This page does not exist, or you may not see it."),
    405: N_("This page cannot be used that way."),
    409: N_("This change conflicts with the current state."),
    413: N_("What you sent is too large."),
    422: N_("Some of what you entered is not valid."),
    429: N_("Too many requests; wait a moment and try again."),
    503: N_("The service is busy or unavailable; try again in a moment."),
}
GENERIC_ERROR = N_("Something went wrong.")
CSRF_REFUSED = N_(
    "This form has expired or did not come from this site. Go back, reload the page and try again."
)

Handler = Callable[[Request, Any], Awaitable[Response]]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PATHS)


def _page(request: Request) -> Page:
    page = getattr(request.state, "page", None)
    if page is not None:
        return page
    # The error came before the page dependency ran (an unknown path): read the session ourselves.
    runtime = request.app.state.runtime
    with runtime.session_factory() as db:
        page = load_page(request, db)
        # Read what the header shows while the session is open.
        if page.user is not None:
            _ = page.user.organization
        return page


def error_page(request: Request, status: int, *, title: str | None = None) -> Response:
    """The error page of a status, or with a title (a message id) of its own."""
    title = title or ERROR_TITLES.get(status, GENERIC_ERROR)
    return render(_page(request), "error.html", status_code=status, status=status, title=title)


def install(app: FastAPI) -> None:
    """Wrap the API's handlers of these errors: JSON under the API paths, an HTML page elsewhere."""

    def wrap(exc_class: type[Exception], status_of: Callable[[Any], int]) -> None:
        previous: Handler = app.exception_handlers[exc_class]  # type: ignore[assignment]

        async def handler(request: Request, exc: Any) -> Response:
            if _is_api(request):
                return await previous(request, exc)
            if getattr(exc, "next_path", None) is not None:
                return RedirectResponse(sign_in_url(exc.next_path), status_code=303)
            if isinstance(exc, CsrfRefused):
                return error_page(request, 403, title=CSRF_REFUSED)
            page = error_page(request, status_of(exc))
            # Retry-After of a 429 or 503 holds for a browser as for an API client.
            page.headers.update(getattr(exc, "headers", None) or {})
            return page

        app.add_exception_handler(exc_class, handler)

    wrap(HTTPException, lambda exc: exc.status_code)
    wrap(RequestValidationError, lambda _exc: 422)
    wrap(StoreError, lambda exc: next((v[0] for k, v in STORE_STATUS.items() if isinstance(exc, k)), 400))
