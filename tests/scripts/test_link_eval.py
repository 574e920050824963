"""`techmatch evaluate links` end to end on a small parallel folder and the labelled demo (hash encoder)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from scripts.cli import app as cli
from scripts.link_eval import demo_links

PARAGRAPHS = [
    (
        "Solar farm monitoring in Ninh Thuan with 46 MWp of panels.",
        "Giám sát trang trại mặt trời Ninh Thuận 46 MWp.",
    ),
    (
        "Fish sauce from Phu Quoc ferments 12 months in wooden vats.",
        "Nước mắm Phú Quốc ủ 12 tháng trong thùng gỗ.",
    ),
    ("The Panthers defense gave up 308 points in 2015.", "Đội thủ Panthers chỉ thua 308 điểm năm 2015."),
    (
        "Graphene primer protects steel at Hai Phong port for 15 years.",
        "Sơn lót graphene bảo vệ thép cảng Hải Phòng 15 năm.",
    ),
]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("TECHMATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TECHMATCH_EMBEDDING_MODEL", "fake:32")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_demo_labels_cover_the_tagged_clusters() -> None:
    labels = demo_links()
    offers = labels["offers"]
    assert sum(kind == "duplicate" for kind in offers.values()) == 7
    assert sum(kind == "translation" for kind in offers.values()) == 18
    # A re-post of a translated offer is a translation of the original too.
    assert offers[("off-018", "off-020")] == "translation"
    assert labels["needs"] == {}


def test_evaluate_links_reports_every_setting(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "xquad"
    folder.mkdir()
    for language, column in (("en", 0), ("vi", 1)):
        rows = [
            {"_id": f"a{i:02d}p00", "title": "t", "text": pair[column]} for i, pair in enumerate(PARAGRAPHS)
        ]
        (folder / f"corpus_{language}.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    result = runner.invoke(cli, ["evaluate", "links", "--xquad", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    figures = report["figures"]
    assert figures["xquad translation (out of fold)"]["labelled"] == len(PARAGRAPHS)
    assert figures["demo duplicate (out of fold)"]["labelled"] == 7
    assert figures["demo translation (shipped rule)"]["labelled"] == 18
    for figure in figures.values():
        assert 0 <= figure["precision"] <= 1 and 0 <= figure["recall"] <= 1
        assert figure["correct"] <= figure["found"]
    assert set(report["shipped"]) == {
        "margin_threshold",
        "anchored_margin_threshold",
        "duplicate_word_overlap",
    }
    missing = runner.invoke(cli, ["evaluate", "links", "--xquad", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "--xquad" in missing.output


def test_the_table_shows_no_rates_where_nothing_is_labelled() -> None:
    from matcher.link_evaluation import PrecisionRecall
    from matcher.links import LinkRule
    from scripts.link_eval import LinkReport, format_links_report

    report = LinkReport(shipped=LinkRule())
    report.figures = {
        "with labels": PrecisionRecall(244, 240, 240),
        "none labelled": PrecisionRecall(2, 0, 0),
    }
    rows = {line.split("  ")[0]: line.split() for line in format_links_report(report).splitlines()}
    assert rows["with labels"][-5:] == ["0.984", "1.000", "244", "240", "240"]
    assert rows["none labelled"][-5:] == ["-", "-", "2", "0", "0"]
