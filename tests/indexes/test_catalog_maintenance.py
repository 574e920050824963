"""Saves and rebuilds off the read path: searches answer, correctly, while either is in progress."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import indexes.catalog as catalog
from core.settings import Settings
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument
from indexes.encoder import FakeEncoder
from indexes.lexical import LexicalIndex
from indexes.vector import VectorIndex

WORDS = [
    "drone",
    "sensor",
    "shrimp",
    "solar",
    "robot",
    "battery",
    "cassava",
    "rice",
    "water",
    "laser",
    "textile",
    "concrete",
]
QUERIES = ["solar battery", "shrimp water sensor", "robot laser", "cassava rice drying"]
# Only a guard against hanging the suite if a search did block; no speed is asserted.
STUCK = 60.0


def documents(count: int, *, seed: int = 7) -> list[IndexDocument]:
    rng = random.Random(seed)
    return [IndexDocument(i, " ".join(rng.choices(WORDS, k=12)), language="en") for i in range(1, count + 1)]


def make_index(root: Path, **settings: Any) -> ListingIndex:
    return ListingIndex(
        kind="offers",
        root=root,
        encoder=FakeEncoder(dimension=32),
        settings=Settings(data_dir=root, **settings),
    )


def answers(index: ListingIndex) -> list[Any]:
    """Every kind of read a request makes, for comparing two indexes."""
    return [
        (
            [doc_id for doc_id, _ in index.dense_search(query, 10)],
            index.lexical_search(query, 10),
            [doc_id for doc_id, _ in index.dense_search(query, 5, allowed_ids=range(1, 30))],
        )
        for query in QUERIES
    ]


def searched_from_another_thread(index: ListingIndex) -> list[Any]:
    result: list[Any] = []
    reader = threading.Thread(target=lambda: result.append(answers(index)))
    reader.start()
    reader.join(STUCK)
    assert not reader.is_alive(), "the search waited for the maintenance to finish"
    return result[0]


@pytest.fixture
def paused() -> Iterator[tuple[threading.Event, threading.Event, Callable[[], None]]]:
    """(started, release, pause): `pause()` signals `started`, then waits until the test sets `release`."""
    started, release = threading.Event(), threading.Event()

    def pause() -> None:
        started.set()
        assert release.wait(STUCK)

    yield started, release, pause
    release.set()


def run_in_background(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_searches_answer_during_a_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paused: Any) -> None:
    started, release, pause = paused
    index = make_index(tmp_path)
    index.upsert(documents(200))
    expected = answers(index)
    real_write = catalog.write_generation

    def blocking_write(root: Path, writer: Callable[[Path], None]) -> Path:
        def slow_writer(directory: Path) -> None:
            writer(directory)
            pause()  # every file written, the generation not yet current

        return real_write(root, slow_writer)

    monkeypatch.setattr(catalog, "write_generation", blocking_write)
    saver = run_in_background(index.save)
    assert started.wait(STUCK)

    during = searched_from_another_thread(index)

    assert not release.is_set() and saver.is_alive()
    assert during == expected
    release.set()
    saver.join(STUCK)
    reloaded = make_index(tmp_path)
    assert reloaded.load()
    assert answers(reloaded) == expected


@pytest.mark.parametrize(
    ("count", "first", "deleted", "exact_search_max", "kind", "rebuild"),
    [
        (120, 110, 40, 20_000, "flat", (VectorIndex, "compacted")),  # a third of the labels are tombstones
        (150, 90, 0, 100, "hnsw", (VectorIndex, "compacted")),  # the last listings pass exact search
        (120, 90, 0, 20_000, "flat", (LexicalIndex, "merged")),  # the lexical delta passes MERGE_SHARE
    ],
)
def test_searches_answer_from_the_old_indexes_during_a_rebuild(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    paused: Any,
    count: int,
    first: int,
    deleted: int,
    exact_search_max: int,
    kind: str,
    rebuild: tuple[type, str],
) -> None:
    started, release, pause = paused
    docs = documents(count)
    live = docs[deleted:]
    index = make_index(tmp_path / "live", exact_search_max=exact_search_max)
    index.upsert(docs[:first])
    assert not index.vectors.needs_compaction and not index.lexical.needs_merge
    owner, method = rebuild
    real_rebuild = getattr(owner, method)

    def blocking_rebuild(self: Any, **options: Any) -> Any:
        pause()
        return real_rebuild(self, **options)

    monkeypatch.setattr(owner, method, blocking_rebuild)

    def maintain() -> None:
        # The last listings arrive, then enough are deleted (if any) for compaction to be due.
        index.upsert(docs[first:])
        index.delete([doc.id for doc in docs[:deleted]])

    worker = run_in_background(maintain)
    assert started.wait(STUCK)
    monkeypatch.setattr(owner, method, real_rebuild)
    exact = make_index(tmp_path / "exact", exact_search_max=100_000)
    exact.upsert(live)

    during = searched_from_another_thread(index)

    assert not release.is_set() and worker.is_alive()
    assert index.vectors.kind == "flat"
    assert index.vectors.needs_compaction if owner is VectorIndex else index.lexical.needs_merge
    assert during == answers(exact)
    release.set()
    worker.join(STUCK)
    assert index.vectors.kind == kind and index.vectors.tombstones == 0
    assert not index.lexical.needs_merge and not index.vectors.needs_compaction
    fresh = make_index(tmp_path / "fresh", exact_search_max=exact_search_max)
    fresh.upsert(live)
    assert fresh.vectors.kind == kind
    assert answers(index) == answers(fresh) == answers(exact)


def test_a_save_of_a_flat_index_with_tombstones_leaves_searches_unchanged(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    docs = documents(40)
    index.upsert(docs)
    index.delete([doc.id for doc in docs[:5]])
    before = answers(index)
    assert index.vectors.tombstones == 5
    index.save()
    assert index.vectors.tombstones == 0
    assert answers(index) == before
    reloaded = make_index(tmp_path)
    assert reloaded.load()
    assert answers(reloaded) == before


def test_searches_share_the_index_and_an_update_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paused: Any
) -> None:
    """Two searches run at once (the scoring releases the GIL, so a second core serves the second one);
    an update applies only once the searches reading the index are done."""
    started, release, pause = paused
    index = make_index(tmp_path)
    index.upsert(documents(200))
    expected = answers(index)
    real_search = LexicalIndex.search

    def paused_search(self: LexicalIndex, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "held":
            pause()
        return real_search(self, *args, **kwargs)

    monkeypatch.setattr(LexicalIndex, "search", paused_search)
    held = threading.Thread(target=lambda: index.lexical_search("solar", 5), name="held")
    held.start()
    assert started.wait(STUCK)

    assert searched_from_another_thread(index) == expected
    writer = run_in_background(lambda: index.upsert([IndexDocument(999, "solar laser", language="en")]))
    writer.join(0.5)
    assert writer.is_alive() and 999 not in index.lexical.ids(), "the update did not wait for the search"
    release.set()
    held.join(STUCK)
    writer.join(STUCK)
    assert 999 in index and [doc_id for doc_id, _ in index.lexical_search("laser solar", 1)] == [999]
