"""What matchmaking events need from both the store and the matcher: pair scores, schedules, outcomes.

Lives in api/ (like suggestions) because it joins the two: the matcher scores the participants'
listings, models.meetings stores, matcher.schedule_solver schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.records import StoreRecords, need_record
from api.suggestions import ENGINE_VIEWER, score_pair
from core.access import Viewer
from core.taxonomy import ListingStatus
from matcher.schedule import ScheduleError, pair_of
from matcher.schedule_solver import solve
from matcher.service import Matcher
from models import event_participants as participant_service
from models import match_pairs as pair_service
from models import match_pipeline as pipeline_service
from models import meetings as meeting_service
from models.base import utcnow
from models.errors import ConflictError, InvalidError
from models.listings import ListingFilters, Need, Offer, get_listings, visible_ids
from models.matches import Match, MatchStatus
from models.matchmaking import EventStatus, MatchmakingEvent, Meeting, MeetingOutcome, MeetingStatus

_PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))


def score_participants(*, matcher: Matcher, session: Session, event: MatchmakingEvent) -> list[list[object]]:
    """The best calibrated score between each two participants: each need against the others' offers.

    Rows are [a, b, score, need_id, offer_id] (a < b), the form stored on the event.
    """
    participants = participant_service.participants_of(session=session, event_id=event.id)
    offer_owner = {offer_id: p.id for p in participants for offer_id in p.offer_ids}
    searchable = visible_ids(session=session, model=Offer, filters=_PUBLISHED, viewer=ENGINE_VIEWER)
    offers = searchable & offer_owner.keys()
    best: dict[tuple[int, int], list[object]] = {}
    records, now = StoreRecords(session), utcnow()
    for participant in participants:
        needs = get_listings(session=session, model=Need, ids=participant.need_ids)
        others = {offer_id for offer_id in offers if offer_owner[offer_id] != participant.id}
        for need in needs.values():
            if need.status != ListingStatus.PUBLISHED or not others:
                continue
            # Scores only: explaining every pair (sentence correspondences across languages) would
            # cost more than the matching itself.
            pairs = matcher.candidate_pairs(
                need_record(need), allowed_ids=others, source=records, viewer=ENGINE_VIEWER, now=now
            )
            if not pairs.others:
                continue
            for offer, score in zip(pairs.others, matcher.ranker.score_pairs(pairs.features), strict=True):
                pair = pair_of(participant.id, offer_owner[offer.id])
                value = round(float(score), 4)
                if pair not in best or value > best[pair][2]:  # type: ignore[operator]
                    best[pair] = [*pair, value, need.id, offer.id]
    return sorted(best.values(), key=lambda row: (row[0], row[1]))


@dataclass(frozen=True)
class Scheduled:
    """What a scheduling run did, for the caller (API, CLI)."""

    method: str
    seconds: float
    value: int
    greedy_value: int
    meetings: int
    confirmed_kept: int
    requests_accepted: int
    requests_placed: int
    proposals_placed: int
    agendas_changed: int


def schedule_event(
    *, session: Session, event: MatchmakingEvent, time_limit: float, matcher: Matcher | None
) -> Scheduled:
    """Re-optimise the event's schedule, keeping confirmed meetings; `matcher` re-scores the pairs
    first (None reuses the stored scores, as after a cancellation)."""
    participant_service.check_open(event)
    if matcher is not None:
        event.pair_scores = score_participants(matcher=matcher, session=session, event=event)
    problem = meeting_service.build_problem(session=session, event=event)
    try:
        schedule = solve(problem, time_limit=time_limit)
    except ScheduleError as exc:  # e.g. an exclusion added after two organizations confirmed a meeting
        raise ConflictError(f"{exc} Cancel the meeting or lift the exclusion first.") from None
    changed = meeting_service.apply_schedule(
        session=session, event=event, problem=problem, scheduled=schedule.meetings
    )
    requested = {c.pair for c in problem.candidates if c.requested}
    placed = {m.pair for m in schedule.meetings}
    return Scheduled(
        method=schedule.method,
        seconds=schedule.seconds,
        value=schedule.value,
        greedy_value=schedule.greedy_value,
        meetings=len(schedule.meetings),
        confirmed_kept=len(problem.fixed),
        requests_accepted=len(requested),
        requests_placed=len(requested & placed),
        proposals_placed=len(placed - requested - {m.pair for m in problem.fixed}),
        agendas_changed=len(changed),
    )


def record_outcome(
    *,
    session: Session,
    matcher: Matcher,
    event: MatchmakingEvent,
    meeting: Meeting,
    outcome: MeetingOutcome,
    need_id: int | None,
    offer_id: int | None,
    note: str | None,
    actor: Viewer,
) -> None:
    """After the day: what came of a meeting. An introduction creates or advances the pair's match
    in the broker pipeline (a decision the ranker learns from)."""
    if event.status == EventStatus.OPEN:
        raise ConflictError(f"Event {event.id} is not published yet; outcomes come after the day.")
    if meeting.status == MeetingStatus.CANCELLED:
        raise ConflictError(f"Meeting {meeting.id} was cancelled.")
    meeting.outcome, meeting.outcome_note = outcome, note
    if outcome != MeetingOutcome.LED_TO_INTRODUCTION:
        session.flush()
        return
    need_id, offer_id = need_id or meeting.need_id, offer_id or meeting.offer_id
    if need_id is None or offer_id is None:
        raise InvalidError(
            "Name the need_id and offer_id that were introduced: the meeting has no scored pair."
        )
    need, offer = session.get(Need, need_id), session.get(Offer, offer_id)
    sides = {meeting.a.organization_id, meeting.b.organization_id}
    if need is None or offer is None or {need.organization_id, offer.organization_id} != sides:
        raise InvalidError("The need and the offer must be listings of the meeting's two organizations.")
    match = session.query(Match).filter_by(need_id=need.id, offer_id=offer.id).one_or_none()
    note = note or f"Introduced at event {event.id} ({event.name}), meeting {meeting.id}."
    if match is None:
        scoring = score_pair(matcher=matcher, session=session, need=need, offer=offer)
        pair_service.check_pairable(need=need, offer=offer)
        match = pipeline_service.create_match(
            session=session, need=need, offer=offer, actor=actor, note=note, scoring=scoring
        )
    if match.status == MatchStatus.SUGGESTED:
        pipeline_service.transition(
            session=session, match=match, to=MatchStatus.ACCEPTED, actor=actor, note=note
        )
    if match.status == MatchStatus.ACCEPTED:
        pipeline_service.transition(
            session=session, match=match, to=MatchStatus.INTRODUCED, actor=actor, note=note
        )
    elif match.status in (MatchStatus.REJECTED, MatchStatus.LOST):
        raise ConflictError(
            f"Match {match.id} of this pair is {match.status.value}; a broker decides whether to reopen it."
        )
    meeting.match_id = match.id
    session.flush()
