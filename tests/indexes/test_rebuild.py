"""Rebuilds beside the live indexes: updates made meanwhile are searchable at once and survive the swap."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import indexes.rebuild as rebuild
import indexes.vector as vector
from indexes.catalog import ListingIndex
from indexes.documents import IndexDocument
from indexes.lexical import LexicalIndex
from indexes.rebuild import Rebuilds
from indexes.vector import VectorIndex
from tests.indexes.test_catalog_maintenance import QUERIES, STUCK, WORDS, answers, documents, make_index

# An update that waited for the rebuild would wait until the test releases it, which it never does first.
PROMPT = 10.0


@pytest.fixture(autouse=True)
def in_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rebuild an update triggers runs on its own thread, as it does past a thousand listings."""
    monkeypatch.setattr(rebuild, "BACKGROUND_MIN_LISTINGS", 0)


@pytest.fixture
def gate() -> Iterator[tuple[threading.Event, threading.Event]]:
    """(started, release): the rebuild sets `started` where it blocks, the test sets `release`."""
    started, release = threading.Event(), threading.Event()
    yield started, release
    release.set()


def settled(index: ListingIndex, docs: Sequence[IndexDocument]) -> ListingIndex:
    index.upsert(docs)
    assert index.wait_for_rebuild(STUCK)
    assert not index.vectors.needs_compaction and not index.lexical.needs_merge
    return index


def promptly(action: Callable[[], object]) -> None:
    """Run `action` on another thread and fail unless it finishes before the rebuild is released."""
    worker = threading.Thread(target=action)
    worker.start()
    worker.join(PROMPT)
    assert not worker.is_alive(), "the update waited for the rebuild"


def assert_consistent(index: ListingIndex, expected_ids: set[int]) -> None:
    assert index.vectors.ids() == index.lexical.ids() == set(index.fingerprints) == expected_ids
    assert set(index.languages.arrays()[0].tolist()) == expected_ids


def fresh_answers(root: Path, docs: Sequence[IndexDocument]) -> list[Any]:
    fresh = make_index(root)
    fresh.upsert(docs)
    return answers(fresh)


def pause_before_hold(monkeypatch: pytest.MonkeyPatch, gate: Any, number: int) -> list[int]:
    """Make the rebuild wait on `gate` before its `number`-th hold of the writer lock (the first takes
    the ids, each later one reads a chunk of vectors); the returned one-item list counts holds entered."""
    started, release = gate
    real_hold = Rebuilds._hold
    entered = [0]

    @contextmanager
    def pausing(self: Rebuilds, epoch: int) -> Iterator[None]:
        if entered[0] == number - 1:
            started.set()
            assert release.wait(STUCK)
        with real_hold(self, epoch):
            entered[0] += 1
            yield

    monkeypatch.setattr(Rebuilds, "_hold", pausing)
    return entered


def pause_merges(monkeypatch: pytest.MonkeyPatch, gate: Any) -> None:
    """Make every lexical merge wait on `gate` before it starts."""
    started, release = gate
    real_merged = LexicalIndex.merged

    def pausing(self: LexicalIndex) -> LexicalIndex:
        started.set()
        assert release.wait(STUCK)
        return real_merged(self)

    monkeypatch.setattr(LexicalIndex, "merged", pausing)


def test_updates_during_a_vector_compaction_are_searchable_at_once_and_survive_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Any
) -> None:
    started, release = gate
    docs = documents(120)
    index = settled(make_index(tmp_path / "live"), docs)
    monkeypatch.setattr(vector, "COMPACT_CHUNK", 16)
    pause_before_hold(monkeypatch, gate, 3)  # the ids taken and one chunk of vectors read
    index.delete([doc.id for doc in docs[:40]])  # a third of the labels are tombstones: compaction is due
    assert started.wait(STUCK) and index.health()["rebuilding"]
    old_vectors = index.vectors
    new = IndexDocument(500, "zeppelin airship hangar", language="en")
    changed = IndexDocument(60, "quinoa greenhouse irrigation", language="en")

    promptly(lambda: index.upsert([new, changed]))
    promptly(lambda: index.delete([50]))

    assert not release.is_set() and index.vectors is old_vectors
    assert index.lexical_search("zeppelin", 5)[0][0] == 500
    assert index.dense_search("zeppelin airship hangar", 1)[0][0] == 500
    assert index.lexical_search("quinoa", 5)[0][0] == 60
    assert 50 not in {doc_id for doc_id, _ in index.dense_search(docs[49].text, 100)}
    release.set()
    assert index.wait_for_rebuild(STUCK)
    assert index.vectors is not old_vectors
    # The compaction dropped the 40 deletes; the replay left one tombstone each for 60 and 50.
    assert index.vectors.tombstones == 2
    final = [new, changed] + [doc for doc in docs[40:] if doc.id not in {50, 60}]
    assert_consistent(index, {doc.id for doc in final})
    assert answers(index) == fresh_answers(tmp_path / "fresh", final)


