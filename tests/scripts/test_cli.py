"""The `techmatch` commands a new user runs first: load-demo, import, export, create-key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.settings import get_settings
from models.base import make_engine
from scripts.cli import app as cli


@pytest.fixture
def runner(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TECHMATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("TECHMATCH_EMBEDDING_MODEL", "fake:32")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_load_demo_is_idempotent_and_prints_the_keys(runner: CliRunner) -> None:
    first = run(runner, "load-demo")
    assert "offers: 164 created" in first and "needs: 70 created" in first
    assert "tm_demo_broker" in first
    second = run(runner, "load-demo")
    assert "offers: 0 created, 0 updated" in second and "organizations: 0 created, 0 updated" in second


def test_import_reports_bad_rows_and_writes_nothing_then_export_round_trips(
    runner: CliRunner, tmp_path: Path
) -> None:
    run(runner, "load-demo")
    good = {
        "org": "hcmut",
        "ref": "cli-1",
        "title": "Pin natri-ion",
        "description": "Pin natri-ion cho xe điện.",
        "sector": "energy",
        "trl": 4,
        "region": "ha_noi",
        "language": "vi",
    }
    path = tmp_path / "offers.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [good, {**good, "ref": "cli-2", "trl": 12}]) + "\n")
    output = run(runner, "import", "offers", str(path), code=1)
    assert "rejected line 2" in output and "trl" in output and "nothing imported" in output
    exported = tmp_path / "all.jsonl"
    assert "164 offers written" in run(runner, "export", "offers", str(exported))
    assert "offers: 1 created, 0 updated, 1 rejected" in run(
        runner, "import", "offers", str(path), "--skip-invalid"
    )
    assert "165 offers written" in run(runner, "export", "offers", str(exported))
    assert "offers: 0 created, 0 updated, 0 rejected" in run(runner, "import", "offers", str(exported))


def test_create_key_checks_its_organization(runner: CliRunner) -> None:
    run(runner, "init-db")
    assert run(runner, "create-key", "--role", "broker", "--name", "Lan").strip().startswith("tm_broker_")
    run(runner, "create-key", "--role", "enterprise_member", "--name", "x", code=2)
    run(runner, "create-key", "--role", "enterprise_member", "--name", "x", "--org", "nobody", code=2)
    run(runner, "import", "spaceships", "README.md", code=2)


def test_an_import_refreshes_the_planners_row_counts_on_postgresql(
    runner: CliRunner, tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite plans without statistics")
    run(runner, "load-demo")
    engine = make_engine(database_url)

    def planned_offers() -> float:
        with engine.connect() as connection:
            return float(
                connection.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'offers'::regclass"))
            )

    before = planned_offers()
    exported = tmp_path / "offers.jsonl"
    run(runner, "export", "offers", str(exported))
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    exported.write_text(
        "\n".join(json.dumps({**row, "ref": f"copy-{i}"}) for i, row in enumerate(rows)) + "\n"
    )
    assert "offers: 164 created" in run(runner, "import", "offers", str(exported))
    assert before < 328 and planned_offers() == 328
    engine.dispose()
