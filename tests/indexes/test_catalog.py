"""One kind's pair of indexes: updated together, saved as one generation, refused when the model changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from core.settings import Settings
from indexes.catalog import ListingIndex
from indexes.catalog_files import FINGERPRINTS_JSON, LANGUAGES_JSON, LISTINGS_FILE
from indexes.documents import IndexDocument, listing_text
from indexes.encoder import FakeEncoder
from indexes.storage import current_generation
from indexes.text import analyze


def make_index(root: Path, dimension: int = 32) -> ListingIndex:
    return ListingIndex(
        kind="offers", root=root, encoder=FakeEncoder(dimension=dimension), settings=Settings(data_dir=root)
    )


DOCS = [
    IndexDocument(
        1, listing_text(title="Máy sấy lạnh nông sản", keywords=["sấy"], description="Sấy xoài ở 40 độ")
    ),
    IndexDocument(2, listing_text(title="Robot hàn", keywords=[], description="Robot hàn ống thép")),
    IndexDocument(
        3, listing_text(title="Water quality sensor", keywords=["sensor"], description="River monitoring")
    ),
]


def test_upsert_delete_and_both_retrievers_agree(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    index.upsert(DOCS)
    assert len(index) == 3
    assert index.lexical_search("may say", 5)[0][0] == 1  # diacritic-free query
    assert index.dense_search("water quality sensor", 1)[0][0] == 3
    index.delete([1])
    assert 1 not in index
    assert all(doc_id != 1 for doc_id, _ in index.lexical_search("sấy", 5))
    assert all(doc_id != 1 for doc_id, _ in index.dense_search("máy sấy lạnh nông sản", 5))


def test_stale_and_extra_find_changed_new_and_removed(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    index.upsert(DOCS)
    changed = IndexDocument(2, "Robot hàn laser")
    store = {1: DOCS[0].fingerprint, 2: changed.fingerprint, 4: IndexDocument(4, "new").fingerprint}
    assert index.stale(store) == {2, 4}
    assert index.extra(store.keys()) == {3}


def test_save_load_round_trip_and_model_change_is_refused(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    index.upsert(DOCS)
    index.save()
    assert current_generation(tmp_path / "offers") is not None
    reloaded = make_index(tmp_path)
    assert reloaded.load()
    assert reloaded.fingerprints == index.fingerprints
    assert reloaded.lexical_search("robot", 1)[0][0] == 2
    other_model = make_index(tmp_path, dimension=16)  # a different model name and dimension
    assert not other_model.load()
    assert len(other_model) == 0


def test_stored_vector_only_for_the_exact_indexed_text(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    index.upsert(DOCS)
    stored = index.stored_vector(DOCS[1])
    assert stored is not None
    assert index.dense_search("anything", 1, vector=stored)[0][0] == DOCS[1].id
    assert index.stored_vector(IndexDocument(DOCS[1].id, "edited text not yet indexed")) is None
    assert index.stored_vector(IndexDocument(999, DOCS[1].text)) is None


def test_compound_words_only_for_the_exact_indexed_text(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    document = IndexDocument(7, "Xử lý nước thải dệt nhuộm bằng vi sinh", language="vi")
    index.upsert([document])
    compounds = index.compound_words(document)
    assert compounds == {term for term in analyze(document.text) if "_" in term}
    assert {"nước_thải", "vi_sinh"} <= compounds
    assert index.compound_words(IndexDocument(7, "Xử lý nước thải", language="vi")) is None
    assert index.compound_words(IndexDocument(7, document.text, language="en")) is None
    # A text that does not look Vietnamese is never segmented, indexed or not.
    assert index.compound_words(IndexDocument(99, "Wastewater treatment by microbes")) == frozenset()


def test_language_centring_takes_the_language_offset_out_and_survives_a_reload(tmp_path: Path) -> None:
    index = make_index(tmp_path, dimension=4)
    # Vectors as a multilingual model lays them out: a shared language direction (axis 3) dominates.
    vectors = {
        1: [0.2, 0.0, 0.0, 0.98],  # Vietnamese, off topic
        2: [0.1, 0.1, 0.0, 0.99],  # Vietnamese, off topic
        3: [0.9, 0.0, 0.0, -0.44],  # English, on topic
        4: [0.0, 0.9, 0.0, -0.44],  # English, off topic
    }
    languages = {1: "vi", 2: "vi", 3: "en", 4: "en"}
    index.encoder.encode_passages = lambda texts, show_progress=False: np.array(  # type: ignore[method-assign]
        [vectors[int(text)] for text in texts], dtype=np.float32
    )
    index.upsert([IndexDocument(i, str(i), language=languages[i]) for i in vectors])
    query = np.array([0.6, 0.0, 0.0, 0.8], dtype=np.float32)  # a Vietnamese query about the topic
    raw = sorted(vectors, key=lambda i: -float(np.dot(query, vectors[i])))
    assert raw[0] in (1, 2)  # by plain cosine a Vietnamese listing wins on language alone
    assert index.dense_search("q", 4, vector=query)[0][0] == 3
    assert index.language_of([1, 3, 99]) == {1: "vi", 3: "en"}
    assert index.query_language("q", vector=query) == "vi"

    index.save()
    reloaded = make_index(tmp_path, dimension=4)
    assert reloaded.load()
    assert reloaded.dense_search("q", 4, vector=query) == index.dense_search("q", 4, vector=query)
    index.delete([3])
    assert index.dense_search("q", 4, vector=query)[0][0] != 3


def test_a_generation_saved_with_json_fingerprints_loads_and_is_resaved_in_arrays(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    docs = [*DOCS, IndexDocument(4, "Hệ thống tưới", language="vi")]
    index.upsert(docs)
    generation = index.save()
    # The files as the index saved them before LISTINGS_FILE: id -> the hash's first 16 hex digits.
    (generation / LISTINGS_FILE).unlink()
    hex_of = {doc.id: f"{doc.fingerprint & (2**64 - 1):016x}" for doc in docs}
    assert hex_of[4] == hashlib.sha256("vi\x00Hệ thống tưới".encode()).hexdigest()[:16]
    (generation / FINGERPRINTS_JSON).write_text(json.dumps(hex_of))
    (generation / LANGUAGES_JSON).write_text(json.dumps({1: "vi", 2: "vi", 3: "en", 4: "vi"}))

    reloaded = make_index(tmp_path)
    assert reloaded.load()
    assert reloaded.fingerprints == {doc.id: doc.fingerprint for doc in docs}
    assert reloaded.stale({doc.id: doc.fingerprint for doc in docs}) == set()
    assert reloaded.language_of([1, 3, 4]) == {1: "vi", 3: "en", 4: "vi"}
    assert (reloaded.save() / LISTINGS_FILE).exists()
    again = make_index(tmp_path)
    assert again.load() and again.fingerprints == reloaded.fingerprints
    assert again.language_of([1, 2, 3, 4]) == {1: "vi", 2: "vi", 3: "en", 4: "vi"}


def test_declared_language_wins_over_the_letters(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    unaccented = IndexDocument(7, "He thong tuoi nho giot cho sau rieng", language="vi")
    index.upsert([unaccented, IndexDocument(8, "Drip irrigation for durian")])
    assert index.language_of([7, 8]) == {7: "vi", 8: "en"}
    assert IndexDocument(7, unaccented.text).fingerprint != unaccented.fingerprint


def test_stop_words_are_counted_within_their_language(tmp_path: Path) -> None:
    index = make_index(tmp_path)
    english = [IndexDocument(i, f"Robot number {i} and its controller", language="en") for i in range(8)]
    english += [IndexDocument(8, "A salinity sensor for shrimp ponds", language="en")]
    vietnamese = [
        IndexDocument(100 + i, f"Máy sấy nông sản số {i} cho hợp tác xã", language="vi") for i in range(41)
    ]
    index.upsert(english + vietnamese)
    # "its" is in 8 of 50 listings (16 %, under the 20 % line) but in 8 of the 9 English ones.
    assert index.lexical.document_share("its") < 0.2
    assert index.informative(["its", "salinity sensor", "m", "its"]) == {"salinity sensor"}
    # Answers are kept, yet follow the catalogue: once most English listings speak of salinity, the word
    # no longer tells one from another.
    assert index.informative(["salinity"]) == {"salinity"}
    index.upsert([IndexDocument(200 + i, f"Salinity probe {i}", language="en") for i in range(20)])
    assert index.informative(["salinity"]) == set()


def test_a_saved_hnsw_index_is_shared_by_the_processes_that_load_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, exact_search_max=20)
    documents = [
        IndexDocument(i, listing_text(title=f"Công nghệ {i}", keywords=[], description=f"mô tả số {i}"))
        for i in range(1, 41)
    ]

    def fresh() -> ListingIndex:
        return ListingIndex(
            kind="offers", root=tmp_path, encoder=FakeEncoder(dimension=32), settings=settings
        )

    leader = fresh()
    leader.upsert(documents)
    leader.wait_for_rebuild()
    assert leader.vectors.kind == "hnsw"
    leader.save()
    follower = fresh()
    assert follower.load()
    # Both map the one file the leader wrote: a node holds the graph and vectors once.
    assert leader.vectors.mapped and follower.vectors.mapped
    text = listing_text(title="Robot hàn", keywords=[], description="ống thép")
    follower.upsert([IndexDocument(99, text)])
    assert follower.dense_search(text, 1)[0][0] == 99
    assert follower.vectors.mapped  # the new vector sits beside the mapped base