def test_updates_during_a_lexical_merge_are_searchable_at_once_and_survive_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Any
) -> None:
    started, release = gate
    docs = documents(130)
    index = settled(make_index(tmp_path / "live"), docs[:100])
    pause_merges(monkeypatch, gate)
    index.upsert(docs[100:])  # the delta passes a fifth of the base: a merge is due
    assert started.wait(STUCK)
    old_lexical = index.lexical
    new = IndexDocument(500, "zeppelin airship hangar", language="en")

    promptly(lambda: index.upsert([new]))
    promptly(lambda: index.delete([7, 110]))  # one in the base, one in the delta being merged

    assert not release.is_set() and index.lexical is old_lexical
    assert index.lexical_search("zeppelin", 5)[0][0] == 500
    assert {7, 110}.isdisjoint(doc_id for doc_id, _ in index.lexical_search("solar rice", 200))
    release.set()
    assert index.wait_for_rebuild(STUCK)
    assert index.lexical is not old_lexical
    # Merged, then the replay's upsert is the delta's one document and its deletes two masked ones.
    assert set(index.lexical._delta.slot_of) == {500} and index.lexical._deleted_count == 2
    assert index.vectors.tombstones == 2  # the vectors were not rebuilt: the live index's deletes
    final = [new] + [doc for doc in docs if doc.id not in {7, 110}]
    assert_consistent(index, {doc.id for doc in final})
    assert answers(index) == fresh_answers(tmp_path / "fresh", final)


def test_a_failed_rebuild_is_logged_leaves_the_index_working_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    docs = documents(120)
    index = settled(make_index(tmp_path / "live"), docs)
    real_compacted = VectorIndex.compacted

    def failing(self: VectorIndex, **options: Any) -> VectorIndex:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(VectorIndex, "compacted", failing)
    with caplog.at_level(logging.ERROR, logger="indexes.rebuild"):
        index.delete([doc.id for doc in docs[:40]])
        assert index.wait_for_rebuild(STUCK)
    assert "rebuild failed" in caplog.text and "out of memory" in caplog.text
    assert index.vectors.tombstones == 40 and not index.health()["rebuilding"]
    assert index._rebuilds._journal is None
    index.upsert([IndexDocument(500, "zeppelin airship hangar", language="en")])
    assert index.wait_for_rebuild(STUCK)
    assert index.lexical_search("zeppelin", 5)[0][0] == 500
    assert index.vectors.tombstones == 40  # it failed again, and the update went on regardless

    monkeypatch.setattr(VectorIndex, "compacted", real_compacted)
    index.delete([41])
    assert index.wait_for_rebuild(STUCK)
    assert index.vectors.tombstones == 0
    final = [doc for doc in docs[41:]] + [IndexDocument(500, "zeppelin airship hangar", language="en")]
    assert_consistent(index, {doc.id for doc in final})
    assert answers(index) == fresh_answers(tmp_path / "fresh", final)


