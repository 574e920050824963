"""Out-of-fold checks of match probabilities: whether a score of 0.7 means 7 in 10 brokers would say yes.

Everything fitted on judged pairs is reported on pairs of listings the fit never saw: folds group the
pairs by their query listing, so no need lends its candidates to its own evaluation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold

from matcher.ranker import MatchRanker

# Score bands of the reliability table: finer where the suggestion threshold sits.
BIN_EDGES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


@dataclass(frozen=True)
class ReliabilityBin:
    """Pairs scored within [low, high): how many, their mean score and how many were good."""

    low: float
    high: float
    count: int
    mean_score: float
    observed_rate: float


def out_of_fold_scores(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    n_splits: int = 5,
    make_ranker: Callable[[], MatchRanker] = MatchRanker,
) -> np.ndarray:
    """Each pair's probability from a ranker fitted on the other folds' queries only."""
    scores = np.zeros(len(labels), dtype=float)
    for train, test in GroupKFold(n_splits=n_splits).split(features, labels, groups):
        ranker = make_ranker().fit(features[train], labels[train])
        scores[test] = ranker.score_pairs(features[test])
    return scores


def brier_score(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of the probabilities (0 is perfect; always saying the base rate scores p(1-p))."""
    return float(np.mean((scores - labels) ** 2))


def reliability_table(
    scores: np.ndarray, labels: np.ndarray, edges: Sequence[float] = BIN_EDGES
) -> list[ReliabilityBin]:
    """Predicted against observed acceptance per score band; empty bands are left out."""
    bins = []
    for low, high in itertools.pairwise(edges):
        inside = (scores >= low) & ((scores < high) if high < edges[-1] else (scores <= high))
        if inside.any():
            bins.append(
                ReliabilityBin(
                    low=low,
                    high=high,
                    count=int(inside.sum()),
                    mean_score=float(scores[inside].mean()),
                    observed_rate=float(labels[inside].mean()),
                )
            )
    return bins


def format_reliability(bins: Sequence[ReliabilityBin]) -> str:
    lines = ["| score band | pairs | mean score | share judged good |", "|---|---|---|---|"]
    lines += [
        f"| {b.low:.2f}–{b.high:.2f} | {b.count} | {b.mean_score:.3f} | {b.observed_rate:.3f} |" for b in bins
    ]
    return "\n".join(lines)
