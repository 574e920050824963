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
from models.organizations import Organization, create_organization
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


def add_organization(session: Session, slug: str) -> None:
    create_organization(
        session=session,
        values={"slug": slug, "name": slug, "kind": OrgKind.UNIVERSITY, "region": Region.HA_NOI},
    )
    session.commit()


def test_a_ref_of_another_organization_is_rejected_not_moved(session: Session, tmp_path: Path) -> None:
    add_organization(session, "other")
    import_file(
        session=session, path=write_jsonl(tmp_path / "a.jsonl", [{**GOOD, "ref": "a"}]), kind="offers"
    )
    session.commit()
    takeover = write_jsonl(tmp_path / "b.jsonl", [{**GOOD, "org": "other", "ref": "a", "title": "mine now"}])
    report = import_file(session=session, path=takeover, kind="offers", skip_invalid=True)
    session.commit()
    assert (report.created, report.updated) == (0, 0)
    assert report.rejected == [(1, "ref: 'a' is a listing of another organization")]
    offer = session.scalars(select(Offer)).one()
    assert (offer.organization.slug, offer.title) == ("inst", GOOD["title"])


def test_unreadable_rows_are_rejected_rows(session: Session, tmp_path: Path) -> None:
    good = json.dumps(GOOD, ensure_ascii=False).encode()
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(
        b"\n".join([good, b'{"title": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000, good]) + b"\n"
    )
    report = import_file(session=session, path=jsonl, kind="offers", skip_invalid=True)
    assert [line for line, _ in report.rejected] == [2, 3]
    assert "UTF-8" in report.rejected[0][1] and "deeply" in report.rejected[1][1]
    assert report.created == 2

    header = "org,title,description,sector,trl,region,language\n"
    row = "inst,{title},Mô tả,new_materials,5,ha_noi,vi\n"
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(
        (header + row.format(title="một")).encode()
        + row.format(title="hai").encode()[:10]
        + b"\xff"
        + row.format(title="hai").encode()[10:]
        + row.format(title="x" * 200_000).encode()
        + row.format(title="bốn").encode()
    )
    report = import_file(session=session, path=csv_path, kind="offers", skip_invalid=True)
    assert [line for line, _ in report.rejected] == [3, 4]
    assert "UTF-8" in report.rejected[0][1] and "unreadable CSV row" in report.rejected[1][1]
    assert report.created == 2


def test_csv_round_trip_keeps_separators_refs_and_disarms_formulas(session: Session, tmp_path: Path) -> None:
    tricky = {
        **GOOD,
        "title": '=HYPERLINK("http://evil.example","click")',
        "keywords": ["a;b", "c, d", '"quoted"'],
    }
    with transaction(sessionmaker(bind=session.get_bind())) as writer:
        inst = writer.scalar(select(Organization.id))
        writer.add(Offer(**{k: v for k, v in tricky.items() if k != "org"}, organization_id=inst))
    exported = tmp_path / "out.csv"
    write_rows(export_rows(session=session, kind="offers"), exported)
    session.commit()
    text = exported.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    report = import_file(session=session, path=exported, kind="offers")
    session.commit()
    assert report.ok and (report.created, report.updated) == (0, 0)  # no duplicate of the ref-less row
    offer = session.scalars(select(Offer)).one()
    assert offer.keywords == tricky["keywords"] and offer.title == tricky["title"]
    assert offer.external_ref == f"tm-offer-{offer.id}"
