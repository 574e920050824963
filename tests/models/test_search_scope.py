"""The search's allowed set: none when it excludes nothing indexed; transfer types filtered in SQL."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.access import ANONYMOUS, Viewer
from core.taxonomy import Confidentiality, ListingStatus, OrgKind, Role, TransferType
from models.base import transaction
from models.listings import ListingFilters, Need, Offer, list_listings, searchable_ids, visible_ids
from tests.models.test_matches import make_need, make_offer, org

PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
STAFF = Viewer(role=Role.BROKER)


def test_no_id_list_when_the_filter_excludes_no_indexed_listing(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        institute = org(session, "inst", OrgKind.RESEARCH_INSTITUTE)
        enterprise = org(session, "ent", OrgKind.ENTERPRISE)
        offer = make_offer(session, institute).id
        make_offer(session, institute, "Draft", status="draft")
        public_need = make_need(session, enterprise).id
    member = Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=enterprise)
    with factory() as session:
        for viewer in (ANONYMOUS, member, STAFF):
            assert searchable_ids(session=session, model=Offer, filters=PUBLISHED, viewer=viewer) is None
            assert searchable_ids(session=session, model=Need, filters=PUBLISHED, viewer=viewer) is None
        # Any facet constrains the set: the id list comes back.
        by_region = ListingFilters(statuses=(ListingStatus.PUBLISHED,), regions=("can_tho",))
        assert searchable_ids(session=session, model=Offer, filters=by_region, viewer=ANONYMOUS) == {offer}
        by_trl = ListingFilters(statuses=(ListingStatus.PUBLISHED,), trl_min=0)
        assert searchable_ids(session=session, model=Offer, filters=by_trl, viewer=ANONYMOUS) == {offer}
    with transaction(factory) as session:
        secret = make_need(session, enterprise, "Secret", confidentiality=Confidentiality.BROKERS_ONLY).id
    with factory() as session:
        # A published brokers-only need is indexed but hidden from others: they get the id list.
        assert searchable_ids(session=session, model=Need, filters=PUBLISHED, viewer=ANONYMOUS) == {
            public_need
        }
        other = Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=institute)
        assert searchable_ids(session=session, model=Need, filters=PUBLISHED, viewer=other) == {public_need}
        # Its owner and staff see it: nothing is excluded.
        assert searchable_ids(session=session, model=Need, filters=PUBLISHED, viewer=member) is None
        assert searchable_ids(session=session, model=Need, filters=PUBLISHED, viewer=STAFF) is None
        assert secret in visible_ids(session=session, model=Need, filters=PUBLISHED, viewer=member)


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
            listed, total = list_listings(session=session, model=Offer, filters=filters, viewer=STAFF)
            assert total == len(listed)
            found = visible_ids(session=session, model=Offer, filters=filters, viewer=STAFF)
            assert {row.id for row in listed} == found
            return found

        assert ids(TransferType.LICENCE) == {licence, both}
        assert ids(TransferType.ASSIGNMENT) == {both}
        assert ids(TransferType.ASSIGNMENT, TransferType.JOINT_VENTURE) == {both, venture}
        assert ids(TransferType.CONSULTANCY) == set()
