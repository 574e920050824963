"""Listing facets count exactly what the SQL count counts, for any filters and viewer, as listings change."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.access import ANONYMOUS, Viewer
from core.taxonomy import (
    Confidentiality,
    IPStatus,
    Language,
    ListingStatus,
    OrgKind,
    Region,
    Role,
    Sector,
    TransferType,
)
from models.base import transaction
from models.events import ListingChangeFeed
from models.facets import DEAD_SHARE, TRL_NULL, KindColumns, ListingFacets, _decode
from models.listings import (
    LISTING_MODELS,
    ListingFilters,
    Need,
    Offer,
    _filtered,
    capped_count,
    create_listing,
    delete_listing,
    update_listing,
    visible_ids,
)
from tests.models.test_matches import org

ORGS = 4


def random_values(rng: random.Random, model: type[Offer] | type[Need], orgs: list[int]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organization_id": rng.choice(orgs),
        "sector": rng.choice(list(Sector)),
        "transfer_types": rng.sample([t.value for t in TransferType], rng.choice([0, 0, 1, 1, 2, 3])),
        "region": rng.choice(list(Region)),
        "language": rng.choice(list(Language)),
        "status": rng.choice(list(ListingStatus)),
    }
    if model is Offer:
        values |= {"trl": rng.randint(1, 9), "ip_status": rng.choice(list(IPStatus))}
    else:
        values |= {"min_trl": rng.randint(1, 9), "confidentiality": rng.choice(list(Confidentiality))}
    return values


def new_listing(
    session: Session, rng: random.Random, model: type[Offer] | type[Need], orgs: list[int]
) -> int:
    title = f"Listing {rng.random()}"
    values = {"title": title, "description": title, **random_values(rng, model, orgs)}
    return create_listing(session=session, model=model, values=values).id


def some(rng: random.Random, choices: list[Any]) -> list[Any]:
    return rng.sample(choices, rng.randint(1, min(3, len(choices)))) if rng.random() < 0.3 else []


def random_filters(rng: random.Random, orgs: list[int], ids: list[int]) -> ListingFilters:
    def bound() -> int | None:
        return rng.randint(1, 9) if rng.random() < 0.3 else None

    return ListingFilters(
        sectors=some(rng, list(Sector)),
        trl_min=bound(),
        trl_max=bound(),
        ip_statuses=some(rng, list(IPStatus)),
        transfer_types=some(rng, list(TransferType)),
        regions=some(rng, list(Region)),
        languages=some(rng, list(Language)),
        statuses=some(rng, list(ListingStatus)),
        organization_id=rng.choice([*orgs, 10_000]) if rng.random() < 0.2 else None,
        exclude_ids=rng.sample([*ids, 10**9], min(len(ids), rng.randint(1, 30)))
        if rng.random() < 0.2
        else (),
    )


def viewers(orgs: list[int]) -> list[Viewer]:
    members = [Viewer(role=Role.ENTERPRISE_MEMBER, organization_id=o) for o in orgs]
    return [ANONYMOUS, Viewer(role=Role.BROKER), Viewer(role=Role.ADMIN, organization_id=orgs[0]), *members]


def random_store(
    factory: sessionmaker[Session], rng: random.Random, *, organizations: int, per_kind: int
) -> tuple[list[int], ListingFacets]:
    """`per_kind` random offers and needs of `organizations` enterprises, and facets loaded over them
    that the change feed keeps in sync; the organizations' ids."""
    with transaction(factory) as session:
        orgs = [org(session, f"org-{i}", OrgKind.ENTERPRISE) for i in range(organizations)]
        for _ in range(per_kind):
            for model in (Offer, Need):
                new_listing(session, rng, model, orgs)
    feed = ListingChangeFeed()
    feed.attach(factory)
    facets = ListingFacets(factory)
    feed.subscribe(facets.discard)
    facets.load()
    return orgs, facets


def check_counts(
    factory: sessionmaker[Session], facets: ListingFacets, rng: random.Random, orgs: list[int], rounds: int
) -> int:
    """Compare with the SQL count, and the ids with the SQL's (`visible_ids`, a search's scope); how many
    comparisons had a non-zero answer (the test's own check)."""
    nonzero = 0
    with factory() as session:
        all_ids = {kind: list(session.scalars(_filtered(m, ListingFilters(), Viewer(role=Role.ADMIN))
                                              .with_only_columns(m.id))) for kind, m in LISTING_MODELS.items()}  # fmt: skip
        for _round in range(rounds):
            for kind, model in LISTING_MODELS.items():
                filters = random_filters(rng, orgs, all_ids[kind])
                for viewer in viewers(orgs):
                    expected, exact = capped_count(session=session, query=_filtered(model, filters, viewer))
                    assert exact
                    counted = facets.count(model=model, filters=filters, viewer=viewer)
                    assert counted == expected, (kind, filters, viewer)
                    ids = facets.matching_ids(model=model, filters=filters, viewer=viewer)
                    assert ids.dtype == np.int64 and np.all(ids[1:] > ids[:-1])
                    selected = visible_ids(session=session, model=model, filters=filters, viewer=viewer)
                    assert set(ids.tolist()) == selected, (kind, filters, viewer)
                    nonzero += expected > 0
    return nonzero


