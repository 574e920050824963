"""The OpenAPI document as clients should read it, beyond what FastAPI derives from the routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mark the API key optional everywhere: anonymous callers may read public listings, and the
    operations that need a key say so with their documented 401."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for methods in schema.get("paths", {}).values():
                for operation in methods.values():
                    if "security" in operation:
                        operation["security"] = [{}, *operation["security"]]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
