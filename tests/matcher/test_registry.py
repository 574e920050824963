"""Ranker registry: versions on disk, the ACTIVE pointer, promotion only when better, fallback to defaults."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from matcher.features import FEATURE_NAMES
from matcher.ranker import DEFAULT_RANKER_FILE, DEFAULT_VERSION, MatchRanker
from matcher.registry import ACTIVE_FILE, activate, active_ranker, metadata, save_ranker, train_and_promote


def decisions(rule: str, n: int = 200, *, only_rule_varies: bool = False) -> tuple[np.ndarray, ...]:
    """Random feature vectors labelled by one feature: brokers who care only about `rule`."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(n, len(FEATURE_NAMES)))
    if only_rule_varies:
        X[:, [i for i, name in enumerate(FEATURE_NAMES) if name != rule]] = 0.5
    y = (X[:, FEATURE_NAMES.index(rule)] > 0.5).astype(int)
    return X, y, np.ones(n)


def test_no_active_ranker_means_default_weights(tmp_path: Path) -> None:
    ranker, version = active_ranker(tmp_path / "missing")
    assert version == DEFAULT_VERSION
    shipped = json.loads(DEFAULT_RANKER_FILE.read_text(encoding="utf-8"))
    assert ranker.coef_.tolist() == [shipped["weights"][name] for name in FEATURE_NAMES]


def test_a_better_ranker_is_promoted_and_loaded(tmp_path: Path) -> None:
    # These brokers decide on the lexical score alone, which the default weights barely use.
    report = train_and_promote(tmp_path, *decisions("lexical"))
    assert report.promoted and report.active_version == DEFAULT_VERSION
    assert report.candidate_metric > 0.95 > report.active_metric
    assert (tmp_path / ACTIVE_FILE).read_text().strip() == report.version
    ranker, version = active_ranker(tmp_path)
    assert version == report.version and isinstance(ranker, MatchRanker)
    info = metadata(tmp_path, version)
    assert info["feature_names"] == list(FEATURE_NAMES) and info["n_samples"] == report.n_train == 150
    assert info["metrics"]["holdout_auc"] == report.candidate_metric


def test_a_ranker_that_is_not_better_is_kept_but_not_promoted(tmp_path: Path) -> None:
    # Similarity alone varies and decides: the default weights already rank the held-out part perfectly.
    report = train_and_promote(tmp_path, *decisions("similarity", only_rule_varies=True))
    assert not report.promoted and report.active_metric == 1.0
    assert not (tmp_path / ACTIVE_FILE).exists()
    assert (tmp_path / f"{report.version}.json").exists()
    assert active_ranker(tmp_path)[1] == DEFAULT_VERSION

    first = train_and_promote(tmp_path, *decisions("lexical"))
    again = train_and_promote(tmp_path, *decisions("lexical"))  # same data: equal, so not better
    assert first.promoted and not again.promoted
    assert active_ranker(tmp_path)[1] == first.version


def test_unusable_active_ranker_falls_back_to_default(tmp_path: Path) -> None:
    X, y, _ = decisions("lexical")
    version = save_ranker(
        tmp_path,
        MatchRanker().fit(X, y),
        metrics={},
        n_samples=len(y),
        feature_names=["text", "something_else"],
    )
    activate(tmp_path, version)
    assert active_ranker(tmp_path)[1] == DEFAULT_VERSION
    good = save_ranker(tmp_path, MatchRanker().fit(X, y), metrics={}, n_samples=len(y))
    activate(tmp_path, good)
    info = json.loads((tmp_path / f"{good}.json").read_text())
    assert info["version"] == good
    for broken in (
        {"format": "pickle"},
        {**info["model"], "intercept": "NaN"},
        {**info["model"], "coefficients": [1.0]},
    ):
        (tmp_path / f"{good}.json").write_text(json.dumps({**info, "model": broken}))
        assert active_ranker(tmp_path)[1] == DEFAULT_VERSION


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('ran')",))


def test_rankers_are_json_and_pickles_are_never_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y, _ = decisions("lexical")
    fitted = MatchRanker().fit(X, y)
    version = save_ranker(tmp_path, fitted, metrics={}, n_samples=len(y))
    activate(tmp_path, version)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([ACTIVE_FILE, f"{version}.json"])
    loaded, loaded_version = active_ranker(tmp_path)
    assert loaded_version == version
    assert np.allclose(loaded.score_pairs(X), fitted.score_pairs(X))
    # A pickle planted where older versions kept rankers is ignored, not unpickled.
    (tmp_path / f"{version}.joblib").write_bytes(pickle.dumps(_RunsCode()))
    monkeypatch.chdir(tmp_path)
    assert active_ranker(tmp_path)[1] == version
    assert not (tmp_path / "PWNED").exists()
