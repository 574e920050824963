"""Import and export of listings as JSON Lines or CSV, validated row by row.

The file format is the demo data's: one listing per row, the owner named by its
organization slug (`org`) and the listing by an optional stable `ref`. Rows with a
known ref update that listing, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, cast

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.schemas.listings import NeedFields, OfferFields, Ref
from api.schemas.organizations import OrganizationCreate
from models.listings import LISTING_MODELS, Need, Offer, create_listing, update_listing
from models.organizations import Organization, create_organization, get_organization_by_slug

Kind = Literal["offers", "needs", "organizations"]
LIST_FIELDS = ("keywords", "transfer_types", "excluded_organization_ids")
# In CSV, list cells are written as JSON arrays (so an item may contain anything); hand-written
# cells may instead separate their items with this character.
CSV_LIST_SEPARATOR = ";"
# A spreadsheet runs a cell starting with one of these as a formula; exported cells get a leading
# apostrophe (which spreadsheets hide) and imports remove it again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Listings exported without a ref get this one, so that importing the export updates them.
GENERATED_REF = "tm-{kind}-{id}"


class OfferRow(OfferFields):
    org: str = Field(min_length=1)
    ref: Ref | None = None


class NeedRow(NeedFields):
    org: str = Field(min_length=1)
    ref: Ref | None = None


ROW_SCHEMAS: dict[str, type[BaseModel]] = {
    "offers": OfferRow,
    "needs": NeedRow,
    "organizations": OrganizationCreate,
}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # What became of each written row, by line: created, updated or unchanged (the web's row report).
    written: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot even be parsed comes back as an error string."""
    # Undecodable bytes become surrogates, so that one bad row is reported instead of ending the file.
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        if path.suffix.lower() == ".csv":
            yield from _csv_rows(handle)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if _undecodable(line):
                yield number, "not valid UTF-8"
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg})"
                continue
            except RecursionError:
                yield number, "JSON nested too deeply"
                continue
            yield number, row if isinstance(row, dict) else "a row must be a JSON object"


