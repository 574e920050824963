"""Meeting schedules for matchmaking events: which pairs meet, in which slot, at which table.

Pure: participants, candidate pairs and their scores in, meetings out; the store and the
matcher are the callers' business. This module holds the problem, the constraint checker,
the objective and the greedy baseline (best pair first); matcher.schedule_solver optimises.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Scores are probabilities in [0, 1]; the solver needs integers, and a thousandth is finer than
# the calibration can tell apart.
SCORE_UNITS = 1000


class ScheduleError(ValueError):
    """The problem cannot be scheduled as given (e.g. confirmed meetings that break a constraint)."""


@dataclass(frozen=True)
class Participant:
    """One organization at the event: its cap on meetings and the slots (0-based) it can attend."""

    id: int
    organization_id: int
    cap: int
    available: frozenset[int]


@dataclass(frozen=True)
class Candidate:
    """A pair that may meet: an accepted request, or an engine proposal valued by its match score."""

    a: int
    b: int
    score: float
    requested: bool = False

    @property
    def pair(self) -> tuple[int, int]:
        return pair_of(self.a, self.b)


@dataclass(frozen=True)
class Meeting:
    """Participants a and b (a < b) meet in `slot` (0-based) at `table` (1-based)."""

    a: int
    b: int
    slot: int
    table: int

    @property
    def pair(self) -> tuple[int, int]:
        return pair_of(self.a, self.b)


@dataclass(frozen=True)
class Problem:
    """Everything the scheduler decides on.

    `fixed` meetings (confirmed) are kept exactly; `previous` (the last schedule's unconfirmed
    meetings) are kept where that costs no value, so a re-optimisation moves as few as it can.
    """

    slots: int
    tables: int
    participants: tuple[Participant, ...]
    candidates: tuple[Candidate, ...]
    excluded: frozenset[frozenset[int]] = frozenset()
    fixed: tuple[Meeting, ...] = ()
    previous: tuple[Meeting, ...] = ()
    by_id: dict[int, Participant] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {p.id: p for p in self.participants})

    @property
    def request_weight(self) -> int:
        """Worth more than any set of proposals the event can hold: requests always come first."""
        return SCORE_UNITS * self.slots * self.tables + 1

    def may_meet(self, a: int, b: int) -> bool:
        """Two registered participants of different organizations that do not exclude each other."""
        first, second = self.by_id.get(a), self.by_id.get(b)
        if first is None or second is None or a == b:
            return False
        orgs = first.organization_id, second.organization_id
        return orgs[0] != orgs[1] and frozenset(orgs) not in self.excluded

    def value(self, candidate: Candidate) -> int:
        score = round(min(max(candidate.score, 0.0), 1.0) * SCORE_UNITS)
        return score + (self.request_weight if candidate.requested else 0)


def pair_of(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def meeting(a: int, b: int, slot: int, table: int) -> Meeting:
    """A meeting with its pair in canonical order."""
    first, second = pair_of(a, b)
    return Meeting(first, second, slot, table)


def schedulable(problem: Problem) -> list[Candidate]:
    """The candidates the rules allow, one per pair (requested wins, then the higher score), best first.

    Pairs that already have a fixed meeting are left out: a pair meets once.
    """
    fixed_pairs = {m.pair for m in problem.fixed}
    best: dict[tuple[int, int], Candidate] = {}
    for candidate in problem.candidates:
        pair = candidate.pair
        if pair in fixed_pairs or not problem.may_meet(*pair):
            continue
        canonical = Candidate(*pair, candidate.score, candidate.requested)
        if pair not in best or problem.value(canonical) > problem.value(best[pair]):
            best[pair] = canonical
    return sorted(best.values(), key=lambda c: (-problem.value(c), c.a, c.b))


def pair_values(problem: Problem) -> dict[tuple[int, int], int]:
    """Each candidate pair's value (the best of its candidates)."""
    values: dict[tuple[int, int], int] = {}
    for candidate in problem.candidates:
        values[candidate.pair] = max(values.get(candidate.pair, 0), problem.value(candidate))
    return values


def total_value(
    problem: Problem, meetings: Iterable[Meeting], values: dict[tuple[int, int], int] | None = None
) -> int:
    """The objective: the value of every meeting whose pair is a candidate (fixed ones included)."""
    values = pair_values(problem) if values is None else values
    return sum(values.get(m.pair, 0) for m in meetings)


