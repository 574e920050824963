"""The best schedule found within a time limit, with OR-Tools CP-SAT in two steps.

Slots that the same participants can attend are interchangeable, so the slots split into
"windows" (all day, the morning, ...). First CP-SAT chooses which pairs meet in which window
(caps, a window's slots per participant, its tables); then it gives each chosen meeting a slot
of its window (one meeting per participant and slot, `tables` per slot); a greedy pass fills
what is left. Tables are interchangeable and numbered last. The greedy schedule (best pair
first) is the hint of both steps and the floor: the answer is never worth less.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matcher.schedule import (
    Candidate,
    Meeting,
    Occupancy,
    Problem,
    assign_tables,
    greedy,
    pair_values,
    place_greedily,
    schedulable,
    total_value,
    violations,
)

log = logging.getLogger(__name__)
Pair = tuple[int, int]
# Proposals each participant brings into the model beyond its cap: a pair that neither side ranks
# this high would displace a better meeting of both, so leaving it out costs (almost) nothing and
# keeps the model small at a thousand participants.
EXTRA_PROPOSALS = 4


@dataclass(frozen=True)
class Schedule:
    """The meetings (fixed ones included, by slot and table), their total value and how they were found."""

    meetings: tuple[Meeting, ...]
    value: int
    method: str
    greedy_value: int
    seconds: float


def windows(problem: Problem) -> list[frozenset[int]]:
    """Slots grouped by who can attend them: within a window any slot serves a meeting as well as another."""
    groups: dict[frozenset[int], set[int]] = defaultdict(set)
    for slot in range(problem.slots):
        attending = frozenset(p.id for p in problem.participants if slot in p.available)
        groups[attending].add(slot)
    return sorted((frozenset(slots) for slots in groups.values()), key=min)


def shortlist(problem: Problem, candidates: list[Candidate], keep: set[Pair]) -> list[Candidate]:
    """Requests, pairs in `keep`, and each participant's best cap + EXTRA_PROPOSALS proposals (best first)."""
    ranked: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        ranked[candidate.a].append(candidate)
        ranked[candidate.b].append(candidate)
    wanted = {c.pair for c in candidates if c.requested or c.pair in keep}
    for person, own in ranked.items():
        wanted.update(c.pair for c in own[: problem.by_id[person].cap + EXTRA_PROPOSALS])
    return [c for c in candidates if c.pair in wanted]


def _run(
    model: cp_model.CpModel, *, seconds: float, workers: int, seed: int, **parameters: int
) -> cp_model.CpSolver | None:
    """Solve with the given CP-SAT parameters; the solver when it found a solution, else None."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    for name, value in parameters.items():
        setattr(solver.parameters, name, value)
    status = solver.solve(model)
    return solver if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None


class _Room:
    """What the fixed meetings leave: each participant's cap, its free slots, each slot's free tables."""

    def __init__(self, problem: Problem) -> None:
        self.cap = {p.id: p.cap for p in problem.participants}
        self.tables = [problem.tables] * problem.slots
        self.busy: set[tuple[int, int]] = set()
        for m in problem.fixed:
            self.cap[m.a] -= 1
            self.cap[m.b] -= 1
            self.tables[m.slot] -= 1
            self.busy.update({(m.a, m.slot), (m.b, m.slot)})

    def slots(self, problem: Problem, pair: Pair, among: Iterable[int]) -> list[int]:
        a, b = pair
        common = problem.by_id[a].available & problem.by_id[b].available
        return [
            s
            for s in sorted(among)
            if s in common and self.tables[s] > 0 and (a, s) not in self.busy and (b, s) not in self.busy
        ]


def choose_pairs(
    problem: Problem, candidates: list[Candidate], room: _Room, hint: set[Pair], seconds: float, **run: int
) -> list[Pair]:
    """Step 1: which pairs meet, within caps, each participant's free slots per window, and tables."""
    all_windows = windows(problem)
    model = cp_model.CpModel()
    chosen: dict[Pair, cp_model.IntVar] = {}
    per_person: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    per_person_window: dict[tuple[int, frozenset[int]], list[cp_model.IntVar]] = defaultdict(list)
    per_window: dict[frozenset[int], list[cp_model.IntVar]] = defaultdict(list)
    previous = {m.pair for m in problem.previous}
    stability = len(previous) + 1  # keeping a previous meeting is worth less than any difference in value
    objective = []
    for candidate in candidates:
        pair = candidate.pair
        slots = set(room.slots(problem, pair, range(problem.slots)))
        if not slots:
            continue
        var = chosen[pair] = model.new_bool_var("")
        # A pair that can only meet within one window uses that window's slots and tables.
        inside = [window for window in all_windows if slots <= window]
        for person in pair:
            per_person[person].append(var)
            for window in inside:
                per_person_window[(person, window)].append(var)
        for window in inside:
            per_window[window].append(var)
        objective.append((problem.value(candidate) * stability + (pair in previous)) * var)
        model.add_hint(var, pair in hint)
    for person, group in per_person.items():
        free = sum(1 for s in problem.by_id[person].available if (person, s) not in room.busy)
        model.add(sum(group) <= min(room.cap[person], free))
    for (person, window), group in per_person_window.items():
        model.add(sum(group) <= sum(1 for s in window if (person, s) not in room.busy))
    for window, group in per_window.items():
        model.add(sum(group) <= sum(room.tables[s] for s in window))
    model.add(sum(chosen.values()) <= sum(room.tables))
    model.maximize(sum(objective))
    # Pair choice is close to a matching, whose LP relaxation is nearly exact: a full linear
    # relaxation proves it optimal fast, and symmetry detection only costs time here (1,000
    # participants on a busy 2-core machine: 4.6 s to optimality by default, 1.0 s so).
    solver = _run(model, seconds=seconds, linearization_level=2, symmetry_level=0, **run)
    if solver is None:
        return sorted(hint)
    return [pair for pair, var in chosen.items() if solver.boolean_value(var)]


