"""The dashboard's tables as plain rows: each section's CSV export, and the tables of the PDF
report. Cells keep their kind (a month, a percentage, a count hidden below the minimum group
size) until they are written, as machine-readable text for CSV or in the reader's language
for the report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _

from crm.dashboard.data import Dashboard, Funnel
from crm.health.score import band_label
from crm.learners.service import csv_cell


@dataclass(frozen=True)
class Month:
    """A whole month (its first day)."""

    first: dt.date


@dataclass(frozen=True)
class Percent:
    """A ratio shown as a percentage; None when there is none (or it is hidden)."""

    ratio: float | None


@dataclass(frozen=True)
class Hidden:
    """A count below the minimum group size: only "fewer than N" is shown."""

    below: int


Cell = str | int | float | bool | dt.date | Month | Percent | Hidden | None


@dataclass(frozen=True)
class Table:
    """One section's numbers: a heading per column and rows of cells."""

    key: str  # the section's name in the export's address: /dashboard/export/<key>.csv
    title: str
    headings: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    numeric: tuple[bool, ...]  # columns of numbers (aligned right in the report)


# --- the sections ----------------------------------------------------------------------------


def _funnel(key: str, title: str, funnel: Funnel) -> Table:
    return Table(
        key=key,
        title=title,
        headings=(_("Stage"), _("Reached"), _("In it now"), _("Conversion (%)")),
        rows=[
            (stage.label, stage.reached, stage.current, Percent(stage.conversion))
            for stage in funnel.stages
        ],
        numeric=(False, True, True, True),
    )


def _partnership_funnel(d: Dashboard) -> Table:
    return _funnel("partnership-funnel", _("Partnership funnel"), d.partnership_funnel)


def _placement_funnel(d: Dashboard) -> Table:
    return _funnel("placement-funnel", _("Placement funnel"), d.placement_funnel)


def _at_risk(d: Dashboard) -> Table:
    return Table(
        key="at-risk",
        title=_("Stalled and at-risk partnerships"),
        headings=(
            _("Partnership"),
            _("Organisation"),
            _("Officer"),
            _("Stage"),
            _("Health score"),
            _("Band"),
            _("Reason"),
            _("Days in stage"),
            _("Past SLA"),
        ),
        rows=[
            (
                p.partnership_id,
                p.organisation_name,
                p.owner_name,
                p.state_label,
                p.score,
                band_label(p.band),
                p.reason,
                p.days_in_state,
                p.past_sla,
            )
            for p in d.at_risk
        ],
        numeric=(True, False, False, False, True, False, False, True, False),
    )


def _workload(d: Dashboard) -> Table:
    return Table(
        key="workload",
        title=_("Workload per officer"),
        headings=(
            _("Officer"),
            _("Open follow-ups"),
            _("Overdue follow-ups"),
            _("Records past SLA"),
        ),
        rows=[(w.name, w.open_follow_ups, w.overdue_follow_ups, w.past_sla) for w in d.workload],
        numeric=(False, True, True, True),
    )


def _placements_per_month(d: Dashboard) -> Table:
    return Table(
        key="placements-per-month",
        title=_("Placements per month"),
        headings=(_("Month"), _("Placements")),
        rows=[(Month(m.month), m.count) for m in d.placements_per_month],
        numeric=(False, True),
    )


def _satisfaction(d: Dashboard) -> Table:
    return Table(
        key="satisfaction",
        title=_("Employer satisfaction"),
        headings=(_("Month"), _("Evaluations"), _("Average satisfaction (1–5)")),
        rows=[(Month(s.month), s.evaluations, s.average) for s in d.satisfaction],
        numeric=(False, True, True),
    )


def _expiring_agreements(d: Dashboard) -> Table:
    return Table(
        key="expiring-agreements",
        title=_("Agreements expiring soon"),
        headings=(
            _("Agreement"),
            _("Title"),
            _("Organisation"),
            _("Stage"),
            _("Expires on"),
            _("Days left"),
        ),
        rows=[
            (a.agreement_id, a.title, a.organisation_name, a.state_label, a.expires_on, a.days_left)
            for a in d.expiring_agreements
        ],
        numeric=(True, False, False, False, False, True),
    )