def test_counts_equal_the_sql_count_as_listings_change(factory: sessionmaker[Session]) -> None:
    rng = random.Random(11)
    orgs, facets = random_store(factory, rng, organizations=ORGS, per_kind=250)
    assert facets.sizes() == {"offers": 250, "needs": 250}
    assert check_counts(factory, facets, rng, orgs, rounds=40) > 200

    for step in range(6):
        with transaction(factory) as session:
            for model in (Offer, Need):
                rows = list(session.scalars(_filtered(model, ListingFilters(), Viewer(role=Role.ADMIN))))
                for row in rng.sample(rows, 30):
                    values = random_values(rng, model, orgs)
                    changed = dict(rng.sample(sorted(values.items()), rng.randint(1, 3)))
                    update_listing(session=session, row=row, values=changed)
                for row in rng.sample(rows, 10 if step % 2 else 2):
                    if row in session:
                        delete_listing(session=session, row=row)
                for _ in range(rng.randint(0, 15)):
                    new_listing(session, rng, model, orgs)
        assert check_counts(factory, facets, rng, orgs, rounds=8) > 30
    with factory() as session:
        stored = {kind: session.query(m).count() for kind, m in LISTING_MODELS.items()}
    assert facets.sizes() == stored


def test_a_rolled_back_change_is_not_counted_and_a_change_is_counted_at_once(
    factory: sessionmaker[Session],
) -> None:
    rng = random.Random(3)
    with transaction(factory) as session:
        orgs = [org(session, "org", OrgKind.RESEARCH_INSTITUTE)]
    feed = ListingChangeFeed()
    feed.attach(factory)
    facets = ListingFacets(factory)
    feed.subscribe(facets.discard)
    published = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
    assert facets.count(model=Offer, filters=published, viewer=ANONYMOUS) == 0  # loads on first use
    with factory() as session:
        offer = new_listing(session, rng, Offer, orgs)
        session.rollback()
    assert facets.count(model=Offer, filters=ListingFilters(), viewer=Viewer(role=Role.BROKER)) == 0
    with transaction(factory) as session:
        offer = new_listing(session, rng, Offer, orgs)
        session.get_one(Offer, offer).status = ListingStatus.PUBLISHED
    assert facets.count(model=Offer, filters=published, viewer=ANONYMOUS) == 1
    with transaction(factory) as session:
        session.get_one(Offer, offer).status = ListingStatus.ARCHIVED
    assert facets.count(model=Offer, filters=published, viewer=ANONYMOUS) == 0
    assert facets.count(model=Offer, filters=ListingFilters(), viewer=ANONYMOUS) == 0
    owner = Viewer(role=Role.INSTITUTE_MEMBER, organization_id=orgs[0])
    assert facets.count(model=Offer, filters=ListingFilters(), viewer=owner) == 1
    with transaction(factory) as session:
        delete_listing(session=session, row=session.get_one(Offer, offer))
    assert facets.count(model=Offer, filters=ListingFilters(), viewer=owner) == 0


def test_a_null_trl_meets_no_bound_as_in_sql() -> None:
    # Both TRL columns are NOT NULL today; the facets keep SQL's rule should one become optional.
    rows = [
        (1, "published", 7, "ai", None, '["licence"]', "can_tho", "en", "public"),
        (2, "published", 7, "ai", 5, "[]", "can_tho", "en", "public"),
    ]
    columns = KindColumns(_decode(Need, rows))
    assert columns.column("trl")[0] == TRL_NULL
    for filters, expected in (
        (ListingFilters(), 2),
        (ListingFilters(trl_min=1), 1),
        (ListingFilters(trl_max=9), 1),
        (ListingFilters(trl_min=6), 0),
        (ListingFilters(transfer_types=[TransferType.LICENCE]), 1),
    ):
        assert columns.count(need=True, filters=filters, viewer=ANONYMOUS) == expected, filters


@pytest.mark.parametrize("seed", range(3))
def test_columns_follow_upserts_and_removals_in_any_order(seed: int) -> None:
    """Out-of-order ids (re-sorted), deleted slots (dead, then compacted) and revived ids."""
    rng = np.random.default_rng(seed)
    held: dict[int, int] = {}

    def rows(ids: np.ndarray) -> dict[str, np.ndarray]:
        organizations = rng.integers(1, 5, len(ids))
        held.update(zip(ids.tolist(), organizations.tolist(), strict=True))
        return {"ids": ids.astype(np.int64), "organization": organizations.astype(np.int64)}

    columns = KindColumns(rows(rng.permutation(np.arange(1, 1500))))
    compacted = False
    for step in range(40):
        top = int(columns.column("ids")[-1])
        changed = rng.choice(np.fromiter(held, np.int64), size=min(len(held), 50), replace=False)
        added = np.arange(top + 1, top + rng.integers(1, 60))
        # Now and then an id below the highest held: a transaction that committed late, or a reused id.
        late = [doc_id for doc_id in range(1, top) if doc_id not in held][:1] if step % 5 == 0 else []
        columns.upsert(rows(np.concatenate([changed, added, np.array(late, np.int64)])))
        gone = rng.choice(np.arange(1, top + 200), size=rng.integers(0, 400), replace=False)
        before = columns.size
        columns.remove(gone)
        compacted |= columns.size < before
        for doc_id in gone.tolist():
            held.pop(doc_id, None)
        assert np.all(np.diff(columns.column("ids")) > 0)
        alive = columns.column("alive")
        assert (
            dict(
                zip(
                    columns.column("ids")[alive].tolist(),
                    columns.column("organization")[alive].tolist(),
                    strict=True,
                )
            )
            == held
        )
        # Most slots stay live: past DEAD_SHARE dead ones the columns are compacted.
        assert columns.size < 1024 or np.count_nonzero(alive) >= (1 - DEAD_SHARE) * columns.size
        for organization in range(1, 5):
            filters = ListingFilters(organization_id=organization)
            expected = sum(value == organization for value in held.values())
            assert columns.count(need=False, filters=filters, viewer=Viewer(role=Role.BROKER)) == expected
    assert compacted
