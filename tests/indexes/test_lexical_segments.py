"""The segmented LexicalIndex (mapped base + delta + deletions) scores like one plain BM25 index (to
float32 precision, which the index scores in) through any sequence of upserts, deletes, saves, loads
and merges."""

import itertools
import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pytest

from core.id_array import IdArray
from indexes.errors import IndexMismatchError, IndexStoreError
from indexes.lexical import LexicalIndex
from indexes.text import DEFAULT_ANALYZER

WORDS = [
    *[
        "solar",
        "panel",
        "robot",
        "arm",
        "water",
        "membrane",
        "filter",
        "sensor",
        "battery",
        "laser",
        "rice",
        "shrimp",
    ],
    *["nước", "màng", "lọc", "cảm", "biến", "pin", "tôm", "lúa"],
    "năng lượng mặt trời",
    "xử lý nước thải",
]


class ReferenceBM25:
    """Textbook BM25 over a dict of documents, as the index scored before it had segments."""

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs: dict[int, Counter[str]] = {}

    def upsert(self, ids: list[int], texts: list[str]) -> None:
        for doc_id, text in zip(ids, texts, strict=True):
            self.docs[doc_id] = Counter(DEFAULT_ANALYZER.analyze(text))

    def delete(self, ids: list[int]) -> None:
        for doc_id in ids:
            self.docs.pop(doc_id, None)

    def search(self, query: str, k: int, allowed: Collection[int] | None) -> list[tuple[int, float]]:
        if not self.docs or k <= 0:
            return []
        n = len(self.docs)
        average = sum(sum(c.values()) for c in self.docs.values()) / n
        scores: dict[int, float] = defaultdict(float)
        for term in DEFAULT_ANALYZER.analyze_query(query):
            holders = [(doc_id, c[term]) for doc_id, c in self.docs.items() if term in c]
            if not holders:
                continue
            idf = math.log(1 + (n - len(holders) + 0.5) / (len(holders) + 0.5))
            for doc_id, tf in holders:
                length = sum(self.docs[doc_id].values())
                scores[doc_id] += idf * tf / (tf + self.k1 * (1 - self.b + self.b * length / average))
        hits = [(d, s) for d, s in scores.items() if s > 0 and (allowed is None or d in allowed)]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))[:k]

    def document_share(self, text: str) -> float:
        terms = DEFAULT_ANALYZER.analyze(text)
        if not terms or not self.docs:
            return 1.0
        return min(sum(term in c for c in self.docs.values()) for term in terms) / len(self.docs)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))


