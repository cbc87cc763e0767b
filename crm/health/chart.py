"""The 12-month trend of a score, laid out for an inline SVG drawn by the template.

Pure: days and scores in, coordinates and labels out. The template writes the SVG with
presentation attributes and classes only (the CSP forbids inline styles), and a table of
the same figures per month for readers who cannot see the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import has_app_context
from flask_babel import format_date

from crm.health.config import HealthConfig

WIDTH = 440
HEIGHT = 160
LEFT = 30  # room for the score labels
RIGHT = 6
TOP = 8
BOTTOM = 22  # room for the month labels
# A gap of more days than this between two recorded days breaks the line.
GAP_DAYS = 7


@dataclass(frozen=True)
class Tick:
    """A label on an axis at a coordinate."""

    at: float
    label: str


@dataclass(frozen=True)
class MonthRow:
    """One month of the trend, for the table beside the chart."""

    month: str
    days: int
    average: int
    lowest: int
    highest: int
    last: int


@dataclass(frozen=True)
class TrendChart:
    """Everything the template needs to draw the trend."""

    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    lines: tuple[str, ...]  # polyline "x,y x,y ..." per unbroken run of days
    dots: tuple[tuple[float, float], ...]  # lone days (a run of one)
    bands: tuple[Tick, ...]  # y of each band's lowest score, labelled with the score
    months: tuple[Tick, ...]  # x of the first of each month
    rows: tuple[MonthRow, ...]
    first: dt.date
    last: dt.date

    @property
    def is_empty(self) -> bool:
        return not self.rows


def _label(day: dt.date, pattern: str) -> str:
    return format_date(day, pattern) if has_app_context() else day.strftime("%b %Y")


def trend_chart(
    points: Sequence[tuple[dt.date, int]], today: dt.date, config: HealthConfig, days: int = 365
) -> TrendChart:
    """Lay out the scores of the `days` up to `today` (points in day order)."""
    first = today - dt.timedelta(days=days - 1)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return round(LEFT + (day - first).days * plot_width / max(1, days - 1), 1)

    def y(score: int) -> float:
        return round(TOP + (100 - score) * plot_height / 100, 1)

    runs: list[list[tuple[dt.date, int]]] = []
    for day, score in points:
        if day < first or day > today:
            continue
        if runs and (day - runs[-1][-1][0]).days <= GAP_DAYS:
            runs[-1].append((day, score))
        else:
            runs.append([(day, score)])
    lines = tuple(
        " ".join(f"{x(day)},{y(score)}" for day, score in run) for run in runs if len(run) > 1
    )
    dots = tuple((x(run[0][0]), y(run[0][1])) for run in runs if len(run) == 1)

    b = config.bands
    band_ticks = tuple(Tick(y(s), str(s)) for s in (100, b.thriving, b.steady, b.at_risk, 0))
    month_ticks = []
    month = dt.date(first.year, first.month, 1)
    while month <= today:
        # (A month starting at the right edge has no room for its name.)
        if month >= first and x(month) <= WIDTH - RIGHT - 24:
            month_ticks.append(Tick(x(month), _label(month, "MMM")))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)

    by_month: dict[tuple[int, int], list[tuple[dt.date, int]]] = {}
    for run in runs:
        for day, score in run:
            by_month.setdefault((day.year, day.month), []).append((day, score))
    rows = tuple(
        MonthRow(
            month=_label(dt.date(year, number, 1), "MMMM yyyy"),
            days=len(scores),
            average=round(sum(s for _d, s in scores) / len(scores)),
            lowest=min(s for _d, s in scores),
            highest=max(s for _d, s in scores),
            last=scores[-1][1],
        )
        for (year, number), scores in sorted(by_month.items())
    )
    return TrendChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        lines=lines,
        dots=dots,
        bands=band_ticks,
        months=tuple(month_ticks),
        rows=rows,
        first=first,
        last=today,
    )
