"""The ranker: bounded scores, sklearn conventions, contributions that add up."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from matcher.features import FEATURE_NAMES
from matcher.ranker import MatchRanker, default_ranker


def test_default_ranker_scores_are_bounded_and_monotone_in_text() -> None:
    ranker = default_ranker()
    base = np.full(len(FEATURE_NAMES), 0.5)
    weak, strong = base.copy(), base.copy()
    # A better text match: a higher fused score (its lexical and dense shares) and centred similarity.
    for name in ("lexical", "dense", "similarity"):
        weak[FEATURE_NAMES.index(name)], strong[FEATURE_NAMES.index(name)] = 0.1, 0.9
    # Every feature at its best: the query's best candidate (no gap), two confident spreads above the
    # average listing of its language.
    best = np.ones_like(base)
    best[FEATURE_NAMES.index("similarity_gap")], best[FEATURE_NAMES.index("similarity")] = 0.0, 2.0
    scores = ranker.score_pairs(np.vstack([weak, strong, np.zeros_like(base), best]))
    assert np.all((scores > 0) & (scores < 1))
    assert scores[1] > scores[0]
    assert scores[3] > 0.9 and scores[2] < 0.05


def test_fit_follows_sklearn_conventions_and_learns_the_signal() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((400, len(FEATURE_NAMES)))
    sector = FEATURE_NAMES.index("sector")
    y = (X[:, sector] + 0.1 * rng.standard_normal(400) > 0.5).astype(int)  # only "sector" matters
    ranker = MatchRanker(C=10.0)
    with pytest.raises(NotFittedError):
        ranker.predict_proba(X)
    assert ranker.fit(X, y) is ranker
    assert ranker.n_features_in_ == len(FEATURE_NAMES)
    assert np.argmax(np.abs(ranker.coef_)) == sector
    assert (ranker.predict(X) == y).mean() > 0.9
    assert clone(ranker).get_params() == ranker.get_params()
    with pytest.raises(ValueError, match="two classes"):
        MatchRanker().fit(X, np.zeros(400, dtype=int))


def test_contributions_explain_the_score_difference_of_one_feature() -> None:
    ranker = default_ranker()
    reference = np.full(len(FEATURE_NAMES), 0.5)
    x = reference.copy()
    x[FEATURE_NAMES.index("trl")] = 1.0
    effects = ranker.contributions(x, reference=reference)
    expected = ranker.score_pairs(x[None])[0] - ranker.score_pairs(reference[None])[0]
    assert effects[FEATURE_NAMES.index("trl")] == pytest.approx(expected)
    assert np.count_nonzero(effects) == 1


def test_score_pairs_is_predict_proba_and_refuses_rows_of_another_width() -> None:
    ranker = default_ranker()
    X = np.random.default_rng(3).uniform(-1, 2, size=(50, len(FEATURE_NAMES)))
    assert np.allclose(ranker.score_pairs(X), ranker.predict_proba(X)[:, 1])
    with pytest.raises(ValueError, match="features"):
        ranker.score_pairs(X[:, :-1])
    with pytest.raises(NotFittedError):
        MatchRanker().score_pairs(X)
