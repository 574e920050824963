"""VectorIndex: exact and HNSW search, upsert/delete semantics, filtering and persistence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from core.id_array import IdArray
from indexes.errors import IndexMismatchError, IndexStoreError
from indexes.vector import VectorIndex
from indexes.vector_files import META_FILE

DIMENSION = 16


def unit_rows(count: int, *, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def make_index(*, exact_search_max: int = 1000) -> VectorIndex:
    return VectorIndex(
        dimension=DIMENSION,
        model_name="fake-hash-16",
        exact_search_max=exact_search_max,
        hnsw_m=16,
        hnsw_ef_construction=64,
        hnsw_ef_search=64,
    )


def filled_index(count: int, *, exact_search_max: int = 1000) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    index = make_index(exact_search_max=exact_search_max)
    ids = np.arange(1000, 1000 + count, dtype=np.int64)
    vectors = unit_rows(count, seed=1)
    index.upsert(ids, vectors)
    if index.needs_compaction:  # past exact_search_max: the HNSW index its owner would build
        index = index.compacted()
    return index, ids, vectors


def test_exact_search_matches_numpy() -> None:
    index, ids, vectors = filled_index(300)
    queries = unit_rows(5, seed=2)

    results = index.search(queries, 10)

    for query, hits in zip(queries, results, strict=True):
        scores = vectors @ query
        expected = ids[np.argsort(-scores)[:10]]
        assert [db_id for db_id, _ in hits] == expected.tolist()
        assert [score for _, score in hits] == pytest.approx(np.sort(scores)[::-1][:10].tolist(), abs=1e-5)
    assert index.kind == "flat"


def test_upsert_replaces_the_vector_of_an_existing_id() -> None:
    index, ids, vectors = filled_index(50)
    target = int(ids[7])
    new_vector = -vectors[7]

    index.upsert(np.array([target]), new_vector[None, :])

    assert len(index) == 50
    assert index.search(new_vector[None, :], 1)[0][0] == (target, pytest.approx(1.0, abs=1e-5))
    # The old vector must not surface the id again (its old label is a tombstone).
    old_hits = index.search(vectors[7][None, :], 50)[0]
    assert [db_id for db_id, _ in old_hits].count(target) == 1
    assert dict(old_hits)[target] == pytest.approx(-1.0, abs=1e-5)


def test_deleted_ids_are_never_returned() -> None:
    index, ids, vectors = filled_index(100)
    deleted = {int(db_id) for db_id in ids[:30]}

    index.delete(np.array(sorted(deleted)))

    assert len(index) == 70
    assert deleted.isdisjoint(index.ids())
    assert int(ids[0]) not in index
    for hits in index.search(vectors[:30], 100):
        assert len(hits) == 70
        assert deleted.isdisjoint(db_id for db_id, _ in hits)


def test_allowed_ids_filter_inside_the_search_returns_a_full_page() -> None:
    index, ids, vectors = filled_index(500)
    allowed = {int(db_id) for db_id in ids[::25]}  # 20 ids, mostly far from the query

    hits = index.search(vectors[1][None, :], 10, allowed_ids=allowed)[0]

    assert len(hits) == 10
    assert {db_id for db_id, _ in hits} <= allowed
    allowed_rows = np.flatnonzero(np.isin(ids, list(allowed)))
    expected = ids[allowed_rows[np.argsort(-(vectors[allowed_rows] @ vectors[1]))[:10]]]
    assert [db_id for db_id, _ in hits] == expected.tolist()


@pytest.mark.parametrize("exact_search_max", [1000, 100])
def test_an_id_array_selects_what_the_same_ids_as_a_set_select(exact_search_max: int) -> None:
    """Many ids as an IdArray are matched against every label at once (replaced and deleted ids too)."""
    index, ids, vectors = filled_index(600, exact_search_max=exact_search_max)
    rng = np.random.default_rng(7)
    index.upsert(ids[:50], unit_rows(50, seed=9))  # their old labels are tombstones now
    index.delete(ids[50:80].tolist())
    for size in (3, 80, 400, 600):
        allowed = rng.choice(np.concatenate([ids, [5, 10**6]]), size=size, replace=False)
        live = set(allowed.tolist()) - set(ids[50:80].tolist()) - {5, 10**6}
        for query, k in zip(vectors[:3], (10, 10, len(live)), strict=True):
            given = index.search(query[None, :], k, allowed_ids=IdArray(allowed))[0]
            expected = index.search(query[None, :], k, allowed_ids=set(allowed.tolist()))[0]
            assert [db_id for db_id, _ in given] == [db_id for db_id, _ in expected]
            # The labels come in another order, so a subset's scores may differ in the last float bit.
            assert [s for _, s in given] == pytest.approx([s for _, s in expected], abs=1e-6)
            assert len(given) == min(k, len(live)) and {db_id for db_id, _ in given} <= live


def test_switches_to_hnsw_past_the_threshold_and_stays_accurate() -> None:
    index, ids, vectors = filled_index(600, exact_search_max=200)
    assert index.kind == "hnsw"
    assert len(index) == 600

    queries = vectors[:50] + 0.05 * unit_rows(50, seed=3)
    results = index.search(queries, 10)

    recall = np.mean(
        [
            len({db_id for db_id, _ in hits} & set(ids[np.argsort(-(vectors @ query))[:10]].tolist())) / 10
            for query, hits in zip(queries, results, strict=True)
        ]
    )
    assert recall >= 0.95


@pytest.mark.parametrize("allowed_count", [5, 5000])
def test_hnsw_filtered_search_is_full_and_exact_for_selective_filters(allowed_count: int) -> None:
    index, ids, vectors = filled_index(6000, exact_search_max=100)
    allowed = set(np.random.default_rng(4).choice(ids, size=allowed_count, replace=False).tolist())

    hits = index.search(vectors[0][None, :], 10, allowed_ids=allowed)[0]

    assert len(hits) == min(10, allowed_count)
    assert {db_id for db_id, _ in hits} <= allowed


def test_hnsw_tombstones_are_hidden_then_compacted() -> None:
    index, ids, vectors = filled_index(400, exact_search_max=100)
    index.delete(ids[:50].tolist())
    index.upsert(ids[50:60], unit_rows(10, seed=5))
    assert index.tombstones == 60
    assert index.kind == "hnsw"

    for hits in index.search(vectors[:50], 10):
        assert len(hits) == 10
        assert not {db_id for db_id, _ in hits} & set(ids[:50].tolist())

    assert not index.needs_compaction
    index.delete(ids[60:110].tolist())  # 110 tombstones of 410 labels: past the compaction fraction
    assert index.needs_compaction
    assert index.tombstones == 110, "updates never compact inline"
    index = index.compacted()
    assert index.tombstones == 0
    assert not index.needs_compaction
    assert len(index) == 300
    assert index.ids() == set(ids[50:60].tolist()) | set(ids[110:].tolist())
    assert index.search(vectors[200][None, :], 1)[0][0][0] == int(ids[200])


def test_compacted_is_a_new_index_and_the_old_one_stays_as_it_was() -> None:
    index, ids, vectors = filled_index(300, exact_search_max=100)
    index.delete(ids[:100].tolist())
    before = index.search(vectors[150:160], 5)

    compacted = index.compacted()

    assert (index.tombstones, compacted.tombstones) == (100, 0)
    assert index.search(vectors[150:160], 5) == before
    assert compacted.ids() == index.ids() == set(ids[100:].tolist())
    assert [hits[0][0] for hits in compacted.search(vectors[150:160], 5)] == ids[150:160].tolist()


def test_compacting_below_the_threshold_returns_to_exact_search() -> None:
    index, ids, _ = filled_index(150, exact_search_max=100)
    index.delete(ids[:100].tolist())
    assert index.kind == "hnsw"
    index.compact()
    assert index.kind == "flat"
    assert len(index) == 50


@pytest.mark.parametrize("exact_search_max", [1000, 100])
def test_save_load_round_trip(tmp_path: Path, exact_search_max: int) -> None:
    index, ids, vectors = filled_index(300, exact_search_max=exact_search_max)
    index.delete(ids[:10].tolist())
    queries = unit_rows(4, seed=6)
    before = index.search(queries, 10)

    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, expected_model="fake-hash-16", expected_dimension=DIMENSION)

    assert loaded.kind == index.kind
    assert loaded.ids() == index.ids()
    assert loaded.search(queries, 10) == before
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["count"] == 290
    assert meta["normalised"] is True
    loaded.delete([int(ids[20])])
    assert int(ids[20]) not in {db_id for db_id, _ in loaded.search(vectors[20][None, :], 5)[0]}


def test_load_refuses_another_model_or_dimension(tmp_path: Path) -> None:
    index, _, _ = filled_index(20)
    index.save(tmp_path)

    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_model="all-MiniLM-L6-v2")
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_model="fake-hash-16", expected_dimension=384)


def test_load_detects_a_checksum_mismatch(tmp_path: Path) -> None:
    index, _, _ = filled_index(20)
    index.save(tmp_path)
    meta_path = tmp_path / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["ids_sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))

    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_model="fake-hash-16")


def test_load_detects_tampered_labels(tmp_path: Path) -> None:
    index, _, _ = filled_index(20)
    index.save(tmp_path)
    labels = np.load(tmp_path / "vector_labels.npy")
    labels[3] = 999_999
    np.save(tmp_path / "vector_labels.npy", labels)

    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_model="fake-hash-16")


def test_empty_index_and_rejected_shapes() -> None:
    index = make_index()
    assert index.search(unit_rows(2, seed=7), 5) == [[], []]
    with pytest.raises(ValueError):
        index.upsert(np.array([1, 2]), unit_rows(3, seed=8))
    with pytest.raises(ValueError):
        index.upsert(np.array([1]), np.ones((1, DIMENSION + 1), dtype=np.float32))


def test_repeated_id_in_one_upsert_keeps_the_last_vector() -> None:
    index = make_index()
    rows = unit_rows(2, seed=9)
    index.upsert(np.array([5, 5]), rows)
    assert len(index) == 1
    assert index.search(rows[1][None, :], 1)[0][0] == (5, pytest.approx(1.0, abs=1e-5))


def test_load_of_a_missing_or_incomplete_index_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError):
        VectorIndex.load(tmp_path, expected_model="fake-hash-16")
    index, _, _ = filled_index(20)
    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    del meta["ids_sha256"]
    (tmp_path / META_FILE).write_text(json.dumps(meta))

    with pytest.raises(IndexStoreError):
        VectorIndex.load(tmp_path, expected_model="fake-hash-16")


def brute_force(vectors: dict[int, np.ndarray], query: np.ndarray, k: int) -> list[int]:
    """The `k` ids whose vectors are closest to `query`, by an exact scan."""
    ids = sorted(vectors)
    scores = np.array([vectors[i] @ query for i in ids])
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def test_a_saved_hnsw_index_is_mapped_and_searches_new_vectors_beside_its_base(tmp_path: Path) -> None:
    index, ids, vectors = filled_index(300, exact_search_max=100)
    assert index.kind == "hnsw" and not index.mapped

    index.save(tmp_path / "gen-1")
    assert index.mapped  # the copy built in memory was given back for the mapped file
    loaded = VectorIndex.load(tmp_path / "gen-1", expected_model="fake-hash-16")
    assert loaded.mapped
    live = {int(i): v for i, v in zip(ids, vectors, strict=True)}
    new_ids = np.arange(5000, 5020, dtype=np.int64)
    new_vectors = unit_rows(20, seed=9)
    replaced = unit_rows(1, seed=10)
    # Adds, an update of a base vector and a delete: none may touch the mapped file.
    loaded.upsert(new_ids, new_vectors)
    loaded.upsert(ids[:1], replaced)
    loaded.delete([int(ids[1])])
    live.update({int(i): v for i, v in zip(new_ids, new_vectors, strict=True)})
    live[int(ids[0])] = replaced[0]
    del live[int(ids[1])]

    assert len(loaded) == len(live)
    for query in [*new_vectors[:5], replaced[0], *unit_rows(5, seed=11)]:
        assert [db_id for db_id, _ in loaded.search(query[None, :], 10)[0]] == brute_force(live, query, 10)
    assert np.allclose(loaded.vector(5003), new_vectors[3])
    assert np.allclose(loaded.vector(int(ids[0])), replaced[0])
    assert loaded.vector(int(ids[1])) is None


@pytest.mark.parametrize("subset_max", [4096, 0])
def test_a_filter_selects_among_base_and_recent_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subset_max: int
) -> None:
    # 4096: the allowed vectors are scored directly; 0: through the graph with a selector.
    monkeypatch.setattr("indexes.vector.EXACT_SUBSET_MAX", subset_max)
    index, ids, vectors = filled_index(300, exact_search_max=100)
    index.save(tmp_path)
    new_ids = np.arange(5000, 5030, dtype=np.int64)
    new_vectors = unit_rows(30, seed=12)
    index.upsert(new_ids, new_vectors)
    allowed = {int(i) for i in ids[::3]} | {int(i) for i in new_ids[::2]}
    live = {int(i): v for i, v in zip(ids, vectors, strict=True)}
    live.update({int(i): v for i, v in zip(new_ids, new_vectors, strict=True)})

    for query in [new_vectors[4], vectors[9], *unit_rows(3, seed=13)]:
        found = [db_id for db_id, _ in index.search(query[None, :], 8, allowed_ids=allowed)[0]]
        assert found == brute_force({i: live[i] for i in allowed}, query, 8)


def test_saves_link_a_mapped_base_and_keep_the_recent_vectors(tmp_path: Path) -> None:
    index, _, _ = filled_index(300, exact_search_max=100)
    index.save(tmp_path / "gen-1")
    index.upsert(np.array([7000, 7001]), unit_rows(2, seed=14))
    index.save(tmp_path / "gen-2")

    bases = [next((tmp_path / name).glob("vectors-*.faiss")) for name in ("gen-1", "gen-2")]
    assert bases[0].name == bases[1].name
    assert bases[0].stat().st_ino == bases[1].stat().st_ino  # one file: the base is never rewritten
    loaded = VectorIndex.load(tmp_path / "gen-2", expected_model="fake-hash-16")
    assert loaded.ids() == index.ids()
    assert loaded.search(unit_rows(1, seed=14), 1)[0][0][0] == 7000


def test_recent_vectors_past_exact_search_max_are_added_to_a_copy_of_the_base(tmp_path: Path) -> None:
    index, ids, _ = filled_index(300, exact_search_max=100)
    index.save(tmp_path / "gen-1")
    index.delete(ids[:5].tolist())
    index.upsert(np.arange(8000, 8100), unit_rows(100, seed=15))
    assert not index.needs_compaction
    index.upsert(np.array([8100]), unit_rows(1, seed=16))
    assert index.needs_compaction
    queries = unit_rows(5, seed=17)
    before = index.search(queries, 10)
    shutil.rmtree(tmp_path / "gen-1")  # a later save removed the generation: the open file remains

    copied = index.compacted()

    # Read into memory with the recent vectors in its graph; few tombstones: they stay, as labels do.
    assert not copied.mapped and not copied.needs_compaction
    assert copied.tombstones == 5 and copied.ids() == index.ids()
    after = copied.search(queries, 10)
    assert [[i for i, _ in row] for row in after] == [[i for i, _ in row] for row in before]
    assert np.allclose([[s for _, s in row] for row in after], [[s for _, s in row] for row in before])
    copied.upsert(np.array([8200]), unit_rows(1, seed=18))  # in memory: to the graph itself
    assert copied.search(unit_rows(1, seed=18), 1)[0][0][0] == 8200
    copied.save(tmp_path / "gen-2")
    assert copied.mapped


def test_a_mapped_base_with_many_tombstones_is_rebuilt_without_them(tmp_path: Path) -> None:
    index, ids, _ = filled_index(300, exact_search_max=100)
    index.save(tmp_path)
    index.delete(ids[:100].tolist())
    index.upsert(np.arange(8000, 8010), unit_rows(10, seed=19))
    assert index.needs_compaction

    rebuilt = index.compacted()

    assert rebuilt.tombstones == 0 and not rebuilt.mapped and rebuilt.ids() == index.ids()
    queries = unit_rows(5, seed=20)
    assert [[i for i, _ in row] for row in rebuilt.search(queries, 10)] == [
        [i for i, _ in row] for row in index.search(queries, 10)
    ]


def test_an_index_saved_in_format_1_still_loads(tmp_path: Path) -> None:
    index, _, _ = filled_index(300, exact_search_max=100)
    index.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    faiss.write_index(index._index, str(tmp_path / "vectors.faiss"))
    for path in tmp_path.glob("vectors-*.faiss"):
        path.unlink()
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "format_version": 1}))

    loaded = VectorIndex.load(tmp_path, expected_model="fake-hash-16")

    assert loaded.ids() == index.ids() and not loaded.mapped
    loaded.upsert(np.array([9000]), unit_rows(1, seed=18))  # in memory: added to the graph itself
    assert loaded.search(unit_rows(1, seed=18), 1)[0][0][0] == 9000
