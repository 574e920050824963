"""Out-of-fold probabilities: honest (no query scores itself), calibrated where the data allow, well summarised."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.calibration import brier_score, out_of_fold_scores, reliability_table
from matcher.features import FEATURE_NAMES
from matcher.ranker import MatchRanker


def judged_pairs(seed: int = 0, queries: int = 60, per_query: int = 30) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(queries * per_query, len(FEATURE_NAMES)))
    # A broker says yes with probability rising with similarity: a known, calibrated truth.
    truth = 1 / (1 + np.exp(-(12 * X[:, FEATURE_NAMES.index("similarity")] - 9)))
    y = (rng.uniform(size=len(truth)) < truth).astype(int)
    groups = np.repeat(np.arange(queries), per_query)
    return X, y, groups, truth


def test_out_of_fold_scores_recover_a_calibrated_truth() -> None:
    X, y, groups, truth = judged_pairs()
    scores = out_of_fold_scores(X, y, groups)
    assert scores.shape == y.shape and np.all((scores > 0) & (scores < 1))
    assert np.corrcoef(scores, truth)[0, 1] > 0.9
    assert brier_score(scores, y) < brier_score(np.full(len(y), y.mean()), y)
    for band in reliability_table(scores, y):
        if band.count >= 100:
            assert band.observed_rate == pytest.approx(band.mean_score, abs=0.1)


def test_a_query_never_scores_its_own_pairs() -> None:
    X, y, groups, _ = judged_pairs(queries=10, per_query=20)
    X[:, 0] = groups  # lets the ranker below see which queries it was fitted and asked on
    seen: list[tuple[set[int], set[int]]] = []

    class Recording(MatchRanker):
        def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Recording:
            self.fitted_on_ = {int(g) for g in X[:, 0]}
            return super().fit(X, y, sample_weight)  # type: ignore[return-value]

        def score_pairs(self, X: np.ndarray) -> np.ndarray:
            seen.append((self.fitted_on_, {int(g) for g in X[:, 0]}))
            return super().score_pairs(X)

    out_of_fold_scores(X, y, groups, n_splits=5, make_ranker=Recording)
    assert len(seen) == 5
    assert all(not (fitted & scored) for fitted, scored in seen)
    assert set().union(*(scored for _, scored in seen)) == set(range(10))


def test_reliability_table_covers_every_pair_once() -> None:
    scores = np.array([0.0, 0.04, 0.06, 0.5, 0.95, 1.0])
    labels = np.array([0, 0, 1, 1, 1, 1])
    bands = reliability_table(scores, labels)
    assert sum(band.count for band in bands) == len(scores)
    assert bands[0].low == 0.0 and bands[0].count == 2 and bands[-1].high == 1.0 and bands[-1].count == 2
    assert brier_score(labels.astype(float), labels) == 0.0
