"""Precision and recall of duplicate and translation links, with thresholds chosen out of fold.

Every listing's candidate pairs (its nearest neighbours in each language, as `find_links` sees them)
are scored once; thresholds are then chosen on some folds and applied to the held-out one, so the
reported figures never come from a threshold that saw the pairs it is judged on.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from matcher.links import (
    CANDIDATES,
    NEIGHBOURS,
    LinkEvidence,
    LinkKind,
    LinkRule,
    VectorNeighbourhood,
    dense_evidence,
    with_text_evidence,
)

Pair = tuple[int, int]
FOLDS = 5


@dataclass(frozen=True)
class ScoredPair:
    pair: Pair
    evidence: LinkEvidence
    group: Hashable


@dataclass(frozen=True)
class PrecisionRecall:
    found: int
    correct: int
    labelled: int

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 1.0

    def as_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "found": self.found,
            "correct": self.correct,
            "labelled": self.labelled,
        }


def candidate_pairs(
    neighbourhood: VectorNeighbourhood,
    ids: Iterable[int],
    *,
    texts: Mapping[int, str],
    group_of: Callable[[int], Hashable],
    neighbours: int = NEIGHBOURS,
    candidates: int = CANDIDATES,
) -> list[ScoredPair]:
    """Every pair some listing proposes as a candidate, once, with its full evidence."""
    pairs: dict[Pair, LinkEvidence] = {}
    for doc_id in ids:
        for evidence in dense_evidence(neighbourhood, doc_id, neighbours=neighbours, candidates=candidates):
            pair = (min(doc_id, evidence.other_id), max(doc_id, evidence.other_id))
            if pair not in pairs:
                pairs[pair] = with_text_evidence(evidence, texts[pair[0]], texts[pair[1]])
    return [ScoredPair(pair, evidence, group_of(pair[0])) for pair, evidence in sorted(pairs.items())]


def predictions(scored: Iterable[ScoredPair], rule: LinkRule, kind: LinkKind) -> set[Pair]:
    return {item.pair for item in scored if rule.decide(item.evidence) == kind}


def measure(predicted: set[Pair], labelled: set[Pair]) -> PrecisionRecall:
    return PrecisionRecall(found=len(predicted), correct=len(predicted & labelled), labelled=len(labelled))


def _best_threshold(values: list[tuple[float, bool]], labelled: int) -> float:
    """The cut on `values` (value, is a true link) with the best F1 against `labelled` true links;
    ties go to the higher cut (fewer links shown to brokers)."""
    ordered = sorted(values, key=lambda item: -item[0])
    best, best_f1, correct = float("inf"), -1.0, 0
    for position, (value, positive) in enumerate(ordered):
        correct += positive
        found = position + 1
        f1 = 2 * correct / (found + labelled) if found + labelled else 0.0
        next_value = ordered[position + 1][0] if position + 1 < len(ordered) else value - 1e-3
        if next_value == value:
            continue
        if f1 > best_f1:
            best_f1, best = f1, (value + next_value) / 2
    return best


MARGIN_GRID = tuple(round(1.0 + step / 1000, 3) for step in range(81))


def fit_margins(scored: Iterable[ScoredPair], labelled: set[Pair]) -> tuple[float, float]:
    """(margin threshold, margin threshold when a name or number is shared) for translations: the pair on
    a 0.001 grid with the best F1 over the cross-language candidate pairs; among equally good pairs the
    middle one, the widest berth on both sides."""
    cross = [item for item in scored if not item.evidence.same_language]
    margins = np.array([item.evidence.margin for item in cross])
    anchored = np.array([bool(item.evidence.shared_anchors) for item in cross])
    truth = np.array([item.pair in labelled for item in cross])
    results: list[tuple[float, float, float]] = []
    for plain in MARGIN_GRID:
        for with_anchor in (value for value in MARGIN_GRID if value <= plain):
            predicted = (margins >= plain) | (anchored & (margins >= with_anchor))
            found = int(predicted.sum())
            f1 = (
                2 * int((predicted & truth).sum()) / (found + len(labelled)) if found + len(labelled) else 0.0
            )
            results.append((f1, plain, with_anchor))
    best_f1 = max(f1 for f1, _, _ in results)
    plains = sorted({plain for f1, plain, _ in results if f1 >= best_f1 - 1e-12})
    plain = plains[len(plains) // 2]
    anchors = sorted(with_anchor for f1, p, with_anchor in results if p == plain and f1 >= best_f1 - 1e-12)
    return plain, anchors[len(anchors) // 2]


def fit_word_overlap(scored: Iterable[ScoredPair], labelled: set[Pair], *, rule: LinkRule) -> float:
    """The word-overlap threshold for near-duplicates among same-language pairs the margins let through."""
    values = [
        (item.evidence.word_overlap, item.pair in labelled)
        for item in scored
        if item.evidence.same_language
        and rule.decide(replace(item.evidence, word_overlap=1.0)) == "duplicate"
    ]
    return _best_threshold(values, len(labelled))


def fold_of(group: Hashable, folds: int = FOLDS) -> int:
    """A stable fold for a group (an article, a cluster of one technology): no pair's group spans folds."""
    text = str(group)
    return sum(ord(character) * (position + 1) for position, character in enumerate(text)) % folds


def out_of_fold(
    scored: list[ScoredPair],
    labelled: set[Pair],
    *,
    kind: LinkKind,
    fit: Callable[[list[ScoredPair], set[Pair]], LinkRule],
    folds: int = FOLDS,
) -> tuple[PrecisionRecall, list[LinkRule]]:
    """Links of `kind` predicted on each fold by a rule fitted on the others, pooled and measured."""
    predicted: set[Pair] = set()
    rules = []
    groups_of_pair = {item.pair: fold_of(item.group, folds) for item in scored}
    for fold in range(folds):
        train = [item for item in scored if groups_of_pair[item.pair] != fold]
        test = [item for item in scored if groups_of_pair[item.pair] == fold]
        train_pairs = {item.pair for item in train}
        rule = fit(train, {pair for pair in labelled if pair in train_pairs})
        rules.append(rule)
        predicted |= predictions(test, rule, kind)
    return measure(predicted, labelled), rules