def choose_slots(
    problem: Problem,
    picked: list[Pair],
    values: dict[Pair, int],
    room: _Room,
    seconds: float,
    **run: int,
) -> list[tuple[int, int, int]]:
    """Step 2: a slot of its window for each chosen meeting; those that do not fit are left out."""
    hint = Occupancy(problem)
    for m in problem.fixed:
        hint.place(m.a, m.b, m.slot, m.table)
    hinted: set[tuple[Pair, int]] = set()
    options = {pair: len(room.slots(problem, pair, range(problem.slots))) for pair in picked}
    # The pairs with the fewest possible slots first, as when colouring a graph.
    for pair in sorted(picked, key=lambda p: (options[p], -values[p], p)):
        free = hint.free_slots(*pair)
        if free:
            hint.place(*pair, free[0])
            hinted.add((pair, free[0]))
    previous = {(m.pair, m.slot) for m in problem.previous}
    stability = len(previous) + 1
    model = cp_model.CpModel()
    chosen: dict[tuple[Pair, int], cp_model.IntVar] = {}
    per_person_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    per_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    objective = []
    for pair in picked:
        own = []
        for slot in room.slots(problem, pair, range(problem.slots)):
            var = model.new_bool_var("")
            chosen[(pair, slot)] = var
            own.append(var)
            per_slot[slot].append(var)
            for person in pair:
                per_person_slot[(person, slot)].append(var)
            objective.append((values[pair] * stability + ((pair, slot) in previous)) * var)
            model.add_hint(var, (pair, slot) in hinted)
        if len(own) > 1:
            model.add_at_most_one(own)
    for group in per_person_slot.values():
        if len(group) > 1:
            model.add_at_most_one(group)
    for slot, group in per_slot.items():
        if len(group) > room.tables[slot]:
            model.add(sum(group) <= room.tables[slot])
    model.maximize(sum(objective))
    solver = _run(model, seconds=seconds, **run)
    placed = hinted if solver is None else {key for key, var in chosen.items() if solver.boolean_value(var)}
    return [(*pair, slot) for pair, slot in placed]


def fill(problem: Problem, chosen: list[tuple[int, int, int]], candidates: list[Candidate]) -> list[Meeting]:
    """Step 3: the chosen meetings, then any candidate that still fits, best first; with tables."""
    occupancy = Occupancy(problem)
    for m in problem.fixed:
        occupancy.place(m.a, m.b, m.slot, m.table)
    for a, b, slot in chosen:
        occupancy.place(a, b, slot)
    place_greedily(occupancy, candidates)
    fixed = set(problem.fixed)
    return assign_tables(problem, [(m.a, m.b, m.slot) for m in occupancy.meetings if m not in fixed])


def solve(problem: Problem, *, time_limit: float = 8.0, workers: int = 2, seed: int = 0) -> Schedule:
    """The most valuable schedule found in about `time_limit` seconds, never worth less than greedy's."""
    started = time.perf_counter()
    candidates = schedulable(problem)
    baseline = greedy(problem, candidates)
    values = pair_values(problem)
    baseline_value = total_value(problem, baseline, values)
    room = _Room(problem)
    fixed_pairs = {m.pair for m in problem.fixed}
    hint = {m.pair: m.slot for m in baseline if m.pair not in fixed_pairs}
    run = {"workers": workers, "seed": seed}

    def left() -> float:
        return time_limit - (time.perf_counter() - started)

    shortlisted = shortlist(problem, candidates, set(hint))
    picked = choose_pairs(problem, shortlisted, room, set(hint), left() * 0.6, **run)
    chosen = choose_slots(problem, picked, values, room, left() * 0.8, **run)
    meetings = fill(problem, chosen, candidates)
    broken = violations(problem, meetings)
    if broken:  # never hand out an invalid schedule; a bug here must be loud, not silent
        log.error("the optimised schedule breaks rules, keeping greedy: %s", broken[:5])
    if broken or total_value(problem, meetings, values) < baseline_value:
        meetings, method = (
            assign_tables(problem, [(m.a, m.b, m.slot) for m in baseline if m.pair not in fixed_pairs]),
            "greedy",
        )
    else:
        method = "cp-sat"
    return Schedule(
        meetings=tuple(meetings),
        value=total_value(problem, meetings, values),
        method=method,
        greedy_value=baseline_value,
        seconds=round(time.perf_counter() - started, 3),
    )
