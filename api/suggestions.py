"""Suggested matches, computed in the background whenever a listing becomes searchable.

The worker follows IndexSync.on_applied rather than the change feed, so a new or changed
listing is matched only once its text is in the indexes. It matches as a broker would
see the exchange (brokers-only needs included); what members may see is decided where
matches are shown or sent, never here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session, sessionmaker

from api.links import cluster_map, pairs_covered_by_cluster
from api.listing_jobs import each_listing
from api.records import StoreRecords, need_record, offer_record
from core.access import Viewer
from core.settings import Settings
from core.taxonomy import ListingStatus, Role
from core.workers import ChangeQueue
from matcher.features import FEATURE_NAMES
from matcher.results import ScoredListing
from matcher.service import Matcher
from models.base import transaction, utcnow
from models.listings import (
    ListingFilters,
    Need,
    Offer,
    changed_listings,
    get_listings,
    visible_ids,
)
from models.match_pairs import Scoring
from models.match_pipeline import record_suggestion
from models.match_queue import withdraw_suggestions
from models.search_scope import search_scope

log = logging.getLogger(__name__)

# The engine looks at the exchange as a broker does.
ENGINE_VIEWER = Viewer(role=Role.BROKER)
_PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))


def _scoring(result: ScoredListing) -> Scoring:
    """The stored form of one ranked pair, with the feature vector the ranker scored (the training input)."""
    return Scoring(
        score=result.score,
        text_score=result.text_score,
        explanation=asdict(result.explanation),
        features=list(result.features),
        feature_names=list(FEATURE_NAMES),
        ranker_version=result.ranker_version,
    )


def rank_pairs(
    *,
    matcher: Matcher,
    session: Session,
    row: Need | Offer,
    allowed_ids: Collection[int] | None,
    k: int,
    clusters: Mapping[int, int] | None = None,
) -> list[tuple[int, Scoring]]:
    """The top `k` counterparts of a need or an offer, each with its Scoring; one per cluster of `clusters`."""
    results = matcher.match(
        need_record(row) if isinstance(row, Need) else offer_record(row),
        allowed_ids=allowed_ids,
        source=StoreRecords(session),
        viewer=ENGINE_VIEWER,
        k=k,
        now=utcnow(),
        clusters=clusters,
    )
    return [(result.id, _scoring(result)) for result in results]


def score_pair(*, matcher: Matcher, session: Session, need: Need, offer: Offer) -> Scoring | None:
    """The engine's view of one pair a broker proposes, or None when the offer is not searchable."""
    scored = rank_pairs(matcher=matcher, session=session, row=need, allowed_ids={offer.id}, k=1)
    return scored[0][1] if scored else None


class SuggestionWorker:
    """Matches changed listings on its own thread and stores the pairs above the suggestion threshold."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_factory: sessionmaker[Session],
        matcher: Matcher,
        prepare: Callable[[set[tuple[str, int]]], object] | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.matcher = matcher
        # Runs on each batch before suggesting (the link worker: clusters first, then one suggestion each).
        self.prepare = prepare
        self._changes = ChangeQueue(name="suggestions", handle=self.process)
        self.totals: Counter[str] = Counter()

    def notify(self, changes: Iterable[tuple[str, int]]) -> None:
        """Queue listings that became searchable (an IndexSync.on_applied listener; must not block)."""
        self._changes.put(change for change in changes if change[0] in ("needs", "offers"))

    def start(self) -> None:
        self._changes.start()

    def close(self) -> None:
        """Finish what is queued and stop."""
        self._changes.close()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued listing has been matched (tests and the CLI use this)."""
        return self._changes.wait_idle(timeout)

    def is_alive(self) -> bool:
        return self._changes.is_alive()

    def health(self) -> dict[str, int]:
        return {"queued": self._changes.qsize(), "failures": self._changes.failures, **self.totals}

    def process(self, changes: Iterable[tuple[str, int]]) -> Counter[str]:
        """Suggest matches for each listing, in a transaction per listing: a failure costs one listing."""
        batch = set(changes)
        if self.prepare is not None:
            try:
                self.prepare(batch)
            except Exception:  # suggestions must not wait on it; its own failures are counted where it runs
                log.exception("preparing %d change(s) for suggestions failed", len(batch))
        outcomes = each_listing(batch, self._suggest, log=log, failure="suggesting matches for %s %d failed")
        self.totals += outcomes
        return outcomes

    def recompute_all(self) -> Counter[str]:
        """Match every published listing of both kinds again (`techmatch suggest`)."""
        with self.session_factory() as session:
            changes = [
                (kind, listing_id)
                for kind, model in (("needs", Need), ("offers", Offer))
                for listing_id in visible_ids(
                    session=session, model=model, filters=_PUBLISHED, viewer=ENGINE_VIEWER
                )
            ]
        return self.process(changes)

    def recompute_changed(self, *, since: datetime) -> Counter[str]:
        """Match only the listings written since `since` against the catalogue (`techmatch suggest
        --changed`): the cost grows with the changed listings times k, not with the catalogue squared.
        Archived or deleted-since listings withdraw their suggestions as in `process`."""
        with self.session_factory() as session:
            changes = changed_listings(session=session, since=since)
        return self.process(changes)

    def _suggest(self, kind: str, listing_id: int) -> Counter[str]:
        other: type[Need] | type[Offer] = Offer if kind == "needs" else Need
        outcomes: Counter[str] = Counter()
        with transaction(self.session_factory) as session:
            row = session.get(Need, listing_id) if kind == "needs" else session.get(Offer, listing_id)
            if row is None or row.status != ListingStatus.PUBLISHED:
                withdrawn = withdraw_suggestions(session=session, kind=kind, listing_id=listing_id)
                return Counter({"withdrawn": withdrawn}) if withdrawn else outcomes
            # The engine sees every published listing (staff): no id list, nothing hidden.
            allowed = search_scope(
                session=session, model=other, filters=_PUBLISHED, viewer=ENGINE_VIEWER
            ).allowed
            other_kind = "offers" if kind == "needs" else "needs"
            # One technology listed twice (or in two languages) is suggested once per counterpart.
            other_clusters = cluster_map(session=session, kind=other_kind)
            ranked = rank_pairs(
                matcher=self.matcher,
                session=session,
                row=row,
                allowed_ids=allowed,
                k=self.settings.suggestion_top_k,
                clusters=other_clusters,
            )
            above = [
                (other_id, scoring)
                for other_id, scoring in ranked
                if scoring.score >= self.settings.suggestion_threshold
            ]
            covered = pairs_covered_by_cluster(
                session=session,
                kind=kind,
                listing_id=listing_id,
                own_clusters=cluster_map(session=session, kind=kind),
                other_clusters=other_clusters,
                other_ids=[other_id for other_id, _ in above],
            )
            kept = [(other_id, scoring) for other_id, scoring in above if other_id not in covered]
            if len(kept) < len(above):
                outcomes["clustered"] += len(above) - len(kept)
            ids = [other_id for other_id, _ in kept]
            counterparts: dict[int, Need] | dict[int, Offer] = (
                get_listings(session=session, model=Offer, ids=ids)
                if kind == "needs"
                else get_listings(session=session, model=Need, ids=ids)
            )
            for other_id, scoring in kept:
                pair = (row, counterparts[other_id]) if kind == "needs" else (counterparts[other_id], row)
                need, offer = cast(tuple[Need, Offer], pair)
                outcome = record_suggestion(
                    session=session,
                    need=need,
                    offer=offer,
                    scoring=scoring,
                    strong_threshold=self.settings.suggestion_strong_threshold,
                )
                outcomes[outcome] += 1
        return outcomes
