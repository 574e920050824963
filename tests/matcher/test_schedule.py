"""Meeting schedules on random events: every constraint holds, the solver never loses to greedy,
and re-optimising after a cancellation keeps the confirmed meetings."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from matcher.schedule import (
    Candidate,
    Meeting,
    Participant,
    Problem,
    ScheduleError,
    greedy,
    total_value,
    violations,
)
from matcher.schedule_solver import solve, windows
from scripts.bench_events import requests_placed, synthetic_event

SEEDS = range(6)
# Small enough that CP-SAT proves optimality in well under a second.
LIMIT = 2.0


def small_event(seed: int) -> Problem:
    """A crowded little event: few tables, so every constraint binds somewhere."""
    rng = random.Random(seed)
    return synthetic_event(rng.randint(12, 30), slots=rng.randint(3, 6), tables=rng.randint(2, 5), seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_schedules_keep_every_constraint_and_beat_or_equal_greedy(seed: int) -> None:
    problem = small_event(seed)
    baseline = greedy(problem)
    schedule = solve(problem, time_limit=LIMIT, workers=1, seed=seed)
    assert violations(problem, baseline) == []
    assert violations(problem, schedule.meetings) == []
    assert schedule.greedy_value == total_value(problem, baseline)
    assert schedule.value == total_value(problem, schedule.meetings) >= schedule.greedy_value
    assert schedule.meetings  # the random events always allow some meeting


def test_the_checker_catches_each_broken_rule() -> None:
    """The checker is what the other tests trust: every kind of violation is reported."""
    people = (
        Participant(1, 10, 2, frozenset({0, 1})),
        Participant(2, 20, 2, frozenset({0, 1})),
        Participant(3, 30, 2, frozenset({0, 1})),
        Participant(4, 10, 2, frozenset({0})),
        Participant(5, 50, 1, frozenset({0, 1})),
    )
    problem = Problem(
        slots=2,
        tables=2,
        participants=people,
        candidates=(),
        excluded=frozenset({frozenset({20, 50})}),
        fixed=(Meeting(1, 2, 0, 1),),
    )
    valid = [Meeting(1, 2, 0, 1), Meeting(3, 5, 0, 2), Meeting(1, 3, 1, 1)]
    assert violations(problem, valid) == []
    broken = {
        "slot outside": [*valid, Meeting(2, 3, 2, 1)],
        "table outside": [*valid, Meeting(2, 4, 1, 3)],
        "canonical order": [*valid, Meeting(4, 2, 1, 2)],
        "may not meet": [*valid, Meeting(1, 4, 1, 2)],
        "the pair meets twice": [*valid, Meeting(1, 2, 1, 2)],
        "already meets in slot": [*valid, Meeting(2, 3, 1, 2)],
        "not available": [*valid, Meeting(2, 4, 1, 2)],
        "over its cap": [*valid, Meeting(2, 5, 1, 2)],
        "a table hosts two": [*valid[:2], Meeting(1, 3, 1, 1), Meeting(2, 5, 1, 1)],
        "confirmed meeting was moved": valid[1:],
    }
    for words, schedule in broken.items():
        found = violations(problem, schedule)
        assert any(words in text for text in found), (words, found)
    crowded = violations(replace(problem, tables=1), valid)
    assert any("slot 0 holds 2 meetings on 1 tables" in text for text in crowded), crowded


def test_requests_come_before_any_number_of_proposals() -> None:
    """One table, one slot: the accepted request wins over pairs with far better scores."""
    people = tuple(Participant(i, i, 3, frozenset({0})) for i in range(1, 5))
    problem = Problem(
        slots=1,
        tables=1,
        participants=people,
        candidates=(Candidate(1, 2, 0.99), Candidate(3, 4, 0.98), Candidate(1, 3, 0.01, requested=True)),
    )
    for schedule in (greedy(problem), solve(problem, time_limit=LIMIT).meetings):
        assert [m.pair for m in schedule] == [(1, 3)]


def test_excluded_and_same_organization_pairs_never_meet_even_when_requested() -> None:
    people = (
        Participant(1, 10, 2, frozenset({0, 1})),
        Participant(2, 10, 2, frozenset({0, 1})),
        Participant(3, 30, 2, frozenset({0, 1})),
        Participant(4, 40, 2, frozenset({0, 1})),
    )
    problem = Problem(
        slots=2,
        tables=2,
        participants=people,
        candidates=(
            Candidate(1, 2, 0.9, requested=True),
            Candidate(1, 3, 0.9, requested=True),
            Candidate(2, 4, 0.5),
        ),
        excluded=frozenset({frozenset({10, 30})}),
    )
    schedule = solve(problem, time_limit=LIMIT)
    assert [m.pair for m in schedule.meetings] == [(2, 4)]


def test_greedy_places_best_pairs_first_in_their_earliest_common_slot() -> None:
    people = (
        Participant(1, 1, 1, frozenset({0, 1, 2})),
        Participant(2, 2, 2, frozenset({1, 2})),
        Participant(3, 3, 2, frozenset({0, 1, 2})),
    )
    problem = Problem(
        slots=3,
        tables=1,
        participants=people,
        candidates=(Candidate(1, 2, 0.4), Candidate(2, 3, 0.8), Candidate(1, 3, 0.6)),
    )
    # 2-3 first (slot 1: 2 is away in slot 0), then 1-3 (slot 0), then 1 is at its cap.
    assert greedy(problem) == [Meeting(2, 3, 1, 1), Meeting(1, 3, 0, 1)]


def test_solver_finds_what_greedy_misses() -> None:
    """Best pair first takes 1-2 and blocks two pairs worth more together."""
    people = tuple(Participant(i, i, 1, frozenset({0})) for i in range(1, 5))
    problem = Problem(
        slots=1,
        tables=2,
        participants=people,
        candidates=(Candidate(1, 2, 0.9), Candidate(1, 3, 0.8), Candidate(2, 4, 0.8)),
    )
    assert {m.pair for m in greedy(problem)} == {(1, 2)}
    schedule = solve(problem, time_limit=LIMIT)
    assert {m.pair for m in schedule.meetings} == {(1, 3), (2, 4)}
    assert schedule.value == 1600 > schedule.greedy_value == 900
    assert sorted(m.table for m in schedule.meetings) == [1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_reoptimising_after_a_cancellation_keeps_confirmed_meetings(seed: int) -> None:
    problem = small_event(seed)
    first = solve(problem, time_limit=LIMIT, workers=1, seed=seed)
    rng = random.Random(seed)
    meetings = list(first.meetings)
    cancelled = rng.choice(meetings)
    rest = [m for m in meetings if m != cancelled]
    confirmed = tuple(rng.sample(rest, len(rest) // 2))
    proposed = tuple(m for m in rest if m not in confirmed)
    again = replace(
        problem,
        candidates=tuple(c for c in problem.candidates if c.pair != cancelled.pair),
        fixed=confirmed,
        previous=proposed,
    )
    schedule = solve(again, time_limit=LIMIT, workers=1, seed=seed)
    assert violations(again, schedule.meetings) == []
    assert set(confirmed) <= set(schedule.meetings)
    assert cancelled.pair not in {m.pair for m in schedule.meetings}
    assert schedule.value >= schedule.greedy_value
    # Nothing better came up, so the proposed meetings stay where they were (same slot and table).
    if schedule.value == total_value(again, rest):
        assert set(proposed) <= set(schedule.meetings)


def test_confirmed_meetings_that_break_the_rules_are_refused() -> None:
    people = (Participant(1, 1, 1, frozenset({0})), Participant(2, 2, 1, frozenset({1})))
    problem = Problem(slots=2, tables=1, participants=people, candidates=(), fixed=(Meeting(1, 2, 0, 1),))
    with pytest.raises(ScheduleError, match="not available"):
        solve(problem)


def test_windows_group_slots_that_the_same_participants_can_attend() -> None:
    people = (
        Participant(1, 1, 4, frozenset({0, 1, 2, 3})),
        Participant(2, 2, 4, frozenset({0, 1})),
        Participant(3, 3, 4, frozenset({2, 3})),
    )
    problem = Problem(slots=5, tables=1, participants=people, candidates=())
    assert windows(problem) == [frozenset({0, 1}), frozenset({2, 3}), frozenset({4})]


def test_benchmark_events_have_requests_and_the_solver_places_at_least_as_many_as_greedy() -> None:
    problem = synthetic_event(60, seed=3)
    placed_greedy, wanted = requests_placed(problem, greedy(problem))
    placed, _ = requests_placed(problem, solve(problem, time_limit=LIMIT).meetings)
    assert wanted > 10 and placed >= placed_greedy
