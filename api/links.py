"""Duplicate and translation links, found in the background whenever a listing becomes searchable.

The suggestion worker, which follows IndexSync.on_applied, runs the link worker on each batch first: a
new or changed listing is compared with its neighbours once its vector is in the index, and before it
is matched. Detection reads only the index and the store; a failure is logged and counted (health),
and `techmatch links` recomputes everything.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.listing_jobs import each_listing
from core.taxonomy import ListingStatus
from indexes.catalog import ListingIndex
from indexes.documents import listing_text
from matcher.links import LinkRule, find_links
from models.base import transaction
from models.id_sets import id_in
from models.links import (
    CLUSTERING_STATUSES,
    FoundLink,
    LinkType,
    ListingLink,
    clusters,
    delete_links_of,
    record_links,
    withdraw_links,
)
from models.listings import LISTING_MODELS
from models.matches import Match
from models.search_scope import SearchScope

log = logging.getLogger(__name__)


def indexed_texts(session: Session, kind: str, ids: Sequence[int]) -> dict[int, str]:
    """The indexed text (title, keywords, description) of published listings, by id."""
    model = LISTING_MODELS[kind]
    query = select(model.id, model.title, model.keywords, model.description).where(
        id_in(model.id, ids), model.status == ListingStatus.PUBLISHED
    )
    return {
        doc_id: listing_text(title=title, keywords=keywords or [], description=description)
        for doc_id, title, keywords, description in session.execute(query)
    }


def cluster_map(*, session: Session, kind: str, scope: SearchScope | None = None) -> dict[int, int]:
    """Listing id -> its cluster's smallest id, over proposed and confirmed links (dismissed ones split).

    With `scope`, only links between two listings it allows count: a cluster seen through a result list
    never joins two visible listings through a hidden one (a brokers-only need, a draft). A scope over
    every published listing is checked at the links' ends only: a subquery over every published
    listing made the database read the whole catalogue on each search.
    """
    query = select(ListingLink).where(
        ListingLink.kind == kind, ListingLink.status.in_(list(CLUSTERING_STATUSES))
    )
    links = list(session.scalars(query))
    if scope is None or not links:
        return clusters(links)
    allowed: AbstractSet[int]
    if scope.allowed is None:
        model = LISTING_MODELS[kind]
        ends = {end for link in links for end in (link.listing_a_id, link.listing_b_id)}
        published = select(model.id).where(id_in(model.id, ends), model.status == ListingStatus.PUBLISHED)
        allowed = set(session.scalars(published)) - scope.hidden
    else:
        allowed = scope.allowed
    return clusters([link for link in links if link.listing_a_id in allowed and link.listing_b_id in allowed])


class LinkWorker:
    """Finds the duplicates and translations of changed listings and stores them.

    It has no thread of its own: the suggestion worker runs it on each batch before suggesting
    (`SuggestionWorker(prepare=...)`), so a new duplicate is a cluster member before it could be
    suggested, and whoever waits for the suggestion worker has waited for the links too.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        indexes: Mapping[str, ListingIndex],
        rule: LinkRule | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.indexes = indexes
        self.rule = rule or LinkRule()
        self.totals: Counter[str] = Counter()

    def close(self) -> None:
        """Nothing to stop: the suggestion worker's thread runs the detection."""

    def health(self) -> dict[str, int]:
        return {"failures": self.totals["failed"], **self.totals}

    def process(self, changes: Iterable[tuple[str, int]]) -> Counter[str]:
        """Detect links for each listing in a transaction of its own: a failure costs one listing."""
        outcomes = each_listing(changes, self._detect, log=log, failure="finding links of %s %d failed")
        self.totals += outcomes
        return outcomes

    def recompute_all(self) -> Counter[str]:
        """Detect the links of every published listing again (`techmatch links`)."""
        with self.session_factory() as session:
            changes = [
                (kind, listing_id)
                for kind, model in LISTING_MODELS.items()
                for listing_id in session.scalars(
                    select(model.id).where(model.status == ListingStatus.PUBLISHED)
                )
            ]
        return self.process(changes)

    def _detect(self, kind: str, listing_id: int) -> Counter[str]:
        if kind not in self.indexes:
            return Counter()
        model = LISTING_MODELS[kind]
        with transaction(self.session_factory) as session:
            status = session.scalar(select(model.status).where(model.id == listing_id))
            if status is None:
                return Counter(
                    {"deleted": delete_links_of(session=session, kind=kind, listing_ids=[listing_id])}
                )
            if status != ListingStatus.PUBLISHED or listing_id not in self.indexes[kind]:
                withdrawn = withdraw_links(session=session, kind=kind, listing_id=listing_id)
                return Counter({"withdrawn": withdrawn}) if withdrawn else Counter()
            detected = find_links(
                self.indexes[kind],
                listing_id,
                texts=lambda ids: indexed_texts(session, kind, ids),
                rule=self.rule,
            )
            found = [
                FoundLink(
                    other_id=link.other_id,
                    link_type=LinkType(link.kind),
                    score=link.score,
                    reason=link.evidence.as_reason(link.kind),
                )
                for link in detected
            ]
            return Counter(record_links(session=session, kind=kind, listing_id=listing_id, found=found))


def _members(clusters: Mapping[int, int], listing_id: int) -> set[int]:
    cluster = clusters.get(listing_id)
    if cluster is None:
        return {listing_id}
    return {member for member, root in clusters.items() if root == cluster}


def pairs_covered_by_cluster(
    *,
    session: Session,
    kind: str,
    listing_id: int,
    own_clusters: Mapping[int, int],
    other_clusters: Mapping[int, int],
    other_ids: Sequence[int],
) -> set[int]:
    """Counterparts already paired (suggested or decided, any status) through another member of either
    listing's cluster: the same technology is not put in front of brokers twice."""
    if not other_ids:
        return set()
    own = _members(own_clusters, listing_id)
    theirs = {other_id: _members(other_clusters, other_id) for other_id in other_ids}
    if len(own) == 1 and all(len(members) == 1 for members in theirs.values()):
        return set()
    everyone = set().union(*theirs.values())
    needs, offers = (own, everyone) if kind == "needs" else (everyone, own)
    existing = {
        (need_id, offer_id)
        for need_id, offer_id in session.execute(
            select(Match.need_id, Match.offer_id).where(
                id_in(Match.need_id, needs), id_in(Match.offer_id, offers)
            )
        )
    }
    covered = set()
    for other_id, members in theirs.items():
        pairs = {(mine, other) if kind == "needs" else (other, mine) for mine in own for other in members}
        this_pair = (listing_id, other_id) if kind == "needs" else (other_id, listing_id)
        if (existing & pairs) - {this_pair}:
            covered.add(other_id)
    return covered
