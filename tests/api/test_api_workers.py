"""Several API workers on one data directory (issue 11): one leads, the others follow the store, and a
write through any worker becomes searchable through every other; a follower never saves an index."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import Runtime
from core.settings import Settings
from core.taxonomy import OrgKind, Region, Role
from indexes.catalog import ListingIndex
from models.base import transaction
from models.organizations import create_api_key, create_organization
from tests.api.conftest import offer_body

WAIT_SECONDS = 10.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API tests' settings (tests/api/conftest.py), as one of two workers polling often."""
    return settings.model_copy(update={"api_workers": 2, "index_poll_interval": 0.05})


def runtime_of(client: TestClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined]


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def found(client: TestClient, word: str, offer_id: int) -> bool:
    items = client.get("/api/v1/search/offers", params={"q": word}).json()["items"]
    return any(item["offer"]["id"] == offer_id for item in items)


def keys(runtime: Runtime) -> dict[str, dict[str, str]]:
    with transaction(runtime.session_factory) as session:
        exchange = create_organization(
            session=session,
            values={"slug": "ex", "name": "EX", "kind": OrgKind.EXCHANGE_OPERATOR, "region": Region.HA_NOI},
        ).id
        institute = create_organization(
            session=session,
            values={"slug": "in", "name": "IN", "kind": OrgKind.RESEARCH_INSTITUTE, "region": Region.HA_NOI},
        ).id
        admin = create_api_key(session=session, role=Role.ADMIN, name="a", organization_id=exchange)[1]
        member = create_api_key(
            session=session, role=Role.INSTITUTE_MEMBER, name="m", organization_id=institute
        )[1]
    return {who: {"Authorization": f"Bearer {key}"} for who, key in (("admin", admin), ("member", member))}


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ListingIndex]]:
    """Every index save, by the index that saved."""
    saved: list[ListingIndex] = []
    original = ListingIndex.save

    def recorded(self: ListingIndex) -> Any:
        saved.append(self)
        return original(self)

    monkeypatch.setattr(ListingIndex, "save", recorded)
    yield saved


def test_writes_through_one_worker_are_searchable_through_the_other(
    settings: Settings, saves: list[ListingIndex]
) -> None:
    with ExitStack() as stack:
        leader = stack.enter_context(TestClient(create_app(settings)))
        stop_leader = stack.pop_all()
        follower = stack.enter_context(TestClient(create_app(settings)))
        stack.push(stop_leader)
        lead_runtime, follow_runtime = runtime_of(leader), runtime_of(follower)
        assert (lead_runtime.role, follow_runtime.role) == ("leader", "follower")
        auth = keys(lead_runtime)
        health = follower.get("/api/v1/healthz", headers=auth["admin"]).json()
        assert health["status"] == "ok" and health["role"] == "follower"
        follower_indexes = set(map(id, follow_runtime.index_sync.indexes.values()))

        # Written through the follower, found through the leader; and the other way round.
        for writer, reader, word in ((follower, leader, "zqxfirst"), (leader, follower, "zqxsecond")):
            body = offer_body(title=f"Thiết bị {word}", status="published")
            posted = writer.post("/api/v1/offers", json=body, headers=auth["member"])
            assert posted.status_code == 201
            assert eventually(lambda: found(reader, word, posted.json()["id"]))  # noqa: B023

        # Archiving and deleting reach the other worker's index too.
        first = follower.get("/api/v1/offers", headers=auth["admin"]).json()["items"][0]["id"]
        archived = leader.post(f"/api/v1/offers/{first}/archive", headers=auth["member"])
        assert archived.status_code == 200
        assert eventually(lambda: first not in follow_runtime.index_sync.indexes["offers"])
        second = max(
            item["id"] for item in leader.get("/api/v1/offers", headers=auth["admin"]).json()["items"]
        )
        assert follower.delete(f"/api/v1/offers/{second}", headers=auth["member"]).status_code == 204
        assert eventually(lambda: second not in lead_runtime.index_sync.indexes["offers"])
        # The leader saves what it applied (every 2 s); the follower never does.
        assert eventually(lambda: any(id(index) not in follower_indexes for index in saves))
        assert not [index for index in saves if id(index) in follower_indexes]

        # The leader goes away: the follower takes over, saves, and still follows the store.
        stop_leader.close()
        assert eventually(lambda: follow_runtime.role == "leader")
        assert eventually(lambda: any(id(index) in follower_indexes for index in saves))
        assert follower.get("/api/v1/healthz", headers=auth["admin"]).json()["role"] == "leader"


def test_one_worker_alone_is_unchanged(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, embedding_model="fake:64", background_workers=False
    )
    with TestClient(create_app(settings)) as client:
        runtime = runtime_of(client)
        assert runtime.role is None and "store_follower" not in runtime.components
        assert not (tmp_path / "leader.lock").exists()
