"""The suggestion worker (called directly), `techmatch suggest` and `techmatch train-ranker`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.suggestions import SuggestionWorker
from core.access import Viewer
from core.settings import Settings, get_settings
from core.taxonomy import Role
from matcher.features import FEATURE_NAMES
from models.base import transaction
from models.listings import Need, Offer, create_listing
from models.match_pairs import Scoring
from models.match_pipeline import record_suggestion, transition
from models.matches import Match, MatchReason, MatchStatus
from models.outbox import Notification
from scripts.cli import app as cli
from tests.api.conftest import World, need_body, offer_body

BROKER = Viewer(role=Role.BROKER, api_key_id=1)


def send(client: TestClient, world: World, who: str, path: str, body: dict, method: str = "POST") -> dict:
    response = client.request(method, path, json=body, headers=world.auth(who))
    assert response.status_code in (200, 201), response.text
    return response.json()


def worker_of(client: TestClient, **overrides: object) -> SuggestionWorker:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.index_sync.wait_idle(10)
    return SuggestionWorker(
        settings=runtime.settings.model_copy(update=overrides),
        session_factory=runtime.session_factory,
        matcher=runtime.matcher,
    )


def matches(client: TestClient) -> list[Match]:
    with client.app.state.runtime.session_factory() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(Match).order_by(Match.id)).unique())


def publish(client: TestClient, world: World) -> tuple[dict, dict]:
    english = {"language": "en", "keywords": ["irrigation"]}
    offer = send(
        client,
        world,
        "inst-a",
        "/api/v1/offers",
        offer_body(
            title="Drip irrigation controller for orchards",
            description="Soil moisture drives drip irrigation.",
            **english,
        ),
    )
    need = send(client, world, "ent-a", "/api/v1/needs", need_body())
    return offer, need


def test_leaving_the_exchange_withdraws_open_suggestions_but_keeps_decisions(
    client: TestClient, world: World
) -> None:
    offer, need = publish(client, world)
    second = send(
        client, world, "inst-b", "/api/v1/offers", offer_body(title="Drip irrigation kit", language="en")
    )
    worker = worker_of(client, suggestion_threshold=0.0)
    worker.process([("needs", need["id"])])
    decided, _open = matches(client)
    with transaction(client.app.state.runtime.session_factory) as session:  # type: ignore[attr-defined]
        match = session.get(Match, decided.id)
        assert match is not None
        transition(session=session, match=match, to=MatchStatus.ACCEPTED, actor=BROKER)
    for listing in (offer, second):
        client.post(f"/api/v1/offers/{listing['id']}/archive", headers=world.auth("broker"))
    assert worker.process([("offers", offer["id"]), ("offers", second["id"])]) == {"withdrawn": 1}
    assert [(m.id, m.status) for m in matches(client)] == [(decided.id, MatchStatus.ACCEPTED)]
    accepted_offer = offer if decided.offer_id == offer["id"] else second
    response = client.delete(f"/api/v1/offers/{accepted_offer['id']}", headers=world.auth("broker"))
    assert response.status_code == 409
    assert "archive" in response.json()["error"]["message"]
    assert client.delete(f"/api/v1/needs/{need['id']}", headers=world.auth("broker")).status_code == 409


def test_suggestions_store_the_vector_the_ranker_scored(client: TestClient, world: World) -> None:
    offer, need = publish(client, world)
    # A one-offer catalogue is its language's mean: its centred similarity is 0, its score low.
    worker = worker_of(client, suggestion_threshold=0.01)
    outcomes = worker.process([("needs", need["id"])])
    assert outcomes == {"created": 1}
    [match] = matches(client)
    assert (match.need_id, match.offer_id, match.status) == (need["id"], offer["id"], MatchStatus.SUGGESTED)
    assert match.feature_names == list(FEATURE_NAMES)
    # The stored features are exactly the ranker's input: retraining learns from what was scored.
    rescored = worker.matcher.ranker.score_pairs(np.array([match.features]))[0]
    assert rescored == pytest.approx(match.score, abs=1e-3)
    assert worker.process([("offers", offer["id"])]) == {"refreshed": 1}
    assert worker.process([("offers", 999_999)]) == {}


def test_decided_pairs_come_back_only_after_a_material_change(client: TestClient, world: World) -> None:
    _offer, need = publish(client, world)
    # A one-offer catalogue under the hash encoder scores near any threshold; decisions are under test.
    worker = worker_of(client, suggestion_threshold=0.01)
    worker.process([("needs", need["id"])])
    with transaction(client.app.state.runtime.session_factory) as session:  # type: ignore[attr-defined]
        match = session.scalars(select(Match)).unique().one()
        transition(
            session=session,
            match=match,
            to=MatchStatus.REJECTED,
            actor=BROKER,
            reason=MatchReason.TOO_EARLY_STAGE,
        )
    send(client, world, "ent-a", f"/api/v1/needs/{need['id']}", {"region": "ho_chi_minh_city"}, "PATCH")
    assert worker_of(client, suggestion_threshold=0.01).process([("needs", need["id"])]) == {"kept": 1}
    send(client, world, "ent-a", f"/api/v1/needs/{need['id']}", {"min_trl": 4}, "PATCH")
    assert worker_of(client, suggestion_threshold=0.01).process([("needs", need["id"])]) == {"reopened": 1}
    assert matches(client)[0].status == MatchStatus.SUGGESTED


def test_brokers_only_needs_are_matched_but_not_shown_to_offer_owners(
    client: TestClient, world: World
) -> None:
    offer, _public = publish(client, world)
    secret = send(client, world, "ent-b", "/api/v1/needs", need_body(confidentiality="brokers_only"))
    worker = worker_of(client, suggestion_threshold=0.01, suggestion_strong_threshold=0.0)
    worker.process([("needs", secret["id"])])
    assert {(m.need_id, m.offer_id) for m in matches(client)} == {(secret["id"], offer["id"])}
    with client.app.state.runtime.session_factory() as session:  # type: ignore[attr-defined]
        told = [n.organization_id for n in session.scalars(select(Notification)).unique()]
    assert told == [world.org["ent-b"]]
    assert (
        client.get(f"/api/v1/offers/{offer['id']}/matches", headers=world.auth("inst-a")).json()["total"] == 1
    )


def test_archived_listings_get_no_suggestions(client: TestClient, world: World) -> None:
    _offer, need = publish(client, world)
    send(client, world, "ent-a", f"/api/v1/needs/{need['id']}", {"status": "archived"}, "PATCH")
    assert worker_of(client).process([("needs", need["id"])]) == {}


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TECHMATCH_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TECHMATCH_EMBEDDING_MODEL", "fake:64")
    monkeypatch.setenv("TECHMATCH_RANKER_MIN_DECISIONS", "30")
    # One-offer catalogues: the offer is its language's mean, so its centred similarity is 0.
    monkeypatch.setenv("TECHMATCH_SUGGESTION_THRESHOLD", "0.01")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def decide(client: TestClient, world: World, count: int) -> None:
    """`count` decided matches whose lexical score decides: brokers the default weights do not understand."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    with transaction(runtime.session_factory) as session:
        offer = session.get(Offer, publish(client, world)[0]["id"])
        for i in range(count):
            need = create_listing(
                session=session,
                model=Need,
                values={**need_body(title=f"Need {i}", deadline=None), "organization_id": world.org["ent-b"]},
            )
            features = [float(v) for v in rng.uniform(0, 1, len(FEATURE_NAMES))]
            record_suggestion(
                session=session,
                need=need,
                offer=offer,
                strong_threshold=None,
                scoring=Scoring(
                    score=0.6,
                    text_score=0.5,
                    explanation={},
                    features=features,
                    feature_names=list(FEATURE_NAMES),
                    ranker_version="default-v1",
                ),
            )
            match = session.scalars(select(Match).where(Match.need_id == need.id)).unique().one()
            relevant = features[FEATURE_NAMES.index("lexical")] > 0.5
            transition(
                session=session,
                match=match,
                actor=BROKER,
                to=MatchStatus.ACCEPTED if relevant else MatchStatus.REJECTED,
                reason=None if relevant else MatchReason.NOT_RELEVANT,
            )