def _undecodable(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _csv_rows(handle: TextIO) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(handle)
    while True:
        number = reader.line_num + 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit: skip to the next row
            yield number, f"unreadable CSV row ({exc})"
            continue
        if any(_undecodable(str(cell)) for cell in raw.values() if cell):
            yield number, "not valid UTF-8"
            continue
        yield number, _from_csv(raw)


def _from_csv(raw: dict[str | None, Any]) -> dict[str, Any] | str:
    if None in raw:
        return "more cells than header columns"
    row: dict[str, Any] = {}
    for name, cell in raw.items():
        value = _unquote_formula((cell or "").strip())
        if name in LIST_FIELDS:
            items = _list_cell(value)
            if isinstance(items, str):
                return f"{name}: {items}"
            row[str(name)] = items
        elif value:
            row[str(name)] = value
    return row


def _list_cell(value: str) -> list[Any] | str:
    if value.startswith("["):
        try:
            items = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return "a list cell starting with [ must be a JSON array"
        return items if isinstance(items, list) else "a list cell starting with [ must be a JSON array"
    return [item.strip() for item in value.split(CSV_LIST_SEPARATOR) if item.strip()]


def _unquote_formula(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def _quote_formula(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors()
    )


def import_file(*, session: Session, path: Path, kind: Kind, skip_invalid: bool = False) -> ImportReport:
    """Validate every row, then write the valid ones into the caller's transaction.

    Without `skip_invalid` a single bad row writes nothing; with it the valid rows are
    written and the bad ones reported. The caller commits once, so no file is half-imported.
    """
    return import_rows(session=session, rows=read_rows(path), kind=kind, skip_invalid=skip_invalid)


def import_rows(
    *,
    session: Session,
    rows: Iterable[tuple[int, dict[str, Any] | str]],
    kind: Kind,
    skip_invalid: bool = False,
) -> ImportReport:
    """`import_file` over rows already read (line number, row or the reason it could not be read)."""
    report = ImportReport()
    valid: list[tuple[int, BaseModel]] = []
    schema = ROW_SCHEMAS[kind]
    seen_refs: set[str] = set()
    for number, row in rows:
        if isinstance(row, str):
            report.rejected.append((number, row))
            continue
        try:
            parsed = schema.model_validate(row)
        except ValidationError as exc:
            report.rejected.append((number, _describe(exc)))
            continue
        key = getattr(parsed, "ref", None) or getattr(parsed, "slug", None)
        if key is not None and key in seen_refs:
            report.rejected.append((number, f"duplicate ref {key!r} in this file"))
            continue
        if key is not None:
            seen_refs.add(key)
        if kind != "organizations":
            problem = _owner_problem(session, kind, parsed)
            if problem:
                report.rejected.append((number, problem))
                continue
        valid.append((number, parsed))
    if report.rejected and not skip_invalid:
        return report
    for number, parsed in valid:
        before = (report.created, report.updated)
        _write(session, kind, parsed, report)
        outcome = (
            "created" if report.created > before[0] else "updated" if report.updated > before[1] else "unchanged"
        )
        report.written.append((number, outcome))
    return report


def _owner_problem(session: Session, kind: Kind, parsed: BaseModel) -> str | None:
    """A row names an existing organization, and its ref, if taken, is a listing of that organization."""
    slug, ref = parsed.org, parsed.ref  # type: ignore[attr-defined]
    organization = get_organization_by_slug(session=session, slug=slug)
    if organization is None:
        return f"org: no organization with slug {slug!r}"
    model = LISTING_MODELS[kind]
    owners = (
        set(session.scalars(select(model.organization_id).where(model.external_ref == ref))) if ref else set()
    )
    if owners and organization.id not in owners:
        # Refs are unique per organization, but a file naming another organization's ref is far
        # more likely a mistake than a new listing; either way an import never moves a listing.
        return f"ref: {ref!r} is a listing of another organization"
    return None


def _write(session: Session, kind: Kind, parsed: BaseModel, report: ImportReport) -> None:
    values = parsed.model_dump()
    if kind == "organizations":
        existing_org = get_organization_by_slug(session=session, slug=values["slug"])
        if existing_org is None:
            create_organization(session=session, values=values)
            report.created += 1
        elif any(getattr(existing_org, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(existing_org, name, value)
            report.updated += 1
        return
    model = LISTING_MODELS[kind]
    organization = get_organization_by_slug(session=session, slug=values.pop("org"))
    assert organization is not None  # checked while validating
    ref = values.pop("ref")
    values["organization_id"] = organization.id
    existing = cast(
        "Offer | Need | None",
        session.scalar(
            select(model).where(model.organization_id == organization.id, model.external_ref == ref)
        )
        if ref
        else None,
    )
    if existing is None:
        create_listing(session=session, model=model, values={**values, "external_ref": ref})
        report.created += 1
    elif any(getattr(existing, name) != value for name, value in values.items()):
        update_listing(session=session, row=existing, values=values)
        report.updated += 1


def export_rows(*, session: Session, kind: Kind) -> Iterator[dict[str, Any]]:
    """Every row of `kind` in the import format, so an export imports back unchanged."""
    if kind == "organizations":
        for organization in session.scalars(select(Organization).order_by(Organization.id)):
            yield OrganizationCreate.model_validate(organization, from_attributes=True).model_dump(
                mode="json"
            )
        return
    model = LISTING_MODELS[kind]
    fields = ROW_SCHEMAS[kind].model_fields
    rows = cast("Iterable[Offer | Need]", session.scalars(select(model).order_by(model.id)).unique())
    for row in list(rows):
        if not row.external_ref:
            # Without a ref, importing the export would create every such listing a second time.
            row.external_ref = _free_ref(session, model, GENERATED_REF.format(kind=kind[:-1], id=row.id))
            session.flush()
        values = {name: getattr(row, name) for name in fields if hasattr(row, name)}
        values.update(org=row.organization.slug, ref=row.external_ref)
        yield ROW_SCHEMAS[kind].model_validate(values).model_dump(mode="json")


def _free_ref(session: Session, model: type[Offer] | type[Need], ref: str) -> str:
    candidate, suffix = ref, 1
    while session.scalar(select(model.id).where(model.external_ref == candidate)) is not None:
        suffix += 1
        candidate = f"{ref}-{suffix}"
    return candidate


def write_rows(rows: Iterator[dict[str, Any]], path: Path) -> int:
    """Write rows as JSON Lines, or CSV when the path ends in .csv; returns the row count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        if path.suffix.lower() == ".csv":
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(
                    {
                        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else _quote_formula(v)
                        for k, v in row.items()
                    }
                )
                count += 1
            return count
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
