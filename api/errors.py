"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from api.schemas.common import ErrorResponse
from core.settings import Settings
from models.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError, StoreError

log = logging.getLogger(__name__)

STORE_STATUS: dict[type[StoreError], tuple[int, str]] = {
    NotFoundError: (404, "not_found"),
    ForbiddenError: (403, "forbidden"),
    ConflictError: (409, "conflict"),
    InvalidError: (422, "invalid"),
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


ERROR_DESCRIPTIONS = {
    400: "The request body cannot be read (not UTF-8 or not JSON)",
    401: "No valid API key (the key is unknown or revoked, or the action needs one)",
    403: "Your role or organization may not do this",
    404: "No such thing, or you may not see it",
    409: "The change conflicts with the current state",
    413: "The request body is larger than the limit",
    422: "Invalid input: a field, a query parameter or an unknown key",
    429: "Too many requests; wait for Retry-After seconds",
    503: "The database is busy or unavailable, or too many searches wait; retry after Retry-After seconds",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error codes an operation can answer, all in the one error shape."""
    return {code: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


# What any route may answer: a bad key, bad input, a busy database.
COMMON_ERRORS = error_responses(401, 422, 503)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def _describe(errors: list[dict[str, Any]]) -> str:
    """A sentence a person can act on, naming the first offending field."""
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    return (
        f"{where}: {first.get('msg', 'invalid value')}" if where else str(first.get("msg", "Invalid input."))
    )


def install(app: FastAPI, settings: Settings) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only the first few problems: a body with a million mistakes must not get a million-line answer.
        found = exc.errors()
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in found[: settings.max_reported_errors]
        ]
        message = _describe(errors)
        if len(found) > len(errors):
            message += f" ({len(found) - len(errors)} more problem(s) not listed)"
        return error_response(422, "invalid", message, errors)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(
            exc.status_code,
            HTTP_CODES.get(exc.status_code, "error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(StoreError)
    async def _store(_request: Request, exc: StoreError) -> JSONResponse:
        status, code = next((v for k, v in STORE_STATUS.items() if isinstance(exc, k)), (400, "bad_request"))
        return error_response(status, code, str(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return error_response(
            409, "conflict", "The change conflicts with existing data (duplicate or missing reference)."
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # A locked SQLite file, a PostgreSQL lock timeout or a lost connection: retrying later may work.
        log.warning("database unavailable: %s", exc)
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.store_unavailable_at = time.monotonic()
        return error_response(
            503,
            "unavailable",
            "The database is busy or unavailable; try again shortly.",
            headers={"Retry-After": str(settings.store_retry_after_seconds)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal", "Something went wrong on our side; the error was logged.")
