"""Property-based test of the whole API against its own OpenAPI document (schemathesis).

Every operation, as the admin and as an institute member, with generated valid and invalid
input, over real HTTP to uvicorn: no answer may be a 5xx, and every answer must match the
documented status codes, content types, headers and schemas.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.settings import Settings
from core.taxonomy import OrgKind, Region, Role
from models.base import transaction
from models.organizations import create_api_key, create_organization
from tests.api.conftest import need_body, offer_body

# Per operation, caller and generation mode: about 30 operations × 2 callers × 2 modes × 20 ≥ 2,000 cases.
EXAMPLES = 20
MIN_CASES = 2_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Served:
    base_url: str
    app: Any
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    """The API on a real port, with a member, an admin, and a few listings to find."""
    app = create_app(settings.model_copy(update={"rate_limits_enabled": False}))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        runtime = app.state.runtime
        with transaction(runtime.session_factory) as session:
            exchange, institute, enterprise = (
                create_organization(
                    session=session,
                    values={"slug": slug, "name": slug, "kind": kind, "region": Region.HA_NOI},
                ).id
                for slug, kind in [
                    ("exchange", OrgKind.EXCHANGE_OPERATOR),
                    ("inst", OrgKind.RESEARCH_INSTITUTE),
                    ("ent", OrgKind.ENTERPRISE),
                ]
            )
            keys = {
                "admin": create_api_key(session=session, role=Role.ADMIN, name="a", organization_id=exchange)[
                    1
                ],
                "member": create_api_key(
                    session=session, role=Role.INSTITUTE_MEMBER, name="m", organization_id=institute
                )[1],
                "enterprise": create_api_key(
                    session=session, role=Role.ENTERPRISE_MEMBER, name="e", organization_id=enterprise
                )[1],
            }
        base_url = f"http://127.0.0.1:{port}"
        with requests.Session() as http:
            for path, body, who in [
                ("/api/v1/offers", offer_body(), "member"),
                ("/api/v1/offers", offer_body(title="Máy sấy lạnh nông sản"), "member"),
                ("/api/v1/needs", need_body(), "enterprise"),
            ]:
                response = http.post(
                    base_url + path, json=body, headers={"Authorization": f"Bearer {keys[who]}"}
                )
                assert response.status_code == 201, response.text
        yield Served(base_url=base_url, app=app, keys=keys)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def explore(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    *,
    served: Served,
    http: requests.Session,
    headers: dict[str, str],
) -> int:
    """Send generated cases of one operation and check each answer; returns how many were sent."""
    sent = 0

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(base_url=served.base_url, session=http, headers=headers, checks=CHECKS)

    call()
    return sent


def test_no_operation_errs_or_strays_from_its_schema(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(served.app.openapi())
    cases: Counter[str] = Counter()
    failures: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            for who in ("admin", "member"):
                headers = {"Authorization": f"Bearer {served.keys[who]}"}
                for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                    try:
                        cases[operation.label] += explore(
                            operation, mode, served=served, http=http, headers=headers
                        )
                    except hypothesis.errors.Unsatisfiable:
                        assert mode is schemathesis.GenerationMode.NEGATIVE  # nothing to get wrong
                    except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report them all
                        failures.append(f"{operation.label} as {who} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    assert sum(cases.values()) >= MIN_CASES, cases
    print(f"{sum(cases.values())} cases over {len(cases)} operations")
