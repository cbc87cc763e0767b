"""The dashboard's charts: the series Chart.js draws on the page (plain JSON, read by
crm/static/js/dashboard.js), and simple bar charts laid out for server-drawn SVG in the PDF
report (WeasyPrint runs no JavaScript).

Charts only decorate: every number they show is also in a section's table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _

from crm.dashboard.data import Dashboard, Funnel

# Skills-gap bars drawn (the table lists every skill).
SKILL_BARS = 12
LABEL_CHARACTERS = 40


def _short(text: str, limit: int = LABEL_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _month(first: Any) -> str:
    return format_date(first, "LLL y")


def _skill_label(programme: str, skill: str) -> str:
    return _short(f"{programme}: {skill}")


# --- Chart.js -------------------------------------------------------------------------------


def _series(label: str, data: Sequence[float | int | None]) -> dict[str, Any]:
    return {"label": label, "data": list(data)}


def _funnel_spec(funnel: Funnel) -> dict[str, Any] | None:
    if not funnel.stages:
        return None
    return {
        "kind": "hbar",
        "labels": [stage.label for stage in funnel.stages],
        "series": [
            _series(_("Reached"), [stage.reached for stage in funnel.stages]),
            _series(_("In it now"), [stage.current for stage in funnel.stages]),
        ],
    }


def page_charts(d: Dashboard) -> dict[str, dict[str, Any]]:
    """Chart.js series by section, for the sections that have numbers to draw."""
    specs: dict[str, dict[str, Any] | None] = {
        "partnership-funnel": _funnel_spec(d.partnership_funnel),
        "placement-funnel": _funnel_spec(d.placement_funnel),
        "workload": {
            "kind": "bar",
            "labels": [w.name for w in d.workload],
            "series": [
                _series(_("Open follow-ups"), [w.open_follow_ups for w in d.workload]),
                _series(_("Overdue follow-ups"), [w.overdue_follow_ups for w in d.workload]),
                _series(_("Records past SLA"), [w.past_sla for w in d.workload]),
            ],
        }
        if d.workload
        else None,
        "placements-per-month": {
            "kind": "bar",
            "labels": [_month(m.month) for m in d.placements_per_month],
            "series": [_series(_("Placements"), [m.count for m in d.placements_per_month])],
        }
        if d.placements_per_month
        else None,
        "satisfaction": {
            "kind": "line",
            "labels": [_month(s.month) for s in d.satisfaction],
            "series": [
                _series(
                    _("Average satisfaction (1–5)"),
                    [None if s.average is None else round(s.average, 2) for s in d.satisfaction],
                )
            ],
            "min": 1,
            "max": 5,
        }
        if any(s.average is not None for s in d.satisfaction)
        else None,
        "skills-gap": {
            "kind": "hbar",
            "labels": [
                _skill_label(s.programme_name, s.outcome_text) for s in d.skills_gap[:SKILL_BARS]
            ],
            "series": [
                _series(
                    _("Average rating (1–5)"),
                    [round(s.average, 2) for s in d.skills_gap[:SKILL_BARS]],
                )
            ],
            "min": 0,
            "max": 5,
        }
        if d.skills_gap
        else None,
    }
    return {key: spec for key, spec in specs.items() if spec is not None}


# --- SVG bar charts for the report ------------------------------------------------------------

WIDTH = 480
LABEL_WIDTH = 200  # room for the bar's label, left of the bars
VALUE_WIDTH = 44  # room for the value, right of the longest bar
BAR_HEIGHT = 12
ROW_HEIGHT = 17
TOP = 4


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length in the drawing and the value written after it."""

    label: str
    y: float
    length: float
    value: str


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: labels left, bars from `left`, values after the bars."""

    title: str
    width: int
    height: int
    left: int
    bar_height: int
    bars: tuple[Bar, ...]

    def text_y(self, bar: Bar) -> float:
        """The baseline of the bar's label and value (vertically centred on the bar)."""
        return round(bar.y + self.bar_height - 2.5, 1)


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float | None, str]],
    scale_max: float | None = None,
) -> BarChart | None:
    """Lay out (label, value, value as written) rows; None when there is nothing to draw.
    Bars are proportional to `scale_max` (or to the largest value)."""
    values = [value for _label, value, _text in rows if value is not None]
    if not values or (scale_max is None and max(values) <= 0):
        return None
    top = scale_max if scale_max is not None else max(values)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = tuple(
        Bar(
            label=_short(label, 32),
            y=TOP + index * ROW_HEIGHT,
            length=round(max(0.0, min(value or 0.0, top)) * span / top, 1),
            value=text,
        )
        for index, (label, value, text) in enumerate(rows)
    )
    return BarChart(
        title=title,
        width=WIDTH,
        height=TOP * 2 + len(bars) * ROW_HEIGHT,
        left=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
        bars=bars,
    )


def report_charts(d: Dashboard, number: Any, decimal: Any) -> dict[str, BarChart]:
    """The report's bar charts by section; `number` and `decimal` write the values (whole
    numbers, and one decimal) in the reader's language."""
    charts: dict[str, BarChart | None] = {
        "partnership-funnel": bar_chart(
            _("Partnerships that reached each stage"),
            [(s.label, s.reached, number(s.reached)) for s in d.partnership_funnel.stages],
        ),
        "placement-funnel": bar_chart(
            _("Placements that reached each stage"),
            [(s.label, s.reached, number(s.reached)) for s in d.placement_funnel.stages],
        ),
        "placements-per-month": bar_chart(
            _("Placements per month"),
            [(_month(m.month), m.count, number(m.count)) for m in d.placements_per_month],
        ),
        "satisfaction": bar_chart(
            _("Average satisfaction (1–5)"),
            [
                (_month(s.month), s.average, "—" if s.average is None else decimal(s.average))
                for s in d.satisfaction
            ],
            scale_max=5,
        ),
        "skills-gap": bar_chart(
            _("Average rating (1–5), lowest first"),
            [
                (_skill_label(s.programme_name, s.outcome_text), s.average, decimal(s.average))
                for s in d.skills_gap[:SKILL_BARS]
            ],
            scale_max=5,
        ),
    }
    return {key: chart for key, chart in charts.items() if chart is not None}
