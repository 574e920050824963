"""Metrics against hand-computed values."""

import math

import pytest

from matcher.metrics import evaluate_run, mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_uses_graded_gains_and_all_relevant_for_the_ideal() -> None:
    relevant = {"a": 2, "b": 1, "z": 1}  # "z" is never retrieved but still counts in the ideal
    dcg = 1 / math.log2(2) + 2 / math.log2(4)  # b at rank 1, a at rank 3
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["b", "x", "a"], relevant, 10) == pytest.approx(dcg / ideal)


def test_ndcg_cuts_at_k() -> None:
    assert ndcg_at_k(["x", "a"], {"a": 1}, 1) == 0.0


def test_recall_and_mrr() -> None:
    ranking = ["x", "a", "y", "b"]
    assert recall_at_k(ranking, {"a": 1, "b": 1, "c": 1}, 3) == pytest.approx(1 / 3)
    assert mrr_at_k(ranking, {"a": 1, "b": 1}, 10) == pytest.approx(1 / 2)
    assert mrr_at_k(ranking, {"b": 1}, 3) == 0.0


def test_evaluate_run_skips_queries_without_relevant_docs_and_zeroes_missing_runs() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": ["a"], "q3": ["c"]}
    assert evaluate_run(run, qrels) == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
