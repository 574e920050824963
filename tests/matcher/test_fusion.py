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
    assert AdaptiveFusion(encoder_reads_vietnamese=True).dense_share(DENSE, query="màng lọc nước") == english


def test_discriminating_dense_list_can_lift_a_document_bm25_ranked_lower() -> None:
    fused = AdaptiveFusion().fuse(BM25, DENSE, query="solar panels")
    assert [c.id for c in fused][:2] == [1, 3]
