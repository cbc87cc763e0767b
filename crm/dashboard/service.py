"""Building the dashboard (a stub: the signatures are the contract; bodies to be written).

- `default_filters(today)`: the last 12 whole months up to and including today's month.
- `build_dashboard(filters, now=None)`: every section of the dashboard for the filters.
- `refresh(now=None)`: aggregate the numbers again (scheduler job, CLI, "refresh now").
"""

from __future__ import annotations

import datetime as dt

from crm.dashboard.data import Dashboard, Filters, Funnel

# Agreements expiring within this many days of today are listed.
EXPIRING_DAYS = 90


def default_filters(today: dt.date) -> Filters:
    """The 12 whole months ending with today's month, nothing else filtered."""
    if today.month == 12:
        first = dt.date(today.year, 1, 1)
    else:
        first = dt.date(today.year - 1, today.month + 1, 1)
    next_month = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return Filters(period_from=first, period_to=next_month - dt.timedelta(days=1))


def build_dashboard(filters: Filters, now: dt.datetime | None = None) -> Dashboard:
    """Every section of the dashboard for `filters` (stub: empty sections)."""
    now = now or dt.datetime.now(dt.UTC)
    return Dashboard(
        filters=filters,
        computed_at=now,
        partnership_funnel=Funnel("partnership", 0, []),
        placement_funnel=Funnel("placement", 0, []),
        at_risk=[],
        workload=[],
        placements_per_month=[],
        satisfaction=[],
        expiring_agreements=[],
        skills_gap=[],
        inclusion=[],
        min_group_size=5,
    )


def refresh(now: dt.datetime | None = None) -> None:
    """Aggregate the dashboard's numbers again (stub: nothing to aggregate yet)."""
