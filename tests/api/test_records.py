"""The matcher's reads of the store: a listing's facts are its record without the text, and the facts
kept in memory follow the listing's changes."""

from __future__ import annotations

from dataclasses import fields

from fastapi.testclient import TestClient

from api.records import StoreRecords
from api.runtime import Runtime
from matcher.records import ListingRecord, NeedFacts, OfferFacts
from tests.api.conftest import World, need_body, offer_body


def test_facts_are_the_records_fields_but_the_text(client: TestClient, world: World) -> None:
    offer = client.post(
        "/api/v1/offers",
        json=offer_body(excluded_organization_ids=[world.org["ent-b"]]),
        headers=world.auth("inst-a"),
    ).json()
    need = client.post(
        "/api/v1/needs", json=need_body(confidentiality="brokers_only"), headers=world.auth("ent-a")
    ).json()
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.session_factory() as session:
        records = StoreRecords(session)
        pairs = [
            (
                records.offers([offer["id"]])[offer["id"]],
                records.offer_facts([offer["id"]])[offer["id"]],
                OfferFacts,
            ),
            (
                records.needs([need["id"]])[need["id"]],
                records.need_facts([need["id"]])[need["id"]],
                NeedFacts,
            ),
        ]
    for record, facts, kind in pairs:
        assert type(facts) is kind
        names = {field.name for field in fields(kind)}
        assert {field.name for field in fields(type(record))} - names == {"title", "description", "keywords"}
        assert {name: getattr(facts, name) for name in names} == {
            name: getattr(record, name) for name in names
        }
        assert not isinstance(facts, ListingRecord)
    offer_facts, need_facts = pairs[0][1], pairs[1][1]
    assert offer_facts.excluded_organization_ids == frozenset({world.org["ent-b"]})  # type: ignore[attr-defined]
    assert offer_facts.transfer_types == ("licence", "consultancy")
    assert (offer_facts.trl, offer_facts.price_min) == (6, 300_000_000)  # type: ignore[attr-defined]
    assert need_facts.confidentiality.value == "brokers_only"
    assert str(need_facts.deadline) == "2027-06-30"  # type: ignore[attr-defined]


def test_a_match_keeps_its_candidates_facts_and_an_edit_drops_them(client: TestClient, world: World) -> None:
    offer = client.post("/api/v1/offers", json=offer_body(), headers=world.auth("inst-a")).json()
    need = client.post("/api/v1/needs", json=need_body(), headers=world.auth("ent-a")).json()
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    matches = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world.auth("broker"))
    assert [item["offer"]["id"] for item in matches.json()["items"]] == [offer["id"]]
    kept = runtime.facts.read("offers", [offer["id"]], lambda ids: {})
    assert kept[offer["id"]].trl == 6  # type: ignore[attr-defined]

    edited = client.patch(f"/api/v1/offers/{offer['id']}", json={"trl": 8}, headers=world.auth("inst-a"))
    assert edited.status_code == 200
    assert runtime.facts.read("offers", [offer["id"]], lambda ids: {}) == {}
    with runtime.session_factory() as session:
        facts = StoreRecords(session, facts_cache=runtime.facts).offer_facts([offer["id"]])
    assert facts[offer["id"]].trl == 8  # type: ignore[attr-defined]
