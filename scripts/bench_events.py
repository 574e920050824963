"""Matchmaking-event schedules: CP-SAT against the greedy baseline on synthetic events.

    python -m scripts.bench_events [--sizes 50 200 1000] [--repeats 3] [--time-limit 8]
    python -m scripts.bench_events --demo [--time-limit 8]

For each size, one synthetic event (16 slots, 40 tables; see synthetic_event) is scheduled by
the greedy baseline (best pair first) and by matcher.schedule_solver; prints the median wall
time of each (model building included), the objective of the solver over greedy's, the share of
accepted requests each placed and the summed match scores of the proposals each placed (requests
dominate the objective, so its ratio hides the proposals). The solver uses 2 workers, as the
team's machines have.

With --demo, the whole schedule endpoint's work instead: the demo data set in a scratch SQLite
store, indexed with the configured model, every organization with published listings registered
(up to 20 of each kind), one accepted request per enterprise; prints the time to score the pairs
with the matcher and the time to solve.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
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
    parser.add_argument("--demo", action="store_true", help="schedule the demo data end to end instead")
    args = parser.parse_args(argv)
    if args.demo:
        demo_schedule(time_limit=args.time_limit, seed=args.seed)
        return
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


def demo_schedule(*, time_limit: float, seed: int) -> None:
    """Score and schedule an event of every demo organization, as POST /events/{id}/schedule does."""
    from datetime import UTC, datetime
    from pathlib import Path

    from sqlalchemy import select

    from api.app import build_runtime
    from api.event_planning import schedule_event
    from core.settings import get_settings
    from core.taxonomy import ListingStatus, OrgKind
    from indexes.encoder import build_encoder
    from models.base import make_engine, make_session_factory, transaction
    from models.event_participants import get_event, register
    from models.listings import Need, Offer
    from models.matchmaking import EventStatus, MatchmakingEvent, MeetingRequest, RequestStatus
    from models.migrate import upgrade
    from models.organizations import Organization
    from scripts.demo import load_demo

    base = get_settings()
    encoder = build_encoder(base)  # the configured model, from the usual data directory
    with tempfile.TemporaryDirectory() as scratch:
        settings = base.model_copy(
            update={"data_dir": Path(scratch), "database_url": None, "background_workers": False}
        )
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            load_demo(session=session)
        engine.dispose()
        runtime = build_runtime(settings, encoder)
        try:
            with transaction(runtime.session_factory) as session:
                event = MatchmakingEvent(
                    name="Demo day",
                    venue="Hall",
                    starts_at=datetime(2027, 3, 5, 1, tzinfo=UTC),
                    slot_minutes=20,
                    slots=16,
                    tables=40,
                    min_score=0.5,
                    status=EventStatus.OPEN,
                    schedule_version=0,
                )
                session.add(event)
                session.flush()
                people = {}
                kinds: tuple[tuple[str, type[Offer] | type[Need]], ...] = (
                    ("offer_ids", Offer),
                    ("need_ids", Need),
                )
                for organization in session.query(Organization).order_by(Organization.id):
                    listings = {
                        field: list(
                            session.scalars(
                                select(model.id)
                                .where(
                                    model.organization_id == organization.id,
                                    model.status == ListingStatus.PUBLISHED,
                                )
                                .order_by(model.id)
                                .limit(20)
                            )
                        )
                        for field, model in kinds
                    }
                    if any(listings.values()):
                        values = {"organization_id": organization.id, "meeting_cap": 8, **listings}
                        people[organization.id] = (
                            organization.kind,
                            register(session=session, event=event, values=values),
                        )
                rng = random.Random(seed)
                institutes = [p for kind, p in people.values() if kind != OrgKind.ENTERPRISE and p.offer_ids]
                for kind, participant in people.values():
                    if kind == OrgKind.ENTERPRISE and institutes:
                        target = rng.choice(institutes)
                        session.add(
                            MeetingRequest(
                                event_id=event.id,
                                requester_id=participant.id,
                                target_id=target.id,
                                status=RequestStatus.ACCEPTED,
                            )
                        )
                event_id = event.id
                needs = sum(len(p.need_ids) for _kind, p in people.values())
                offers = sum(len(p.offer_ids) for _kind, p in people.values())
            started = time.perf_counter()
            with transaction(runtime.session_factory) as session:
                report = schedule_event(
                    session=session,
                    event=get_event(session=session, event_id=event_id),
                    time_limit=time_limit,
                    matcher=runtime.matcher,
                )
            total = time.perf_counter() - started
        finally:
            runtime.index_sync.close()
            runtime.engine.dispose()
    print(
        f"demo event: {len(people)} participants ({needs} needs, {offers} offers), {encoder.model_name}: "
        f"scoring {total - report.seconds:.2f} s, solving {report.seconds:.2f} s ({report.method}), "
        f"total {total:.2f} s; {report.meetings} meetings, {report.requests_placed}/{report.requests_accepted} "
        f"accepted requests placed, {report.proposals_placed} proposals; value {report.value} vs greedy "
        f"{report.greedy_value}"
    )


if __name__ == "__main__":
    main()
