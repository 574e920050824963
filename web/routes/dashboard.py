"""The dashboard of admins and brokers: the exchange's figures from /stats, drawn as charts."""

from __future__ import annotations

from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter
from fastapi.responses import Response

from core.taxonomy import Role
from models.listing_stats import listings_by_week
from models.match_stats import broker_stats
from models.matches import MatchStatus
from web import i18n
from web.charts import Bar, Column, bar_chart, column_chart
from web.i18n import N_, gettext
from web.labels import label
from web.pages import Page, add_nav_link, render, require_role

router = APIRouter()
add_nav_link("/dashboard", N_("Dashboard"), roles=(Role.BROKER, Role.ADMIN), order=62)

FUNNEL = (
    MatchStatus.SUGGESTED,
    MatchStatus.ACCEPTED,
    MatchStatus.INTRODUCED,
    MatchStatus.NEGOTIATING,
    MatchStatus.DEAL,
)
STAGES_TIMED = (MatchStatus.SUGGESTED, MatchStatus.ACCEPTED, MatchStatus.INTRODUCED, MatchStatus.NEGOTIATING)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else i18n.format_number(round(rate * 100, 1)) + " %"


def _acceptance_text(figures: dict[str, Any] | None) -> str:
    if not figures:
        return gettext("not reviewed yet")
    return gettext("%(accepted)s of %(reviews)s accepted (%(rate)s)") % {
        "accepted": i18n.format_number(figures["accepted"]),
        "reviews": i18n.format_number(figures["reviews"]),
        "rate": _percent(figures["rate"]),
    }


def charts(stats: dict[str, Any], weeks: list[dict[str, Any]]) -> dict[str, Any]:
    """The dashboard's charts and their figures, in the current language."""
    by_sector = stats["acceptance_by_sector"]
    sectors = sorted(set(stats["suggestions_by_sector"]) | set(by_sector))
    sector_bars = [
        Bar(
            label=label("sector", sector),
            value=stats["suggestions_by_sector"].get(sector, 0),
            second=by_sector.get(sector, {}).get("accepted", 0),
            text=gettext("%(count)s suggested")
            % {"count": i18n.format_number(stats["suggestions_by_sector"].get(sector, 0))}
            + ", "
            + _acceptance_text(by_sector.get(sector)),
        )
        for sector in sectors
    ]
    by_band = stats["acceptance_by_score_band"]
    bands = sorted(set(stats["suggestions_by_score_band"]) | set(by_band))
    band_bars = [
        Bar(
            label=band if band != "unscored" else gettext("no score"),
            value=by_band.get(band, {}).get("reviews", 0),
            second=by_band.get(band, {}).get("accepted", 0),
            text=_acceptance_text(by_band.get(band)),
        )
        for band in bands
    ]
    funnel_bars = [
        Bar(
            label=label("match_status", stage),
            value=stats["reached"][stage.value],
            text=i18n.format_number(stats["reached"][stage.value]),
        )
        for stage in FUNNEL
    ]
    durations = stats["stage_durations"]
    time_bars = [
        Bar(
            label=label("match_status", stage),
            value=durations[stage.value]["median_hours"],
            text=gettext("median %(median)s h, mean %(mean)s h, %(count)s matches")
            % {
                "median": i18n.format_number(durations[stage.value]["median_hours"]),
                "mean": i18n.format_number(durations[stage.value]["mean_hours"]),
                "count": i18n.format_number(durations[stage.value]["count"]),
            },
        )
        for stage in STAGES_TIMED
        if stage.value in durations
    ]
    locale = i18n.BABEL_LOCALES[i18n.current_language()]
    columns = [
        Column(format_date(week["week"], "d/M", locale=locale), week["offers"], week["needs"])
        for week in weeks
    ]
    titles = {
        "sectors": gettext("Suggestions and acceptance by sector"),
        "bands": gettext("Reviews and acceptance by score band"),
        "funnel": gettext("Pipeline funnel"),
        "times": gettext("Time in each stage"),
        "listings": gettext("Listings posted per week"),
    }
    return {
        "titles": titles,
        "sectors": (bar_chart(sector_bars, title=titles["sectors"]), sector_bars),
        "bands": (bar_chart(band_bars, title=titles["bands"]), band_bars),
        "funnel": (bar_chart(funnel_bars, title=titles["funnel"]), funnel_bars),
        "times": (bar_chart(time_bars, title=titles["times"]), time_bars),
        "listings": (column_chart(columns, title=titles["listings"]), columns),
    }


@router.get("/dashboard")
def dashboard(page: Annotated[Page, require_role(Role.BROKER, Role.ADMIN)]) -> Response:
    stats = broker_stats(session=page.db)
    weeks = listings_by_week(session=page.db)
    with i18n.language_of(page.language):
        drawn = charts(stats, weeks)
    return render(
        page,
        "broker/dashboard.html",
        stats=stats,
        charts=drawn,
        acceptance=_percent(stats["acceptance_rate"]),
        listings=sum(week["offers"] + week["needs"] for week in weeks),
    )
