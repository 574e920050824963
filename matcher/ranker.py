"""The scoring model over text relevance and structured features: a logistic model of a broker's yes.

Until brokers have made enough decisions, hand-set weights stand in for learned ones;
`fit` learns them from decisions (scikit-learn conventions: `fit` returns self, learned
state ends in `_`). Scores are probabilities in (0, 1), so a threshold means the same
for every query.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from matcher.features import FEATURE_NAMES

# The shipped weights: fitted on the judged demo pairs by `techmatch calibrate --write` (its
# cross-validated report is saved beside them), used until broker decisions train a ranker.
DEFAULT_RANKER_FILE = Path(__file__).with_name("default_ranker.json")
DEFAULT_VERSION = "default-v3"


class MatchRanker(ClassifierMixin, BaseEstimator):
    """Logistic regression over match features, predicting whether a broker would accept the pair."""

    # No class re-weighting by default: scores must stay probabilities of a yes, not balanced odds.
    def __init__(self, *, C: float = 1.0, class_weight: str | None = None, max_iter: int = 1000) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> MatchRanker:
        X, y = validate_data(self, X, y)
        if type_of_target(y) != "binary" or len(np.unique(y)) != 2:
            raise ValueError("MatchRanker learns accept/reject decisions: y must have exactly two classes.")
        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        model.fit(X, y, sample_weight=sample_weight)
        self.classes_ = model.classes_
        self.coef_ = model.coef_[0].astype(float)
        self.intercept_ = float(model.intercept_[0])
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=float)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes_[(self.decision_function(X) > 0).astype(int)])

    def score_pairs(self, X: np.ndarray) -> np.ndarray:
        """Probability of acceptance for each row: the match score.

        The request path's scorer: it checks only the shape, since scikit-learn's full input
        validation cost more than the scoring of a match's 200 candidates.
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected rows of {self.n_features_in_} features, got shape {X.shape}")
        return np.asarray(expit(X @ self.coef_ + self.intercept_))

    def contributions(self, x: np.ndarray, *, reference: np.ndarray) -> np.ndarray:
        """How much each feature moved this pair's score (in score units) compared with `reference` values."""
        check_is_fitted(self)
        z = float(x @ self.coef_ + self.intercept_)
        without = z - self.coef_ * (x - reference)
        return np.asarray(expit(z) - expit(without))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def default_ranker(feature_names: Sequence[str] = FEATURE_NAMES) -> MatchRanker:
    """The shipped calibrated ranker, used until a trained one is promoted."""
    spec = json.loads(DEFAULT_RANKER_FILE.read_text(encoding="utf-8"))
    return ranker_from_weights(spec["weights"], spec["intercept"], feature_names)


def ranker_from_weights(
    weights: Mapping[str, float], intercept: float, feature_names: Sequence[str] = FEATURE_NAMES
) -> MatchRanker:
    """A fitted ranker from named weights; every feature must have one."""
    missing = [name for name in feature_names if name not in weights]
    if missing:
        raise ValueError(f"no weight for features {missing}")
    ranker = MatchRanker()
    ranker.coef_ = np.array([weights[name] for name in feature_names], dtype=float)
    ranker.intercept_ = float(intercept)
    ranker.classes_ = np.array([0, 1])
    ranker.n_features_in_ = len(feature_names)
    return ranker
