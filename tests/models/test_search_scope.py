"""The search's scope: no id list unless a facet narrows it, hidden needs named; transfer types in SQL."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.access import ANONYMOUS, Viewer
from core.id_array import IdArray
from core.taxonomy import Confidentiality, ListingStatus, OrgKind, Role, TransferType
from models.base import transaction
from models.listings import ListingFilters, Need, Offer, list_listings, update_listing, visible_ids
from models.search_scope import HIDDEN_MAX, SearchScope, search_scope
from tests.models.test_facets import new_listing, random_filters, random_store, random_values, viewers
from tests.models.test_matches import make_need, make_offer, org

PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
STAFF = Viewer(role=Role.BROKER)


def test_no_id_list_when_the_filter_excludes_no_indexed_listing(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        offer = make_offer(session, institute).id
        make_offer(session, institute, "Draft", status="draft")
        make_need(session, enterprise)
    member = Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=enterprise)
    with factory() as session:

        def scope(model: type[Offer] | type[Need], filters: ListingFilters, viewer: Viewer) -> SearchScope:
            return search_scope(session=session, model=model, filters=filters, viewer=viewer)

        for viewer in (ANONYMOUS, member, STAFF):
            assert scope(Offer, PUBLISHED, viewer) == SearchScope(None)
            assert scope(Need, PUBLISHED, viewer) == SearchScope(None)
        # Any facet constrains the set: the id list comes back.
        by_region = ListingFilters(statuses=(ListingStatus.PUBLISHED,), regions=("can_tho",))
        assert scope(Offer, by_region, ANONYMOUS) == SearchScope({offer})
        by_trl = ListingFilters(statuses=(ListingStatus.PUBLISHED,), trl_min=0)
        assert scope(Offer, by_trl, ANONYMOUS) == SearchScope({offer})
    with transaction(factory) as session:
        secret = make_need(session, enterprise, "Secret", confidentiality=Confidentiality.BROKERS_ONLY).id
    with factory() as session:
        # A published brokers-only need is indexed but hidden from others: named, not every other id.
        assert scope(Need, PUBLISHED, ANONYMOUS) == SearchScope(None, frozenset({secret}))
        other = Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=institute)
        assert scope(Need, PUBLISHED, other) == SearchScope(None, frozenset({secret}))
        # Its owner and staff see it: nothing is excluded.
        assert scope(Need, PUBLISHED, member) == SearchScope(None)
        assert scope(Need, PUBLISHED, STAFF) == SearchScope(None)
        assert secret in visible_ids(session=session, model=Need, filters=PUBLISHED, viewer=member)


def test_many_hidden_needs_turn_the_scope_into_the_visible_ids(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.search_scope.HIDDEN_MAX", 2)
    with transaction(factory) as session:
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        public_need = make_need(session, enterprise).id
        for i in range(3):
            make_need(session, enterprise, f"Secret {i}", confidentiality=Confidentiality.BROKERS_ONLY)
    with factory() as session:
        found = search_scope(session=session, model=Need, filters=PUBLISHED, viewer=ANONYMOUS)
    assert found == SearchScope({public_need})
    assert HIDDEN_MAX > 2


def test_transfer_types_are_filtered_in_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        licence = make_offer(session, institute, "A", transfer_types=["licence"]).id
        both = make_offer(session, institute, "B", transfer_types=["assignment", "licence"]).id
        venture = make_offer(session, institute, "C", transfer_types=["joint_venture"]).id
        make_offer(session, institute, "D", transfer_types=[])
    with factory() as session:

        def ids(*wanted: TransferType) -> set[int]:
            filters = ListingFilters(transfer_types=wanted)
            listed, total, exact = list_listings(session=session, model=Offer, filters=filters, viewer=STAFF)
            assert total == len(listed) and exact
            found = visible_ids(session=session, model=Offer, filters=filters, viewer=STAFF)
            assert {row.id for row in listed} == found
            return found

        assert ids(TransferType.LICENCE) == {licence, both}
        assert ids(TransferType.ASSIGNMENT) == {both}
        assert ids(TransferType.ASSIGNMENT, TransferType.JOINT_VENTURE) == {both, venture}
        assert ids(TransferType.CONSULTANCY) == set()


@pytest.mark.parametrize("seed", range(2))
def test_with_facets_a_scope_equals_the_sql_one_as_listings_change(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    orgs, facets = random_store(factory, rng, organizations=3, per_kind=120)

    def compare(rounds: int) -> int:
        listed = 0
        with factory() as session:
            for _round in range(rounds):
                for model in (Offer, Need):
                    filters = replace(random_filters(rng, orgs, []), statuses=(ListingStatus.PUBLISHED,))
                    for viewer in viewers(orgs):
                        expected = search_scope(session=session, model=model, filters=filters, viewer=viewer)
                        found = search_scope(
                            session=session, model=model, filters=filters, viewer=viewer, facets=facets
                        )
                        assert found == expected, (model, filters, viewer)
                        if expected.allowed is not None:
                            assert isinstance(found.allowed, IdArray)  # no SQL, no Python set
                            listed += len(expected.allowed) > 0
        return listed

    assert compare(rounds=15) > 20
    for _step in range(3):
        with transaction(factory) as session:
            for model in (Offer, Need):
                rows = list(session.scalars(select(model)))
                for row in rng.sample(rows, 20):
                    update_listing(session=session, row=row, values=random_values(rng, model, orgs))
                new_listing(session, rng, model, orgs)
        # The very next scope sees the change: no waiting for a worker.
        assert compare(rounds=4) > 4
    # Past HIDDEN_MAX hidden needs the unfiltered scope lists ids too: from the facets as well.
    monkeypatch.setattr("models.search_scope.HIDDEN_MAX", 0)
    with factory() as session:
        expected = search_scope(session=session, model=Need, filters=PUBLISHED, viewer=ANONYMOUS)
        found = search_scope(session=session, model=Need, filters=PUBLISHED, viewer=ANONYMOUS, facets=facets)
    assert expected.allowed and found == expected and isinstance(found.allowed, IdArray)