def _skills_gap(d: Dashboard) -> Table:
    return Table(
        key="skills-gap",
        title=_("Skills gap"),
        headings=(_("Programme"), _("Skill"), _("Average rating (1–5)"), _("Ratings")),
        rows=[(s.programme_name, s.outcome_text, s.average, s.ratings) for s in d.skills_gap],
        numeric=(False, False, True, True),
    )


def _inclusion(d: Dashboard) -> Table:
    def count(value: int | None) -> int | Hidden:
        return Hidden(d.min_group_size) if value is None else value

    return Table(
        key="inclusion",
        title=_("Inclusion"),
        headings=(
            _("Programme"),
            _("Learners"),
            _("Placed"),
            _("Share placed (%)"),
            _("Learners with support needs"),
            _("Placed with support needs"),
            _("Share placed with support needs (%)"),
        ),
        rows=[
            (
                row.programme_name,
                count(row.learners),
                count(row.placed),
                Percent(row.placed_rate),
                count(row.learners_with_needs),
                count(row.placed_with_needs),
                Percent(row.placed_with_needs_rate),
            )
            for row in d.inclusion
        ],
        numeric=(False, True, True, True, True, True, True),
    )


# In the page's order.
SECTIONS: dict[str, Callable[[Dashboard], Table]] = {
    "partnership-funnel": _partnership_funnel,
    "placement-funnel": _placement_funnel,
    "at-risk": _at_risk,
    "workload": _workload,
    "placements-per-month": _placements_per_month,
    "satisfaction": _satisfaction,
    "expiring-agreements": _expiring_agreements,
    "skills-gap": _skills_gap,
    "inclusion": _inclusion,
}


def tables(dashboard: Dashboard) -> list[Table]:
    """Every section's table, in the page's order."""
    return [build(dashboard) for build in SECTIONS.values()]


# --- writing cells ---------------------------------------------------------------------------


def fewer_than(below: int) -> str:
    """How a hidden count reads."""
    return _("fewer than %(number)d", number=below)


def csv_text(cell: Cell) -> str:
    """A cell as a spreadsheet reads it: ISO dates, months as 2026-01, a point for decimals,
    percentages as numbers (the heading says "%")."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return _("yes") if cell else _("no")
    if isinstance(cell, Month):
        return f"{cell.first:%Y-%m}"
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, Percent):
        return "" if cell.ratio is None else f"{cell.ratio * 100:.1f}"
    if isinstance(cell, Hidden):
        return fewer_than(cell.below)
    if isinstance(cell, float):
        return f"{cell:.2f}"
    return str(cell)


def display_text(cell: Cell) -> str:
    """A cell as a person reads it, in their language ("—" for none)."""
    if cell is None:
        return "—"
    if isinstance(cell, bool):
        return _("yes") if cell else _("no")
    if isinstance(cell, Month):
        return format_date(cell.first, "LLLL y")
    if isinstance(cell, dt.date):
        return format_date(cell, "medium")
    if isinstance(cell, Percent):
        return "—" if cell.ratio is None else percent(cell.ratio)
    if isinstance(cell, Hidden):
        return fewer_than(cell.below)
    if isinstance(cell, float):
        return format_decimal(cell, "#,##0.0")
    if isinstance(cell, int):
        return format_decimal(cell)
    return cell


def percent(ratio: float) -> str:
    """A ratio as a percentage with one decimal, in the reader's language: 66.7%, 66,7 %."""
    return format_percent(ratio, "#,##0.0%")


def table_csv(table: Table) -> str:
    """The table as CSV (CRLF line ends), every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(heading) for heading in table.headings])
    for row in table.rows:
        writer.writerow([csv_cell(csv_text(cell)) for cell in row])
    return out.getvalue()
