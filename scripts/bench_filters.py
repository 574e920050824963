"""What the search's filters cost at catalogue size N (issue 11, first part).

    python -m scripts.bench_filters --offers 10000 [--url postgresql+psycopg://...]

Builds N published offers in a fresh store (SQLite file by default), then prints medians of:
the allowed set an anonymous search without facets materialised before (visible_ids) against what it
asks now (search_scope: no id list, no query); the transfer-type filter as SQL against the
former loading of full rows filtered in Python (the baseline, re-run here); and a 70,000-id filter.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from core.access import ANONYMOUS
from core.taxonomy import ListingStatus, OrgKind, Region, TransferType
from models.base import make_engine, make_session_factory, transaction
from models.id_sets import id_in
from models.listings import ListingFilters, Offer, _filtered, visible_ids
from models.migrate import upgrade
from models.organizations import create_organization
from models.search_scope import search_scope

PUBLISHED = ListingFilters(statuses=(ListingStatus.PUBLISHED,))
TYPES = list(TransferType)


def median_ms(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def build(url: str, offers: int) -> Any:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        owner = create_organization(
            session=session,
            values={
                "slug": "inst",
                "name": "Inst",
                "kind": OrgKind.RESEARCH_INSTITUTE,
                "region": Region.HO_CHI_MINH_CITY,
            },
        ).id
        rows = [
            {
                "organization_id": owner,
                "title": f"Công nghệ xử lý nước thải {i} / wastewater treatment {i}",
                "description": "Hệ thống lọc sinh học cho làng nghề; biological filter for craft villages.",
                "sector": "environment_water",
                "keywords": ["nước thải", "wastewater"],
                "transfer_types": [TYPES[i % len(TYPES)].value],
                "region": "ho_chi_minh_city",
                "language": "vi" if i % 2 else "en",
                "status": ListingStatus.PUBLISHED,
                "trl": 1 + i % 9,
                "ip_status": "patent",
            }
            for i in range(offers)
        ]
        session.execute(insert(Offer), rows)
    return engine, factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        engine, factory = build(url, args.offers)
        print(
            f"{engine.dialect.name}, {args.offers:,} published offers built in {time.perf_counter() - started:.1f} s"
        )
        wanted = ListingFilters(statuses=(ListingStatus.PUBLISHED,), transfer_types=(TransferType.LICENCE,))
        many = list(range(1, 70_001))
        with factory() as session:

            def former_transfer_filter() -> set[int]:
                query = _filtered(Offer, wanted, ANONYMOUS)
                return {
                    row.id for row in session.scalars(query) if TransferType.LICENCE in row.transfer_types
                }

            assert former_transfer_filter() == visible_ids(
                session=session, model=Offer, filters=wanted, viewer=ANONYMOUS
            )
            figures = {
                "anonymous search, no facets: visible_ids (before)": lambda: visible_ids(
                    session=session, model=Offer, filters=PUBLISHED, viewer=ANONYMOUS
                ),
                "anonymous search, no facets: search_scope (now)": lambda: search_scope(
                    session=session, model=Offer, filters=PUBLISHED, viewer=ANONYMOUS
                ),
                "transfer_type: full rows filtered in Python (before)": former_transfer_filter,
                "transfer_type: ids selected in SQL (now)": lambda: visible_ids(
                    session=session, model=Offer, filters=wanted, viewer=ANONYMOUS
                ),
                "70,000-id filter, one parameter (now)": lambda: session.scalars(
                    select(Offer.id).where(id_in(Offer.id, many))
                ).all(),
            }
            for name, run in figures.items():
                print(f"{name:<55} {median_ms(run, args.repeats):>9.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
