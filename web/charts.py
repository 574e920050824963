"""Charts drawn on the server as inline SVG: no script and no chart library, readable at 360 px.

Every chart has a title and a text per bar (the same figures are also in a table beside it); labels
arrive translated and are escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 400
ROW_HEIGHT = 40  # label line above a bar pair, so that long sector names fit a phone
BAR_HEIGHT = 9
COLUMN_CHART_HEIGHT = 180


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: a label, one or two values and what to write beside them."""

    label: str
    value: float
    text: str
    second: float | None = None


def _svg(height: float, title: str, body: str) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def bar_chart(bars: Sequence[Bar], *, title: str) -> Markup:
    """Horizontal bars scaled to the largest value; a second value is drawn under the first."""
    top = max([bar.value for bar in bars] + [bar.second or 0 for bar in bars] + [1e-9])
    parts = []
    for index, bar in enumerate(bars):
        y = index * ROW_HEIGHT
        parts.append(f'<text x="0" y="{y + 12}">{escape(bar.label)} — {escape(bar.text)}</text>')
        width = WIDTH * bar.value / top
        parts.append(f'<rect class="bar-a" x="0" y="{y + 17}" width="{width:.1f}" height="{BAR_HEIGHT}"/>')
        if bar.second is not None:
            width = WIDTH * bar.second / top
            parts.append(
                f'<rect class="bar-b" x="0" y="{y + 17 + BAR_HEIGHT + 1}" width="{width:.1f}" height="{BAR_HEIGHT}"/>'
            )
    return _svg(max(len(bars), 1) * ROW_HEIGHT, title, "".join(parts))


@dataclass(frozen=True)
class Column:
    """One period of a column chart: a short label and two counts side by side."""

    label: str
    first: int
    second: int


def column_chart(columns: Sequence[Column], *, title: str) -> Markup:
    """Pairs of vertical bars per period (offers and needs per week), with the counts over them."""
    top = max([column.first for column in columns] + [column.second for column in columns] + [1])
    plot = COLUMN_CHART_HEIGHT - 40
    slot = WIDTH / max(len(columns), 1)
    bar = slot * 0.35
    parts = [f'<line class="axis" x1="0" y1="{plot + 14}" x2="{WIDTH}" y2="{plot + 14}"/>']
    for index, column in enumerate(columns):
        x = index * slot + slot * 0.1
        for offset, (value, css) in enumerate(((column.first, "bar-a"), (column.second, "bar-b"))):
            height = plot * value / top
            left = x + offset * bar
            parts.append(
                f'<rect class="{css}" x="{left:.1f}" y="{plot + 14 - height:.1f}" width="{bar:.1f}" height="{height:.1f}"/>'
            )
            if value:
                parts.append(
                    f'<text x="{left + bar / 2:.1f}" y="{plot + 10 - height:.1f}" text-anchor="middle">{value}</text>'
                )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{COLUMN_CHART_HEIGHT - 8}" text-anchor="middle">{escape(column.label)}</text>'
        )
    return _svg(COLUMN_CHART_HEIGHT, title, "".join(parts))
