"""Choosing link thresholds and measuring them out of fold."""

from __future__ import annotations

from dataclasses import replace

from matcher.link_evaluation import (
    ScoredPair,
    fit_margins,
    fit_word_overlap,
    fold_of,
    measure,
    out_of_fold,
    predictions,
)
from matcher.links import LinkEvidence, LinkRule


def cross(pair: tuple[int, int], margin: float, anchors: tuple[str, ...] = ()) -> ScoredPair:
    evidence = LinkEvidence(pair[1], False, 0.9, margin, shared_anchors=list(anchors))
    return ScoredPair(pair, evidence, group=f"g{pair[0]}")


def same(pair: tuple[int, int], margin: float, overlap: float) -> ScoredPair:
    evidence = LinkEvidence(pair[1], True, 0.9, margin, word_overlap=overlap)
    return ScoredPair(pair, evidence, group=f"g{pair[0]}")


def test_fit_margins_separates_true_pairs_and_uses_shared_names() -> None:
    scored = [
        cross((1, 2), 1.05),
        cross((3, 4), 1.04),
        # A true pair with a low margin, found only because it shares a name.
        cross((5, 6), 1.012, ("lora",)),
        cross((7, 8), 1.015),  # false, no shared name
        cross((9, 10), 1.0),
    ]
    labelled = {(1, 2), (3, 4), (5, 6)}
    plain, anchored = fit_margins(scored, labelled)
    rule = LinkRule(margin_threshold=plain, anchored_margin_threshold=anchored)
    assert predictions(scored, rule, "translation") == labelled
    assert 1.015 < plain <= 1.04 and anchored <= 1.012


def test_fit_word_overlap_and_measure() -> None:
    scored = [same((1, 2), 1.1, 0.6), same((3, 4), 1.1, 0.5), same((5, 6), 1.1, 0.2), same((7, 8), 1.0, 0.9)]
    labelled = {(1, 2), (3, 4)}
    rule = LinkRule(margin_threshold=1.05, anchored_margin_threshold=1.05)
    threshold = fit_word_overlap(scored, labelled, rule=rule)
    assert 0.2 < threshold < 0.5
    figures = measure(
        predictions(scored, replace(rule, duplicate_word_overlap=threshold), "duplicate"), labelled
    )
    assert (figures.precision, figures.recall) == (1.0, 1.0)
    # A labelled pair never found counts against recall; a wrong one against precision.
    assert measure({(1, 2), (9, 9)}, labelled).as_json()["precision"] == 0.5
    assert measure({(1, 2)}, labelled).recall == 0.5


def test_out_of_fold_never_scores_a_pair_with_a_rule_fitted_on_it() -> None:
    scored = [cross((i, i + 1000), 1.03 + i / 1000) for i in range(20)] + [
        cross((i, i + 2000), 1.0 + i / 10000) for i in range(20)
    ]
    labelled = {(i, i + 1000) for i in range(20)}
    seen: list[set[tuple[int, int]]] = []

    def fit(train: list[ScoredPair], train_labelled: set[tuple[int, int]]) -> LinkRule:
        seen.append({item.pair for item in train})
        plain, anchored = fit_margins(train, train_labelled)
        return LinkRule(margin_threshold=plain, anchored_margin_threshold=anchored)

    figures, rules = out_of_fold(scored, labelled, kind="translation", fit=fit)
    assert len(rules) == 5 and (figures.precision, figures.recall) == (1.0, 1.0)
    for fold, train in enumerate(seen):
        held_out = {item.pair for item in scored if fold_of(item.group) == fold}
        assert not train & held_out
