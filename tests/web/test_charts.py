"""Server-side SVG charts and the workflow's labels."""

from __future__ import annotations

import re

from models.matches import MatchReason, MatchStatus
from web.charts import Bar, Column, bar_chart, column_chart
from web.i18n import language_of
from web.labels import label
from web.match_labels import MISSING_FEATURE_LABELS


def widths(svg: str, css: str) -> list[float]:
    return [
        float(width) for width in re.findall(rf'class="{css}" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    ]


def test_bars_scale_to_the_largest_value_and_labels_are_escaped() -> None:
    svg = str(
        bar_chart(
            [Bar("<script>", 10, "ten", second=5), Bar("Điện & nước", 40, "forty", second=0)],
            title="Title <b>",
        )
    )
    assert widths(svg, "bar-a") == [100.0, 400.0] and widths(svg, "bar-b") == [50.0, 0.0]
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Điện &amp; nước" in svg
    assert "<title>Title &lt;b&gt;</title>" in svg and 'role="img"' in svg


def test_an_empty_chart_is_still_valid_svg() -> None:
    assert widths(str(bar_chart([Bar("zero", 0, "none")], title="t")), "bar-a") == [0.0]
    svg = str(column_chart([Column("1/9", 0, 0), Column("8/9", 3, 1)], title="weeks"))
    assert svg.count("<rect") == 4 and ">3</text>" in svg and ">1/9</text>" in svg


def test_every_workflow_value_has_a_label_in_both_languages() -> None:
    assert MISSING_FEATURE_LABELS == []
    for language in ("vi", "en"):
        with language_of(language):
            for status in MatchStatus:
                assert label("match_status", status) != status.value
            for reason in MatchReason:
                assert label("match_reason", reason) != reason.value
    with language_of("vi"):
        assert label("match_status", MatchStatus.INTRODUCED) == "Đã giới thiệu"
