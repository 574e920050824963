"""Properties of the fusions: bounded scores, one-sided input, a noisy dense list cannot win."""

import random

import pytest

from matcher.fusion import AdaptiveFusion, reciprocal_rank_fusion

BM25 = [(1, 12.0), (2, 9.0), (3, 4.0), (4, 1.0)]
DENSE = [(3, 0.82), (5, 0.71), (1, 0.55), (6, 0.40), (7, 0.35), (8, 0.3)] + [(i, 0.2) for i in range(9, 20)]


@pytest.mark.parametrize("fuse", [AdaptiveFusion().fuse, lambda b, d, query: reciprocal_rank_fusion(b, d)])
def test_one_empty_side_keeps_the_other_ranking(fuse) -> None:
    assert [c.id for c in fuse(BM25, [], query="solar")] == [1, 2, 3, 4]
    assert [c.id for c in fuse([], DENSE, query="solar")] == [i for i, _ in DENSE]
    assert fuse([], [], query="solar") == []


def test_scores_are_bounded_sorted_and_split_into_contributions() -> None:
    fused = AdaptiveFusion().fuse(BM25, DENSE, query="solar panels")
    assert {c.id for c in fused} == {i for i, _ in BM25} | {i for i, _ in DENSE}
    assert all(0.0 <= c.score <= 1.0 for c in fused)
    assert all(c.score == pytest.approx(c.lexical + c.dense) for c in fused)
    assert [c.score for c in fused] == sorted((c.score for c in fused), reverse=True)
    rrf = reciprocal_rank_fusion(BM25, DENSE)
    assert rrf[0].score <= 1.0 and reciprocal_rank_fusion([(1, 1.0)], [(1, 1.0)])[0].score == pytest.approx(
        1.0
    )


def test_flat_dense_list_leaves_a_confident_bm25_order() -> None:
    rng = random.Random(0)
    noise = sorted(((i, 0.30 + rng.random() * 0.01) for i in range(1, 200)), key=lambda x: -x[1])
    fused = AdaptiveFusion().fuse(BM25, noise, query="solar panels")
    assert [c.id for c in fused[:4]] == [1, 2, 3, 4]


def test_vietnamese_query_leans_on_bm25_when_the_encoder_is_english_only() -> None:
    fusion = AdaptiveFusion()
    english = fusion.dense_share(DENSE, query="water filter membrane")
    vietnamese = fusion.dense_share(DENSE, query="màng lọc nước")
    assert 0 < vietnamese < english <= fusion.dense_weight
    assert (
        AdaptiveFusion(encoder_languages=frozenset({"en", "vi"})).dense_share(DENSE, query="màng lọc nước")
        == english
    )


def test_discriminating_dense_list_can_lift_a_document_bm25_ranked_lower() -> None:
    fused = AdaptiveFusion().fuse(BM25, DENSE, query="solar panels")
    assert [c.id for c in fused][:2] == [1, 3]


def test_other_language_documents_compete_on_meaning_when_the_model_reads_both() -> None:
    bilingual = AdaptiveFusion(encoder_languages=frozenset({"en", "vi"}), full_confidence_spread=0.05)
    # Document 3 is English; BM25 of a Vietnamese query finds it only through a shared number.
    bm25 = [(1, 10.0), (2, 8.0), (3, 0.5)]
    dense = [(3, 0.30), (1, 0.20), (2, 0.05), (4, 0.0)]
    languages = {1: "vi", 2: "vi", 3: "en", 4: "en"}
    query = "xử lý nước thải dệt nhuộm"
    fused = bilingual.fuse(bm25, dense, query=query, languages=languages)
    assert fused[0].id == 3 and fused[0].bm25 == pytest.approx(0.05)
    # Without language information the English document stays behind the BM25 hits.
    assert bilingual.fuse(bm25, dense, query=query)[0].id != 3
    # An English-only model lends nothing: it cannot read the Vietnamese query.
    assert AdaptiveFusion().fuse(bm25, dense, query=query, languages=languages)[0].id == 1


def test_a_flat_dense_list_is_trusted_little_and_unaccented_vietnamese_is_read_poorly() -> None:
    bilingual = AdaptiveFusion(encoder_languages=frozenset({"en", "vi"}), full_confidence_spread=0.05)
    flat = [(i, 0.30 - 0.001 * i) for i in range(1, 12)]
    assert bilingual.dense_confidence(flat, query="robot hàn") == pytest.approx(0.009 / 0.05)
    steep = [(i, 0.30 - 0.01 * i) for i in range(1, 12)]
    assert bilingual.dense_confidence(steep, query="robot hàn") == 1.0
    assert bilingual.dense_confidence(steep, query="robot han", query_language="vi") == pytest.approx(0.1)
    assert bilingual.dense_confidence(steep, query="welding robot", query_language="en") == 1.0


def test_unaccented_vietnamese_lends_little_to_other_language_documents() -> None:
    bilingual = AdaptiveFusion(encoder_languages=frozenset({"en", "vi"}), full_confidence_spread=0.05)
    bm25 = [(1, 10.0), (2, 6.0)]
    dense = [(3, 0.40), (1, 0.25), (2, 0.20), (4, 0.0)]
    languages = {1: "vi", 2: "vi", 3: "en", 4: "en"}
    accented = bilingual.fuse(bm25, dense, query="xử lý nước thải", languages=languages, query_language="vi")
    unaccented = bilingual.fuse(
        bm25, dense, query="xu ly nuoc thai", languages=languages, query_language="vi"
    )
    assert next(c for c in accented if c.id == 3).lexical > 0
    assert [c.id for c in unaccented][:2] == [1, 2]
