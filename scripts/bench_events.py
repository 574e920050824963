"""Matchmaking-event schedules: CP-SAT against the greedy baseline on synthetic events.

    python -m scripts.bench_events [--sizes 50 200 1000] [--repeats 3] [--time-limit 8]

For each size, one synthetic event (16 slots, 40 tables; see synthetic_event) is scheduled by
the greedy baseline (best pair first) and by matcher.schedule_solver; prints the median wall
time of each (model building included), the objective of the solver over greedy's, the share of
accepted requests each placed and the summed match scores of the proposals each placed (requests
dominate the objective, so its ratio hides the proposals). The solver uses 2 workers, as the
team's machines have.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence

from matcher.schedule import Candidate, Meeting, Participant, Problem, greedy, total_value, violations
from matcher.schedule_solver import solve

SECTORS = 12


def synthetic_event(
    participants: int, *, slots: int = 16, tables: int = 40, seed: int = 0, min_score: float = 0.3
) -> Problem:
    """A random event shaped like a technology connection day.

    Half institutes, half enterprises, each of a sector; an institute and an enterprise of one
    sector score about 0.55, others about 0.1 (noise 0.2), and pairs below `min_score` are not
    proposed. One participant in ten shares its organization with another, one in fifty excludes
    some organization; seven in ten attend all day, the rest only the morning or the afternoon;
    caps are 3-8. Each participant asks for about 1.5 meetings, mostly with good matches, and
    three requests in four are accepted.
    """
    rng = random.Random(seed)
    kinds = [rng.random() < 0.5 for _ in range(participants)]  # True: enterprise
    sectors = [rng.randrange(SECTORS) for _ in range(participants)]
    organizations = list(range(1, participants + 1))
    for person in rng.sample(range(participants), participants // 10):
        organizations[person] = organizations[rng.randrange(participants)]
    half = slots // 2
    windows = [frozenset(range(slots)), frozenset(range(half)), frozenset(range(half, slots))]
    people = tuple(
        Participant(
            id=person + 1,
            organization_id=organizations[person],
            cap=rng.randint(3, 8),
            available=windows[0] if rng.random() < 0.7 else rng.choice(windows[1:]),
        )
        for person in range(participants)
    )
    excluded = frozenset(
        frozenset((organizations[person], organizations[rng.randrange(participants)]))
        for person in rng.sample(range(participants), participants // 50)
    )
    scores: dict[tuple[int, int], float] = {}
    for a in range(participants):
        for b in range(a + 1, participants):
            if kinds[a] != kinds[b]:
                base = 0.55 if sectors[a] == sectors[b] else 0.1
                score = min(1.0, max(0.0, rng.gauss(base, 0.2)))
                if score >= min_score:
                    scores[(a + 1, b + 1)] = round(score, 3)
    good = list(scores)
    requested: set[tuple[int, int]] = set()
    for person in range(1, participants + 1):
        for _ in range(min(5, int(rng.expovariate(1 / 1.5)))):
            if rng.random() < 0.7 and good:
                pair = rng.choice(good)
            else:
                other = rng.randrange(1, participants + 1)
                pair = (min(person, other), max(person, other))
            if pair[0] != pair[1] and rng.random() < 0.75:
                requested.add(pair)
    candidates = [Candidate(a, b, score, (a, b) in requested) for (a, b), score in scores.items()]
    candidates += [Candidate(a, b, 0.0, True) for a, b in requested - scores.keys()]
    return Problem(
        slots=slots, tables=tables, participants=people, candidates=tuple(candidates), excluded=excluded
    )


def requests_placed(problem: Problem, meetings: Sequence[Meeting]) -> tuple[int, int]:
    """(accepted requests that got a meeting, accepted requests that could: between allowed pairs)."""
    wanted = {c.pair for c in problem.candidates if c.requested and problem.may_meet(c.a, c.b)}
    return len(wanted & {m.pair for m in meetings}), len(wanted)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (median reported)")
    parser.add_argument("--time-limit", type=float, default=8.0, help="the solver's limit, seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(
        "| participants | candidate pairs | greedy s | solver s (median) | objective / greedy "
        "| accepted requests placed, greedy → solver | proposal score sum, greedy → solver (ratio) "
        "| meetings, greedy → solver |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        problem = synthetic_event(size, seed=args.seed)
        greedy_times, solver_times, schedules = [], [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            baseline = greedy(problem)
            greedy_times.append(time.perf_counter() - started)
            schedule = solve(problem, time_limit=args.time_limit, workers=2, seed=args.seed)
            solver_times.append(schedule.seconds)
            schedules.append(schedule)
            assert not violations(problem, schedule.meetings), violations(problem, schedule.meetings)[:3]
        # The run of median time stands for the size (its objective, requests and proposals).
        schedule = sorted(schedules, key=lambda s: s.seconds)[len(schedules) // 2]
        greedy_value = total_value(problem, baseline)
        placed_greedy, wanted = requests_placed(problem, baseline)
        placed_solver, _ = requests_placed(problem, schedule.meetings)
        proposals_greedy = proposal_score(problem, baseline)
        proposals_solver = proposal_score(problem, schedule.meetings)
        print(
            f"| {size:,} | {len(problem.candidates):,} | {statistics.median(greedy_times):.2f} "
            f"| {statistics.median(solver_times):.2f} | {schedule.value / greedy_value:.6f} "
            f"| {placed_greedy}/{wanted} ({placed_greedy / wanted:.1%}) → {placed_solver} ({placed_solver / wanted:.1%}) "
            f"| {proposals_greedy:.1f} → {proposals_solver:.1f} ({proposals_solver / proposals_greedy:.3f}) "
            f"| {len(baseline)} → {len(schedule.meetings)} |",
            flush=True,
        )


def proposal_score(problem: Problem, meetings: Sequence[Meeting]) -> float:
    """Sum of the match scores of the meetings that are proposals, not accepted requests."""
    requested = {c.pair for c in problem.candidates if c.requested}
    scores = {c.pair: c.score for c in problem.candidates if not c.requested}
    return sum(scores.get(m.pair, 0.0) for m in meetings if m.pair not in requested)


if __name__ == "__main__":
    main()
