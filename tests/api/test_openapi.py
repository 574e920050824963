"""The OpenAPI document tells the truth: error answers are listed, times carry their zone."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import World, offer_body

# Operations and the errors (beyond 401/422/503, which every operation lists) they can answer.
EXPECTED = {
    ("get", "/api/v1/offers/{listing_id}"): {"404"},
    ("patch", "/api/v1/offers/{listing_id}"): {"403", "404", "409", "413"},
    ("delete", "/api/v1/needs/{listing_id}"): {"403", "404", "409"},
    ("post", "/api/v1/offers"): {"403", "409", "413"},
    ("patch", "/api/v1/organizations/{organization_id}"): {"403", "404"},
    ("post", "/api/v1/api-keys"): {"403", "404"},
    ("get", "/api/v1/matches"): {"403"},
    ("post", "/api/v1/matches/{match_id}/transition"): {"403", "404", "409"},
    ("get", "/api/v1/needs/{listing_id}/matches"): {"404", "429"},
    ("get", "/api/v1/search/offers"): {"429"},
}


def test_every_operation_documents_its_errors_in_the_one_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = {
        (method, path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert set(EXPECTED) <= set(operations)
    for (method, path), operation in operations.items():
        responses = operation["responses"]
        if path != "/api/v1/healthz":
            assert {"401", "422", "503"} <= set(responses), (method, path)
            ref = responses["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorResponse"), (method, path)
        assert EXPECTED.get((method, path), set()) <= set(responses), (method, path)
    assert "HTTPValidationError" not in schema["components"]["schemas"]


ISO_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def test_times_are_sent_with_their_zone(client: TestClient, world: World) -> None:
    offer = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a")).json()
    read = client.get(f"/api/v1/offers/{offer['id']}").json()
    organization = client.get(f"/api/v1/organizations/{world.org['inst-a']}").json()
    for moment in (offer["created_at"], read["created_at"], read["updated_at"], organization["created_at"]):
        assert ISO_WITH_ZONE.match(moment), moment
