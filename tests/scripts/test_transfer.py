"""Import and export: row-by-row validation, nothing half-imported, round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.taxonomy import OrgKind, Region
from models.base import transaction
from models.listings import Offer
from models.organizations import create_organization
from scripts.transfer import export_rows, import_file, write_rows

GOOD = {
    "org": "inst",
    "title": "Vật liệu composite sợi tre",
    "description": "Tấm composite nhẹ cho nội thất ô tô.",
    "sector": "new_materials",
    "keywords": ["composite", "tre"],
    "trl": 5,
    "ip_status": "patent",
    "transfer_types": ["licence"],
    "price_min": 100,
    "price_max": 200,
    "currency": "VND",
    "region": "ha_noi",
    "language": "vi",
}


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with transaction(factory) as setup:
        create_organization(
            session=setup,
            values={
                "slug": "inst",
                "name": "Institute",
                "kind": OrgKind.RESEARCH_INSTITUTE,
                "region": Region.HA_NOI,
            },
        )
    with factory() as test_session:
        yield test_session


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
        encoding="utf-8",
    )
    return path


def count_offers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Offer)) or 0


def test_bad_rows_are_reported_and_nothing_is_imported(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "offers.jsonl",
        [
            {**GOOD, "ref": "ok-1"},
            {**GOOD, "ref": "bad-trl", "trl": 12},
            "{not json",
            {**GOOD, "ref": "bad-org", "org": "nobody"},
            {**GOOD, "ref": "ok-1"},
            {**GOOD, "ref": "bad-sector", "sector": "space"},
        ],
    )
    report = import_file(session=session, path=path, kind="offers")
    session.commit()
    assert [line for line, _ in report.rejected] == [2, 3, 4, 5, 6]
    reasons = dict(report.rejected)
    assert "trl" in reasons[2]
    assert "JSON" in reasons[3]
    assert "nobody" in reasons[4]
    assert "duplicate" in reasons[5]
    assert "sector" in reasons[6]
    assert count_offers(session) == 0


def test_skip_invalid_imports_the_valid_rows_only(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "offers.jsonl",
        [{**GOOD, "ref": "a"}, {**GOOD, "ref": "b", "title": ""}, {**GOOD, "ref": "c"}],
    )
    report = import_file(session=session, path=path, kind="offers", skip_invalid=True)
    session.commit()
    assert (report.created, [line for line, _ in report.rejected]) == (2, [2])
    assert count_offers(session) == 2


def test_reimport_is_idempotent_and_updates_by_ref(session: Session, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "offers.jsonl", [{**GOOD, "ref": "a"}])
    assert import_file(session=session, path=path, kind="offers").created == 1
    session.commit()
    again = import_file(session=session, path=path, kind="offers")
    assert (again.created, again.updated) == (0, 0)
    write_jsonl(path, [{**GOOD, "ref": "a", "trl": 6}])
    assert import_file(session=session, path=path, kind="offers").updated == 1
    session.commit()
    assert session.scalar(select(Offer.trl)) == 6
    assert count_offers(session) == 1


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_export_imports_back_unchanged(session: Session, tmp_path: Path, suffix: str) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl", [{**GOOD, "ref": "a"}, {**GOOD, "ref": "b", "price_min": None, "keywords": []}]
    )
    import_file(session=session, path=source, kind="offers")
    session.commit()
    exported = tmp_path / f"out{suffix}"
    assert write_rows(export_rows(session=session, kind="offers"), exported) == 2
    report = import_file(session=session, path=exported, kind="offers")
    assert report.ok
    assert (report.created, report.updated) == (0, 0)


def test_csv_import_with_list_cells(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "offers.csv"
    path.write_text(
        "ref,org,title,description,sector,keywords,trl,ip_status,transfer_types,currency,region,language\n"
        "c1,inst,Máy sấy lạnh,Sấy nông sản ở 40 độ,food_processing,sấy;nông sản,6,patent,licence;consultancy,"
        "VND,can_tho,vi\n"
        "c2,inst,,missing title,food_processing,,6,patent,licence,VND,can_tho,vi\n",
        encoding="utf-8",
    )
    report = import_file(session=session, path=path, kind="offers", skip_invalid=True)
    session.commit()
    assert [line for line, _ in report.rejected] == [3]
    offer = session.scalars(select(Offer)).one()
    assert offer.keywords == ["sấy", "nông sản"]
    assert offer.transfer_types == ["licence", "consultancy"]