def test_train_ranker_waits_for_enough_decisions_then_promotes(
    client: TestClient, world: World, cli_env: CliRunner, settings: Settings
) -> None:
    decide(client, world, 10)
    refused = cli_env.invoke(cli, ["train-ranker"])
    assert refused.exit_code == 0 and "Not enough broker decisions" in refused.output
    assert not (settings.ranker_dir / "ACTIVE").exists()
    decide(client, world, 60)
    trained = cli_env.invoke(cli, ["train-ranker"])
    assert trained.exit_code == 0, trained.output
    assert "promoted" in trained.output
    version = (settings.ranker_dir / "ACTIVE").read_text().strip()
    # Another API process on the same rankers scores with the promoted one and says so.
    other = settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"})
    shutil.copytree(settings.ranker_dir, other.ranker_dir)
    with TestClient(create_app(other)) as restarted:
        health = restarted.get("/api/v1/healthz", headers=world.auth("admin")).json()
        assert health["ranker_version"] == version


def test_suggest_command_recomputes_everything(client: TestClient, world: World, cli_env: CliRunner) -> None:
    publish(client, world)
    result = cli_env.invoke(cli, ["suggest"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert len(matches(client)) == 1


def test_suggest_changed_matches_only_listings_written_since_the_last_run(
    client: TestClient, world: World, cli_env: CliRunner, settings: Settings
) -> None:
    publish(client, world)
    first = cli_env.invoke(cli, ["suggest", "--changed"])  # no earlier run: every listing
    assert first.exit_code == 0, first.output
    assert first.output.startswith("every listing: 1 created"), first.output
    assert (settings.data_dir / "suggest-last-run.txt").exists()
    again = cli_env.invoke(cli, ["suggest", "--changed"])
    assert again.exit_code == 0, again.output
    assert "written since" in again.output and again.output.strip().endswith("no suggestions"), again.output
    send(client, world, "ent-b", "/api/v1/needs", need_body(title="Drip irrigation for mango orchards"))
    third = cli_env.invoke(cli, ["suggest", "--changed"])
    assert third.exit_code == 0, third.output
    # The new need only (the first pair is not looked at again): one outcome, one more match.
    assert third.output.strip().endswith(": 1 created"), third.output
    assert len(matches(client)) == 2
    everything = cli_env.invoke(cli, ["suggest"])
    assert everything.output.startswith("every listing: "), everything.output
