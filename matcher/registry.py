"""Versioned rankers on disk, the ACTIVE pointer, and promotion of a trained ranker only when it is better.

Layout of the directory (Settings.ranker_dir): `<version>.json` (version, created, n_samples,
metrics, feature names and the fitted model: coefficients and intercept) and `ACTIVE`, a text
file naming the version in use, replaced atomically so a reader never sees half of it.

Rankers are plain JSON numbers, never pickles: loading a file someone could write into the
data directory must not run their code. Anything else found there is ignored.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from matcher.features import FEATURE_NAMES
from matcher.ranker import DEFAULT_VERSION, MatchRanker, default_ranker

log = logging.getLogger(__name__)
ACTIVE_FILE = "ACTIVE"
MODEL_FORMAT = "techmatch-logistic-ranker/1"
# AUC over individual decisions: held-out decisions are too few per need for a per-query
# metric such as nDCG, and AUC asks exactly what a threshold on the score needs (do
# accepted pairs score above rejected ones?).
METRIC = "auc"


@dataclass(frozen=True)
class TrainingReport:
    """What train_and_promote did, for the CLI to print."""

    version: str
    promoted: bool
    candidate_metric: float
    active_metric: float
    active_version: str
    n_train: int
    n_holdout: int


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def new_version(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"ranker-{now:%Y%m%dT%H%M%S%fZ}"


def save_ranker(
    directory: Path,
    ranker: MatchRanker,
    *,
    metrics: dict[str, float],
    n_samples: int,
    feature_names: Sequence[str] = FEATURE_NAMES,
    version: str | None = None,
) -> str:
    """Store a fitted ranker and its metadata under a new version; does not make it active."""
    directory.mkdir(parents=True, exist_ok=True)
    version = version or new_version()
    metadata = {
        "version": version,
        "created": datetime.now(UTC).isoformat(),
        "n_samples": n_samples,
        "metrics": metrics,
        "feature_names": list(feature_names),
        "model": {
            "format": MODEL_FORMAT,
            "coefficients": [float(c) for c in ranker.coef_],
            "intercept": float(ranker.intercept_),
        },
    }
    _write_atomically(directory / f"{version}.json", json.dumps(metadata, indent=2))
    return version


def activate(directory: Path, version: str) -> None:
    if not (directory / f"{version}.json").exists():
        raise FileNotFoundError(f"no ranker {version} in {directory}")
    _write_atomically(directory / ACTIVE_FILE, version + "\n")


def metadata(directory: Path, version: str) -> dict[str, Any]:
    return dict(json.loads((directory / f"{version}.json").read_text(encoding="utf-8")))


def ranker_from_metadata(info: dict[str, Any]) -> MatchRanker:
    """The fitted ranker a version's JSON describes; ValueError unless it is exactly that shape."""
    model = info["model"]
    if not isinstance(model, dict) or model.get("format") != MODEL_FORMAT:
        raise ValueError(f"it is not a {MODEL_FORMAT} model")
    numbers = [*model["coefficients"], model["intercept"]]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        raise ValueError("its weights are not all finite numbers")
    if len(model["coefficients"]) != len(info["feature_names"]):
        raise ValueError("it has not one weight per feature")
    ranker = MatchRanker()
    ranker.coef_ = np.array(model["coefficients"], dtype=float)
    ranker.intercept_ = float(model["intercept"])
    ranker.classes_ = np.array([0, 1])
    ranker.n_features_in_ = len(model["coefficients"])
    return ranker


def active_ranker(directory: Path) -> tuple[MatchRanker, str]:
    """The active ranker and its version; the default weights when none is active or it cannot be used."""
    pointer = directory / ACTIVE_FILE
    if not pointer.exists():
        return default_ranker(), DEFAULT_VERSION
    version = pointer.read_text(encoding="utf-8").strip()
    try:
        info = metadata(directory, version)
        if info["feature_names"] != list(FEATURE_NAMES):
            raise ValueError("it was trained on other features than the matcher computes")
        ranker = ranker_from_metadata(info)
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        log.warning("active ranker %s cannot be used (%s); using the default weights", version, exc)
        return default_ranker(), DEFAULT_VERSION
    return ranker, version


def auc(ranker: MatchRanker, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(roc_auc_score(y, ranker.score_pairs(X), sample_weight=sample_weight))


def train_and_promote(
    directory: Path,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    *,
    holdout: float = 0.25,
    random_state: int = 0,
) -> TrainingReport:
    """Fit on a stratified part, compare with the active ranker on the held-out rest, activate only if better.

    The candidate is saved either way (its metadata records the comparison); the ACTIVE
    pointer moves only when its held-out AUC is strictly higher.
    """
    X_train, X_test, y_train, y_test, w_train, w_test = train_test_split(
        X, y, sample_weight, test_size=holdout, stratify=y, random_state=random_state
    )
    candidate = MatchRanker().fit(X_train, y_train, sample_weight=w_train)
    current, current_version = active_ranker(directory)
    candidate_metric, active_metric = (
        auc(candidate, X_test, y_test, w_test),
        auc(current, X_test, y_test, w_test),
    )
    promoted = candidate_metric > active_metric
    version = save_ranker(
        directory,
        candidate,
        n_samples=len(y_train),
        metrics={
            f"holdout_{METRIC}": candidate_metric,
            f"active_holdout_{METRIC}": active_metric,
            "n_holdout": float(len(y_test)),
        },
    )
    if promoted:
        activate(directory, version)
    return TrainingReport(
        version, promoted, candidate_metric, active_metric, current_version, len(y_train), len(y_test)
    )