def recording_replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real_replay = rebuild.replay

    def counting(entries: Sequence[Any], *parts: Any) -> None:
        sizes.append(len(entries))
        real_replay(entries, *parts)

    monkeypatch.setattr(rebuild, "replay", counting)
    return sizes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rebuild_interleaved_with_random_updates_ends_as_a_fresh_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    current = {doc.id: doc for doc in documents(150, seed=seed)}
    index = settled(make_index(tmp_path / "live"), list(current.values()))
    halfway = threading.Event()
    real_merged = LexicalIndex.merged

    def merged_after_some_updates(self: LexicalIndex) -> LexicalIndex:
        assert halfway.wait(STUCK)
        return real_merged(self)

    monkeypatch.setattr(vector, "COMPACT_CHUNK", 8)  # updates slip in between the chunks read
    monkeypatch.setattr(LexicalIndex, "merged", merged_after_some_updates)
    replayed = recording_replays(monkeypatch)
    compactor = threading.Thread(target=index.compact)
    compactor.start()
    next_id = 1000
    for step in range(80):
        if step == 40:
            halfway.set()
        if rng.random() < 0.4 and current:
            doomed = rng.sample(sorted(current), k=min(len(current), rng.randint(1, 3)))
            index.delete(doomed)
            for doc_id in doomed:
                del current[doc_id]
        else:
            doc_id = rng.choice(sorted(current)) if rng.random() < 0.5 else next_id
            next_id += doc_id == next_id
            doc = IndexDocument(doc_id, " ".join(rng.choices(WORDS, k=10)), language="en")
            index.upsert([doc])
            current[doc_id] = doc
    halfway.set()
    compactor.join(STUCK)
    assert not compactor.is_alive()
    assert index.wait_for_rebuild(STUCK)
    assert sum(replayed) > 0, "no update reached the journal: the test did not interleave"

    fresh = make_index(tmp_path / "fresh")
    fresh.upsert(list(current.values()))
    assert_consistent(index, set(current))
    assert index.vectors.ids() == fresh.vectors.ids()
    for query in QUERIES:
        got, want = index.lexical_search(query, 500), fresh.lexical_search(query, 500)
        assert [doc_id for doc_id, _ in got] == [doc_id for doc_id, _ in want]
        assert [score for _, score in got] == pytest.approx([score for _, score in want], rel=1e-9)
    assert answers(index) == answers(fresh)


def test_a_load_during_a_rebuild_abandons_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Any
) -> None:
    started, release = gate
    docs = documents(120)
    index = settled(make_index(tmp_path), docs)
    index.save()
    saved = answers(index)
    pause_merges(monkeypatch, gate)
    index.delete([doc.id for doc in docs[:40]])
    assert started.wait(STUCK)
    assert index.load()  # the saved generation replaces the live indexes the rebuild started from
    release.set()
    assert index.wait_for_rebuild(STUCK)
    assert_consistent(index, {doc.id for doc in docs})
    assert answers(index) == saved


def test_an_abandoned_rebuild_stops_at_its_next_chunk_and_swaps_nothing_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Any
) -> None:
    started, release = gate
    docs = documents(120)
    index = settled(make_index(tmp_path), docs)
    monkeypatch.setattr(vector, "COMPACT_CHUNK", 16)
    holds_entered = pause_before_hold(monkeypatch, gate, 3)
    index.delete([doc.id for doc in docs[:40]])
    assert started.wait(STUCK)
    before = answers(index)
    releaser = threading.Timer(0.2, release.set)
    releaser.start()
    index.abandon_rebuild()  # as IndexSync.close() does at shutdown
    assert index.wait_for_rebuild(STUCK)
    releaser.join()
    assert holds_entered == [2], "the compaction read on after it was abandoned"
    assert index.vectors.tombstones == 40 and index._rebuilds._journal is None
    assert answers(index) == before
    index.save()
    reloaded = make_index(tmp_path)
    assert reloaded.load() and answers(reloaded) == before


def test_upserts_wait_for_a_rebuild_whose_journal_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Any
) -> None:
    """A bulk import during a long rebuild is held back once the journal holds JOURNAL_MAX_DOCUMENTS,
    so it does not keep a second copy of everything it wrote; nothing it wrote is lost."""
    started, release = gate
    docs = documents(120)
    index = settled(make_index(tmp_path / "live"), docs)
    monkeypatch.setattr(rebuild, "JOURNAL_MAX_DOCUMENTS", 5)
    pause_before_hold(monkeypatch, gate, 1)
    index.delete([doc.id for doc in docs[:40]])  # compaction due; it pauses before reading anything
    assert started.wait(STUCK)
    first = [IndexDocument(1000 + i, f"ballast barge {i}", language="en") for i in range(6)]
    promptly(lambda: index.upsert(first))  # the journal was empty: applied at once, 6 journalled
    later = IndexDocument(2000, "kelp farm drone", language="en")
    blocked = threading.Thread(target=lambda: index.upsert([later]))
    blocked.start()
    blocked.join(0.5)
    assert blocked.is_alive() and 2000 not in index, "the upsert did not wait for the full journal"
    release.set()
    blocked.join(STUCK)
    assert not blocked.is_alive() and index.wait_for_rebuild(STUCK)
    final = [*first, later, *docs[40:]]
    assert_consistent(index, {doc.id for doc in final})
    assert answers(index) == fresh_answers(tmp_path / "fresh", final)
