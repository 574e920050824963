"""LexicalIndex scores like textbook BM25, updates in place and refuses foreign saved files."""

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from indexes.errors import IndexMismatchError
from indexes.lexical import LexicalIndex
from indexes.text import Analyzer, analyze

CORPUS = {
    10: "solar panel cleaning robot",
    20: "robot arm for welding robot parts",
    30: "water purification membrane",
    40: "công nghệ lọc nước bằng màng",
    50: "solar water heater",
}


def _bm25(query: str, corpus: dict[int, str], k1: float = 1.5, b: float = 0.75) -> dict[int, float]:
    docs = {doc_id: Counter(analyze(text)) for doc_id, text in corpus.items()}
    avgdl = sum(sum(c.values()) for c in docs.values()) / len(docs)
    scores = dict.fromkeys(docs, 0.0)
    for term in analyze(query):
        df = sum(term in c for c in docs.values())
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for doc_id, counts in docs.items():
            tf, length = counts[term], sum(counts.values())
            scores[doc_id] += idf * tf / (tf + k1 * (1 - b + b * length / avgdl))
    return {doc_id: s for doc_id, s in scores.items() if s > 0}


def _index(corpus: dict[int, str] = CORPUS) -> LexicalIndex:
    index = LexicalIndex()
    index.upsert(list(corpus), list(corpus.values()))
    return index


@pytest.mark.parametrize(
    "query", ["solar robot", "water", "nuoc mang", "robots welding", "robot solar robot robot"]
)
def test_scores_equal_direct_bm25(query: str) -> None:
    expected = _bm25(query, CORPUS)
    results = _index().search(query, k=10)
    assert dict(results) == pytest.approx(expected)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


@pytest.mark.parametrize("max_terms", [1, 2, 3])
def test_max_terms_scores_the_heaviest_terms_only(max_terms: int) -> None:
    query = "robot robot solar water membrane welding"
    terms = Counter(analyze(query))
    docs = [Counter(analyze(text)) for text in CORPUS.values()]

    def weight(term: str) -> float:
        df = sum(term in counts for counts in docs)
        return terms[term] * math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))

    heaviest = sorted(terms, key=lambda term: (-weight(term), term))[:max_terms]
    kept = " ".join(term for term in heaviest for _ in range(terms[term]))
    results = _index().search(query, k=10, max_terms=max_terms)
    assert dict(results) == pytest.approx(_bm25(kept, CORPUS))
    assert _index().search(query, k=10, max_terms=len(terms)) == _index().search(query, k=10)


def test_incremental_updates_equal_a_fresh_build() -> None:
    index = _index()
    index.upsert([20, 60], ["laser cutting of solar cells", "robot vacuum"])
    index.delete([30, 999])
    final = {
        **{k: v for k, v in CORPUS.items() if k != 30},
        20: "laser cutting of solar cells",
        60: "robot vacuum",
    }
    fresh = _index(final)
    for query in ["solar robot", "laser", "water", "màng lọc"]:
        updated, rebuilt = index.search(query, 10), fresh.search(query, 10)
        assert [i for i, _ in updated] == [i for i, _ in rebuilt]
        assert [s for _, s in updated] == pytest.approx([s for _, s in rebuilt])
    assert index.ids() == set(final) and len(index) == 5 and 60 in index and 30 not in index


def test_allowed_ids_filter_inside_search_keeps_the_page_full() -> None:
    corpus = {i: f"robot model {i}" + (" robot robot" if i < 50 else "") for i in range(100)}
    index = _index(corpus)
    allowed = set(range(50, 100))
    page = index.search("robot", 10, allowed_ids=allowed)
    assert len(page) == 10 and {doc_id for doc_id, _ in page} <= allowed


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = _index()
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, expected_ids=set(CORPUS))
    assert loaded.search("solar water", 5) == index.search("solar water", 5)
    meta = json.loads((tmp_path / "lexical_meta.json").read_text())
    assert meta["count"] == len(CORPUS) and meta["analyzer_version"] == Analyzer().version


def test_load_refuses_other_analyzer_or_ids(tmp_path: Path) -> None:
    _index().save(tmp_path)
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path, analyzer=Analyzer(stem_english=False))
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path, expected_ids={10, 20})
    meta = json.loads((tmp_path / "lexical_meta.json").read_text())
    (tmp_path / "lexical_meta.json").write_text(json.dumps({**meta, "ids_sha256": "0" * 64}))
    with pytest.raises(IndexMismatchError):
        LexicalIndex.load(tmp_path)


def test_compound_words_are_read_from_the_delta_the_merged_base_and_a_reload(tmp_path: Path) -> None:
    text = "Máy bay không người lái phun thuốc cho nông dân"
    index = _index({**CORPUS, 70: text})
    expected = frozenset(term for term in analyze(text) if "_" in term)
    assert {"máy_bay", "may_bay", "nông_dân", "nong_dan"} <= expected
    assert index.compound_words(70) == expected
    assert index.compound_words(10) == frozenset()  # English: pyvi never ran
    merged = index.merged()
    assert merged.compound_words(70) == expected
    merged.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded.compound_words(70) == expected
    assert loaded.compound_words(40) == frozenset(term for term in analyze(CORPUS[40]) if "_" in term)
    loaded.delete([70])
    assert loaded.compound_words(70) is None and loaded.compound_words(999) is None
    loaded.upsert([40], ["hệ thống tưới nhỏ giọt"])
    assert loaded.compound_words(40) == frozenset(
        term for term in analyze("hệ thống tưới nhỏ giọt") if "_" in term
    )
