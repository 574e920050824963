"""An institute's upload of offers (CSV or JSON Lines) through the import code the CLI uses, row by row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from models.organizations import Organization
from scripts.transfer import ImportReport, import_rows, read_rows
from web.i18n import N_

UPLOAD_FORMATS = (".csv", ".jsonl")
TOO_MANY_ROWS = N_("The file has more rows than one upload may hold.")
EMPTY_FILE = N_("The file holds no rows.")


@dataclass
class RowOutcome:
    line: int
    title: str
    outcome: str  # created, updated, unchanged, rejected, not_imported
    reason: str = ""  # why a row was rejected (the validator's words)


@dataclass
class UploadOutcome:
    report: ImportReport
    rows: list[RowOutcome] = field(default_factory=list)
    error: str | None = None  # a problem with the whole file (a message id)


def _own_rows(path: Path, organization: Organization, titles: dict[int, str]) -> Iterator[tuple[int, Any]]:
    """The file's rows, each for this organization: a missing `org` is filled in, another one refused."""
    for number, row in read_rows(path):
        if isinstance(row, dict):
            titles[number] = str(row.get("title") or row.get("ref") or "")[:120]
            org = row.setdefault("org", organization.slug)
            if org != organization.slug:
                yield (
                    number,
                    f"org: an upload may only hold offers of {organization.slug!r}, not {str(org)[:64]!r}",
                )
                continue
        yield number, row


def import_upload(
    *, session: Session, path: Path, organization: Organization, skip_invalid: bool, max_rows: int
) -> UploadOutcome:
    """Validate every row (at most `max_rows`) and write the valid ones into the session (the caller commits)."""
    titles: dict[int, str] = {}
    rows = list(_own_rows(path, organization, titles))
    if len(rows) > max_rows:
        return UploadOutcome(ImportReport(), error=TOO_MANY_ROWS)
    if not rows:
        return UploadOutcome(ImportReport(), error=EMPTY_FILE)
    report = import_rows(session=session, rows=rows, kind="offers", skip_invalid=skip_invalid)
    rejected = dict(report.rejected)
    written = dict(report.written)
    outcomes = []
    for number, _row in rows:
        if number in rejected:
            outcomes.append(RowOutcome(number, titles.get(number, ""), "rejected", rejected[number]))
        else:
            outcomes.append(RowOutcome(number, titles.get(number, ""), written.get(number, "not_imported")))
    return UploadOutcome(report, outcomes)
