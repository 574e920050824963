"""Serving the API: one process or several workers over one data directory."""

from __future__ import annotations

import copy
import logging
import os
from typing import Annotated, Any, Optional

import typer

from core.settings import get_settings
from scripts.commands.database import load_demo_command

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    demo: Annotated[bool, typer.Option(help="load the demo data first")] = False,
    workers: Annotated[
        Optional[int],  # noqa: UP045 (typer reads the annotation)
        typer.Option(min=1, max=64, help="API processes (default: TECHMATCH_API_WORKERS, else 1)"),
    ] = None,
) -> None:
    """Run the API server (migrating the database first); several workers share one data directory."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if demo:
        load_demo_command()
    settings = get_settings()
    count = workers or settings.api_workers
    if count == 1:
        from api.app import create_app

        uvicorn.run(
            create_app(settings.model_copy(update={"api_workers": 1})),
            host=host,
            port=port,
            log_config=log_config(),
        )
        return
    # Each worker builds its own app from the environment, where it learns how many they are; this
    # process only watches them, so it does not import the app (130 MB it would hold for nothing).
    os.environ["TECHMATCH_API_WORKERS"] = str(count)
    uvicorn.run(
        "api.app:create_app", factory=True, workers=count, host=host, port=port, log_config=log_config()
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus the application's own INFO lines: uvicorn applies it in every worker it
    spawns, where this process's `basicConfig` does not reach (leadership, rebuilds, compactions were
    silent with --workers)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["application"] = {"format": LOG_FORMAT}
    config["handlers"]["application"] = {
        "class": "logging.StreamHandler",
        "formatter": "application",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["application"], "level": "INFO"}
    # Its INFO lines report the CPU builds it tried and could not load, as tracebacks: not news.
    config["loggers"]["faiss.loader"] = {"level": "WARNING"}
    return config
