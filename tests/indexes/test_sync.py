"""Index sync: reconcile with the store, follow changes on a thread, survive kill -9 mid-reindex."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path

import pytest

from core.settings import Settings
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument
from indexes.encoder import FakeEncoder
from indexes.storage import current_generation
from indexes.sync import SAVE_COST_FACTOR, IndexSync
from tests.indexes.test_catalog_maintenance import WORDS

ROOT = Path(__file__).resolve().parents[2]


class FakeStore:
    def __init__(self) -> None:
        self.docs: dict[int, str] = {}

    def load(self, kind: str, ids: Collection[int]) -> dict[int, IndexDocument]:
        return {i: IndexDocument(i, self.docs[i]) for i in ids if i in self.docs}

    def ids(self, kind: str) -> list[int]:
        return list(self.docs)


def make_sync(root: Path, store: FakeStore) -> IndexSync:
    index = ListingIndex(
        kind="offers", root=root, encoder=FakeEncoder(dimension=32), settings=Settings(data_dir=root)
    )
    return IndexSync(
        indexes={"offers": index}, load_documents=store.load, load_ids=store.ids, save_interval=0.05
    )


def test_reconcile_reads_the_store_a_batch_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("indexes.sync.RECONCILE_BATCH", 7)
    store = FakeStore()
    store.docs = {i: f"listing number {i} about drones" for i in range(1, 51)}
    asked: list[Collection[int]] = []
    load = store.load

    def counting(kind: str, ids: Collection[int]) -> dict[int, IndexDocument]:
        asked.append(ids)
        if len(asked) == 8:  # the check's last batch: a listing found stale is gone before it is read
            del store.docs[3]
        return load(kind, ids)

    store.load = counting  # type: ignore[method-assign]
    sync = make_sync(tmp_path, store)

    assert sync.reconcile() == {"offers": (50, 0)}

    # Never every text at once: 8 batches of at most 7 to check, then the stale ones to index.
    assert all(len(ids) <= 7 for ids in asked[:8])
    assert sorted(i for ids in asked[:8] for i in ids) == list(range(1, 51))
    assert sync.indexes["offers"].fingerprints.keys() == store.docs.keys()


def test_reconcile_makes_the_index_equal_to_the_store(tmp_path: Path) -> None:
    store = FakeStore()
    store.docs = {i: f"listing number {i} about drones" for i in range(1, 51)}
    sync = make_sync(tmp_path, store)
    told: list[set[tuple[str, int]]] = []
    sync.on_applied(told.append)
    assert sync.reconcile() == {"offers": (50, 0)}
    assert told == [{("offers", i) for i in range(1, 51)}]
    store.docs[3] = "now about shrimp farming"
    del store.docs[7]
    store.docs[99] = "a new one"
    assert sync.reconcile() == {"offers": (2, 1)}
    assert told[-1] == {("offers", 3), ("offers", 7), ("offers", 99)}
    index = sync.indexes["offers"]
    assert index.fingerprints == {i: IndexDocument(i, t).fingerprint for i, t in store.docs.items()}
    assert sync.reconcile() == {"offers": (0, 0)}


def test_changes_are_searchable_within_a_second_and_saved(tmp_path: Path) -> None:
    store = FakeStore()
    sync = make_sync(tmp_path, store)
    sync.start()
    applied: list[set[tuple[str, int]]] = []
    sync.on_applied(applied.append)
    try:
        store.docs[1] = "solar panel cleaning robot"
        started = time.monotonic()
        sync.notify([("offers", 1)])
        while not sync.indexes["offers"].lexical_search("cleaning robot", 1):
            assert time.monotonic() - started < 1.0, "change not searchable within 1 s"
            time.sleep(0.01)
        del store.docs[1]
        sync.notify([("offers", 1)])
        assert sync.wait_idle(5)
        assert sync.indexes["offers"].lexical_search("cleaning robot", 1) == []
        assert {("offers", 1)} in applied
    finally:
        sync.close()
    reloaded = make_sync(tmp_path, store).indexes["offers"]
    assert reloaded.load() and len(reloaded) == 0


def test_saves_are_spaced_by_a_multiple_of_what_the_last_one_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("indexes.sync.time.monotonic", lambda: clock[0])
    sync = make_sync(tmp_path, FakeStore())
    saved: list[float] = []

    def save_taking_a_second() -> Path:
        saved.append(clock[0])
        clock[0] += 1.0
        return tmp_path

    monkeypatch.setattr(sync.indexes["offers"], "save", save_taking_a_second)

    def change_then_tick(after: float) -> None:
        clock[0] += after
        sync._dirty.add("offers")
        sync._save()

    change_then_tick(0.1)
    assert saved == [1000.1]
    # Past save_interval (0.05 s), yet within SAVE_COST_FACTOR x 1 s of the last save: not yet.
    change_then_tick(SAVE_COST_FACTOR - 1)
    assert len(saved) == 1
    change_then_tick(1.5)
    assert len(saved) == 2
    sync._dirty.add("offers")
    sync._save(force=True)  # closing saves what is dirty whenever the last save was
    assert len(saved) == 3 and not sync._dirty


def test_a_long_reconcile_saves_between_chunks_only_as_often_as_saves_are_cheap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("indexes.sync.time.monotonic", lambda: clock[0])
    store = FakeStore()
    store.docs = {i: f"listing number {i} about drones" for i in range(1, 201)}
    sync = make_sync(tmp_path, store)
    sync.checkpoint_every = 10
    index = sync.indexes["offers"]
    saved_sizes: list[int] = []
    upsert = index.upsert

    def upsert_taking_two_seconds(documents: list[IndexDocument], **kwargs: bool) -> None:
        upsert(documents, **kwargs)
        clock[0] += 2.0

    def save_taking_a_second() -> Path:
        saved_sizes.append(len(index))
        clock[0] += 1.0
        return tmp_path

    monkeypatch.setattr(index, "upsert", upsert_taking_two_seconds)
    monkeypatch.setattr(index, "save", save_taking_a_second)
    assert sync.reconcile() == {"offers": (200, 0)}
    # Twenty chunks of 2 s each: a 1 s save is followed by 20 s without one (not one per chunk, which
    # would write the growing index twenty times); the end is always saved.
    assert saved_sizes == [10, 110, 200]


REINDEX_CHILD = """
import sys
from core.settings import Settings
from api.indexing import build_index_sync
from indexes.encoder import build_encoder
from models.base import make_engine, make_session_factory
settings = Settings()
factory = make_session_factory(make_engine(settings.sqlalchemy_url))
sync = build_index_sync(settings=settings, encoder=build_encoder(settings), session_factory=factory)
print("started", flush=True)
sync.rebuild()
print("finished", flush=True)
"""


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_minus_nine_during_reindex_loses_nothing(tmp_path: Path, seed: int) -> None:
    from api.indexing import build_index_sync, document_loader, id_loader
    from core.taxonomy import Language, ListingStatus, OrgKind, Region, Sector
    from models.base import make_engine, make_session_factory, transaction
    from models.listings import Offer
    from models.migrate import upgrade
    from models.organizations import Organization

    settings = Settings(data_dir=tmp_path, embedding_model="fake:32", index_checkpoint_every=300)
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    rng = random.Random(seed)
    with transaction(factory) as session:
        org = Organization(slug="o", name="O", kind=OrgKind.UNIVERSITY, region=Region.HA_NOI)
        session.add(org)
        session.flush()
        session.add_all(
            Offer(
                organization_id=org.id,
                title=" ".join(rng.choices(WORDS, k=4)),
                description=" ".join(rng.choices(WORDS, k=60)),
                sector=Sector.AI,
                keywords=[],
                trl=5,
                ip_status="none",
                region=Region.HA_NOI,
                language=Language.EN,
                status=ListingStatus.PUBLISHED if i % 10 else ListingStatus.DRAFT,
            )
            for i in range(3000)
        )
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(tmp_path),
        "TECHMATCH_EMBEDDING_MODEL": "fake:32",
        "TECHMATCH_INDEX_CHECKPOINT_EVERY": "300",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", REINDEX_CHILD], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while current_generation(tmp_path / "indexes" / "offers") is None:
        assert child.poll() is None, "reindex ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.3))
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    sync = build_index_sync(settings=settings, encoder=FakeEncoder(dimension=32), session_factory=factory)
    offers = sync.indexes["offers"]
    assert current_generation(offers.root) is not None
    assert offers.load(), "the last saved generation must load"
    sync.reconcile()
    expected = document_loader(factory)("offers", id_loader(factory)("offers"))
    assert offers.fingerprints == {i: doc.fingerprint for i, doc in expected.items()}
    assert offers.vectors.ids() == offers.lexical.ids() == set(expected)
    engine.dispose()
