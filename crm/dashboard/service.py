"""Building the managers' dashboard from pre-aggregated numbers.

- `default_filters(today)`: the last 12 whole months up to and including today's month.
- `build_dashboard(filters, now=None)`: every section of the dashboard for the filters.
- `refresh(now=None)`: aggregate the numbers again (scheduler job, CLI, "refresh now").

Design (the page must answer in well under 200 ms with 200,000 placements, whatever the
filters): the funnels, placements per month, satisfaction, skills gap, inclusion and workload
are sums over `dashboard_facts`, a table of counts that `refresh` rebuilds with set-based
`INSERT … SELECT … GROUP BY` statements in one transaction (crm.dashboard.facts says what is
counted and how). Each metric is stored at a few grains (crm.dashboard.grains): the page
reads the smallest that keeps the chosen filters, one statement per section over a few
hundred rows (or the rows of one officer or programme), whatever the data size. The
scheduler refreshes every 10 minutes (crm.dashboard.jobs), `flask crm dashboard refresh` and
the page's "refresh now" on demand; `Dashboard.computed_at` says how fresh the numbers are,
and the workload is counted as at that moment too. The at-risk partnerships and expiring
agreements are read live, each in one indexed statement with a LIMIT (crm.dashboard.live).

Before the first refresh (a new database), `build_dashboard` refreshes in the request's own
transaction, so the page always has numbers; it is cheap on a small database, and large ones
are refreshed by `crm generate`, the scheduler and the CLI. Like every service it never
commits: a view that commits keeps them, otherwise the next request computes them again.

Every function here only reads, but for that first refresh; `refresh` writes. None commits.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _

from crm.dashboard import facts, numbers
from crm.dashboard.data import Dashboard, Filters
from crm.dashboard.facts import RefreshRun
from crm.dashboard.inclusion import inclusion
from crm.dashboard.live import at_risk, expiring_agreements
from crm.db import utcnow
from crm.health.service import current_config, provider_today
from crm.partnerships.service import definition as partnership_definition
from crm.placements.adapter import definition as placement_definition

# Agreements expiring within this many days of today are listed.
EXPIRING_DAYS = 90
DEFAULT_MIN_GROUP = 5


def default_filters(today: dt.date) -> Filters:
    """The 12 whole months ending with today's month, nothing else filtered."""
    if today.month == 12:
        first = dt.date(today.year, 1, 1)
    else:
        first = dt.date(today.year - 1, today.month + 1, 1)
    next_month = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return Filters(period_from=first, period_to=next_month - dt.timedelta(days=1))


def min_group_size() -> int:
    """The smallest group of learners the inclusion section shows a count for."""
    return int(current_app.config.get("CRM_DASHBOARD_MIN_GROUP", DEFAULT_MIN_GROUP))


def build_dashboard(filters: Filters, now: dt.datetime | None = None) -> Dashboard:
    """Every section of the dashboard for `filters`, in a fixed number of statements."""
    now = now or utcnow()
    latest = facts.latest_refresh()
    if latest is None:
        facts.rebuild(now)
        latest = facts.latest_refresh()
        assert latest is not None
    stages = latest.stages or {}
    minimum = min_group_size()
    return Dashboard(
        filters=filters,
        computed_at=latest.computed_at,
        partnership_funnel=numbers.funnel(
            "partnership", "p", partnership_definition(), stages.get("partnership", []), filters
        ),
        placement_funnel=numbers.funnel(
            "placement", "pl", placement_definition(), stages.get("placement", []), filters
        ),
        at_risk=at_risk(filters, now, current_config()),
        workload=numbers.workload(filters),
        placements_per_month=numbers.placements_per_month(filters),
        satisfaction=numbers.satisfaction(filters),
        expiring_agreements=expiring_agreements(filters, provider_today(now), EXPIRING_DAYS),
        skills_gap=numbers.skills_gap(filters),
        inclusion=inclusion(filters, minimum),
        min_group_size=minimum,
        notes=notes(filters),
    )


def notes(filters: Filters) -> list[str]:
    """What the page says about the filters some sections cannot apply."""
    said = []
    if filters.programme_id:
        said.append(
            _(
                "Partnerships are not tied to a programme: the partnership funnel, the "
                "partnerships at risk and the workload cover every programme."
            )
        )
        said.append(
            _(
                "Expiring agreements are the placement agreements of the chosen programme: "
                "partnership memoranda are not tied to a programme."
            )
        )
    if filters.sector or filters.country:
        said.append(
            _(
                "Learners are not tied to an employer's sector or country: inclusion covers "
                "every sector and country, and so does the workload."
            )
        )
    return said


def refresh(now: dt.datetime | None = None) -> RefreshRun:
    """Aggregate the dashboard's numbers again, as at `now` (never commits)."""
    return facts.rebuild(now or utcnow())