def _assert_same(index: LexicalIndex, reference: ReferenceBM25, rng: random.Random) -> None:
    assert index.ids() == set(reference.docs) and len(index) == len(reference.docs)
    for doc_id in rng.sample(range(60), 5):
        assert (doc_id in index) == (doc_id in reference.docs)
    for _ in range(4):
        query, k = _text(rng), rng.randint(1, 12)
        allowed = set(rng.sample(range(60), 25)) if rng.random() < 0.3 else None
        # Any collection of ids: a set, a search scope's IdArray, a list (the delta is looked up both ways).
        given = allowed if allowed is None else (set, IdArray, sorted)[k % 3](allowed)
        got, expected = index.search(query, k, allowed_ids=given), reference.search(query, k, allowed)
        assert [i for i, _ in got] == [i for i, _ in expected], query
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-6, abs=1e-9)
        assert index.document_share(query) == pytest.approx(reference.document_share(query), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_random_updates_saves_loads_and_merges_score_like_plain_bm25(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    index, reference = LexicalIndex(), ReferenceBM25()
    for step in range(60):
        action = rng.choices(["upsert", "delete", "save", "merge"], weights=[5, 2, 1, 1])[0]
        if action == "upsert":
            ids = rng.sample(range(60), rng.randint(1, 6))
            texts = [_text(rng) for _ in ids]
            index.upsert(ids, texts)
            reference.upsert(ids, texts)
        elif action == "delete":
            ids = rng.sample(range(60), rng.randint(1, 6))
            index.delete(ids)
            reference.delete(ids)
        elif action == "save":
            # Sibling directories, as generations are, so an unchanged base is hard-linked.
            index.save(tmp_path / f"gen-{step}")
            index = LexicalIndex.load(tmp_path / f"gen-{step}", expected_ids=set(reference.docs))
        else:
            index = index.merged()
            assert index.delta_share == 0
        _assert_same(index, reference, rng)


def _mapped(array: np.ndarray) -> bool:
    """Whether `array` reads a memory-mapped file (the base holds plain views of np.memmap objects)."""
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def test_load_maps_the_base_and_a_save_links_an_unchanged_base(tmp_path: Path) -> None:
    index = LexicalIndex()
    index.upsert(list(range(20)), [f"robot arm model {i}" for i in range(20)])
    index = index.merged()
    index.save(tmp_path / "gen-1")
    # The copy the merge built in memory was replaced by the mapped files.
    assert _mapped(index._base.post_slots)
    loaded = LexicalIndex.load(tmp_path / "gen-1")
    for name in ("ids", "lengths", "vocab_bytes", "term_offsets", "post_slots", "post_tfs", "doc_terms"):
        assert _mapped(getattr(loaded._base, name)), name
    loaded.delete([3])
    loaded.upsert([30], ["solar robot"])
    # A crashed save's leftovers are never linked.
    (tmp_path / ".tmp-crashed").mkdir()
    for path in (tmp_path / "gen-1").glob("lexical-base-*.npy"):
        (tmp_path / ".tmp-crashed" / path.name).write_bytes(b"half")
    loaded.save(tmp_path / "gen-2")
    base_files = sorted((tmp_path / "gen-2").glob("lexical-base-*.npy"))
    assert len(base_files) == len(list((tmp_path / "gen-1").glob("lexical-base-*.npy"))) >= 10
    assert all(path.stat().st_ino == (tmp_path / "gen-1" / path.name).stat().st_ino for path in base_files)
    again = LexicalIndex.load(tmp_path / "gen-2", expected_ids=set(range(20)) - {3} | {30})
    assert again.search("robot solar", 5) == loaded.search("robot solar", 5)
    assert again.delta_share == pytest.approx(2 / 20)


def test_merge_after_deletes_drops_unused_terms_and_round_trips(tmp_path: Path) -> None:
    index = LexicalIndex()
    index.upsert([1, 2, 3], ["laser welding", "xử lý nước thải", "laser cutting"])
    index = index.merged()
    index.delete([2])
    index.upsert([1], ["membrane filter"])
    merged = index.merged()
    assert merged._base.term_index("nước") is None and merged._base.term_index("membran") is not None
    merged.save(tmp_path / "gen-1")
    loaded = LexicalIndex.load(tmp_path / "gen-1", expected_ids={1, 3})
    assert loaded.search("laser membrane nước", 5) == index.search("laser membrane nước", 5)
    assert [doc_id for doc_id, _ in loaded.search("laser membrane", 5)] == [1, 3]


def test_load_refuses_mismatches_and_the_former_format(tmp_path: Path) -> None:
    index = LexicalIndex()
    index.upsert([1, 2], ["laser welding", "solar panel"])
    index = index.merged()
    index.delete([2])
    index.save(tmp_path)
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path, expected_ids={1, 2})
    meta = json.loads((tmp_path / "lexical_meta.json").read_text())
    (tmp_path / "lexical_meta.json").write_text(json.dumps({**meta, "count": 2}))
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path)
    (tmp_path / "lexical_meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "format"}))
    with pytest.raises(IndexStoreError):
        LexicalIndex.load(tmp_path)


def test_a_document_scores_the_same_in_the_base_and_in_the_delta() -> None:
    texts = [
        "solar membrane water filter",
        "solar drying of coffee",
        "membrane bioreactor water",
        "lọc nước màng sinh học",
    ]
    index = LexicalIndex()
    index.upsert([1, 2, 3, 4], texts)
    index = index.merged()
    # The same texts again under higher ids: these live in the delta, their twins in the base.
    index.upsert([11, 12, 13, 14], texts)
    for query in ["solar water membrane", "nuoc mang", "coffee drying solar solar"]:
        hits = dict(index.search(query, 8))
        assert hits, query
        for doc_id, score in hits.items():
            twin = doc_id + 10 if doc_id < 10 else doc_id - 10
            assert hits[twin] == score, (query, doc_id)
        ranked = index.search(query, 8)
        for (first, high), (second, low) in itertools.pairwise(ranked):
            assert high > low or (high == low and first < second), query


def test_term_positions_are_found_once_and_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    index = LexicalIndex()
    index.upsert([1, 2], ["solar water", "coffee drying"])
    base = index.merged()._base
    vocabulary = [term.decode() for term in base.vocabulary()]
    lookups: list[str] = []
    find = type(base)._find_term
    monkeypatch.setattr(type(base), "_find_term", lambda self, term: lookups.append(term) or find(self, term))
    for _ in range(3):
        assert [base.term_index(term) for term in vocabulary] == list(range(len(vocabulary)))
        assert base.term_index("absent") is None
    assert sorted(lookups) == sorted([*vocabulary, "absent"])
    monkeypatch.setattr("indexes.lexical_segment.TERM_CACHE_SIZE", 1)
    fresh = index.merged()._base
    lookups.clear()
    for _ in range(2):
        assert (
            fresh.term_index("solar") == vocabulary.index("solar") and fresh.term_index("water") is not None
        )
    # Past the bound, answers are still right but no longer kept.
    assert lookups == ["solar", "water", "water"]