def violations(problem: Problem, meetings: Sequence[Meeting]) -> list[str]:
    """Every broken constraint of a schedule, in words; empty when the schedule is valid."""
    problems: list[str] = []
    per_slot: dict[int, list[Meeting]] = defaultdict(list)
    busy: dict[tuple[int, int], Meeting] = {}
    count: dict[int, int] = defaultdict(int)
    seen_pairs: set[tuple[int, int]] = set()
    for m in meetings:
        if not 0 <= m.slot < problem.slots:
            problems.append(f"{m}: slot outside 0..{problem.slots - 1}")
        if not 1 <= m.table <= problem.tables:
            problems.append(f"{m}: table outside 1..{problem.tables}")
        if m.a >= m.b:
            problems.append(f"{m}: pair not in canonical order")
        if not problem.may_meet(m.a, m.b):
            problems.append(f"{m}: these participants may not meet (same or excluded organization, unknown)")
        if m.pair in seen_pairs:
            problems.append(f"{m}: the pair meets twice")
        seen_pairs.add(m.pair)
        per_slot[m.slot].append(m)
        for person in (m.a, m.b):
            participant = problem.by_id.get(person)
            if participant is not None and m.slot not in participant.available:
                problems.append(f"{m}: participant {person} is not available in slot {m.slot}")
            if (person, m.slot) in busy:
                problems.append(f"{m}: participant {person} already meets in slot {m.slot}")
            busy[(person, m.slot)] = m
            count[person] += 1
    for person, meetings_of in count.items():
        participant = problem.by_id.get(person)
        if participant is not None and meetings_of > participant.cap:
            problems.append(
                f"participant {person} has {meetings_of} meetings, over its cap {participant.cap}"
            )
    for slot, held in per_slot.items():
        if len(held) > problem.tables:
            problems.append(f"slot {slot} holds {len(held)} meetings on {problem.tables} tables")
        tables = [m.table for m in held]
        if len(tables) != len(set(tables)):
            problems.append(f"slot {slot}: a table hosts two meetings")
    kept = set(meetings)
    problems.extend(f"{m}: a confirmed meeting was moved or dropped" for m in problem.fixed if m not in kept)
    return problems


class Occupancy:
    """Who is busy when, how many meetings each has, which tables are taken: for placing meetings one by one."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.busy: set[tuple[int, int]] = set()
        self.count: dict[int, int] = defaultdict(int)
        self.tables: dict[int, set[int]] = defaultdict(set)
        self.pairs: set[tuple[int, int]] = set()
        self.meetings: list[Meeting] = []

    @property
    def full(self) -> bool:
        """Every table of every slot is taken: nothing more can be placed."""
        return len(self.meetings) >= self.problem.slots * self.problem.tables

    def free_slots(self, a: int, b: int) -> list[int]:
        """Slots where a and b can still meet, earliest first; none once either reached its cap."""
        first, second = self.problem.by_id[a], self.problem.by_id[b]
        if self.count[a] >= first.cap or self.count[b] >= second.cap or pair_of(a, b) in self.pairs:
            return []
        return [
            slot
            for slot in sorted(first.available & second.available)
            if (a, slot) not in self.busy
            and (b, slot) not in self.busy
            and len(self.tables[slot]) < self.problem.tables
        ]

    def place(self, a: int, b: int, slot: int, table: int | None = None) -> Meeting:
        """Book the meeting, at `table` if given, else at the lowest free table of the slot."""
        taken = self.tables[slot]
        if table is None or table in taken:
            table = next(t for t in range(1, self.problem.tables + 1) if t not in taken)
        placed = meeting(a, b, slot, table)
        taken.add(table)
        self.busy.update({(a, slot), (b, slot)})
        self.count[a] += 1
        self.count[b] += 1
        self.pairs.add(placed.pair)
        self.meetings.append(placed)
        return placed


def check_fixed(problem: Problem) -> None:
    """Confirmed meetings must keep every rule; otherwise no schedule can keep them."""
    broken = violations(problem, problem.fixed)
    if broken:
        raise ScheduleError("Confirmed meetings break the event's rules: " + "; ".join(broken[:5]))


def place_greedily(occupancy: Occupancy, candidates: Iterable[Candidate]) -> None:
    """Each candidate in turn (best first) in the earliest slot both can still make, if any."""
    for candidate in candidates:
        if occupancy.full:
            return
        slots = occupancy.free_slots(candidate.a, candidate.b)
        if slots:
            occupancy.place(candidate.a, candidate.b, slots[0])


def greedy(problem: Problem, candidates: Sequence[Candidate] | None = None) -> list[Meeting]:
    """The baseline: fixed meetings, then the best pair first, each in the earliest slot both can make.

    `candidates`: schedulable(problem), when the caller has it already.
    """
    check_fixed(problem)
    occupancy = Occupancy(problem)
    for m in problem.fixed:
        occupancy.place(m.a, m.b, m.slot, m.table)
    place_greedily(occupancy, schedulable(problem) if candidates is None else candidates)
    return occupancy.meetings


def assign_tables(problem: Problem, chosen: Iterable[tuple[int, int, int]]) -> list[Meeting]:
    """Tables for (a, b, slot) choices: fixed meetings keep theirs, then a pair keeps its previous
    table in the same slot when free, and the rest take the lowest free table."""
    occupancy = Occupancy(problem)
    for m in problem.fixed:
        occupancy.place(m.a, m.b, m.slot, m.table)
    previous_table = {(m.pair, m.slot): m.table for m in problem.previous}
    fixed_pairs = {m.pair for m in problem.fixed}
    rest = sorted((pair_of(a, b), slot) for a, b, slot in chosen if pair_of(a, b) not in fixed_pairs)
    # Pairs keeping their table first, so a newcomer does not take it.
    rest.sort(key=lambda item: (item not in previous_table, item[1], item[0]))
    for (a, b), slot in rest:
        occupancy.place(a, b, slot, previous_table.get(((a, b), slot)))
    return sorted(occupancy.meetings, key=lambda m: (m.slot, m.table))
