"""The application's lifespan: long-lived objects kept out of full garbage collections while serving."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings


def test_objects_built_at_start_are_frozen_while_serving_and_released_at_shutdown(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/api/v1/healthz").status_code == 200
    assert gc.get_freeze_count() == 0
