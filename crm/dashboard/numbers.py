"""Reading the pre-aggregated facts: funnels, placements per month, satisfaction, skills gap
and workload, each in one statement that sums a few rows of one grain (crm.dashboard.grains),
whatever the size of the data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.auth.models import Role, User
from crm.dashboard.data import (
    Filters,
    Funnel,
    FunnelStage,
    MonthCount,
    OfficerWorkload,
    SatisfactionMonth,
    SkillRating,
)
from crm.dashboard.facts import NOT_PLACED_STATES, stage_order
from crm.dashboard.grains import DIMENSION_COLUMNS, METRICS, chosen_dimensions
from crm.dashboard.models import dashboard_facts
from crm.extensions import db
from crm.learners.models import Programme, ProgrammeOutcome
from crm.workflow.definitions import WorkflowDef

facts = dashboard_facts.c


def chosen(filters: Filters) -> dict[str, Any]:
    """The dimensions the filters choose, with their values."""
    return chosen_dimensions(
        filters.programme_id, filters.sector, filters.country, filters.officer_id
    )


def facts_of(metrics: Sequence[str], filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The facts of these metrics (sharing their dimensions) at the grain the filters need,
    with the filters the metrics honour."""
    metric = METRICS[metrics[0]]
    assert all(METRICS[name] == metric for name in metrics), "metrics of different grains"
    choice = chosen(filters)
    grain = metric.grain_for(choice)
    if grain is None:
        raise ValueError(f"no stored grain of {metrics[0]} answers {sorted(choice)}")
    conditions = [facts.metric.in_(metrics), facts.grain == grain]
    for name, value in choice.items():
        if name in metric.dimensions:
            conditions.append(facts[DIMENSION_COLUMNS[name]] == value)
    return conditions


def in_period(filters: Filters) -> sa.ColumnElement[bool]:
    return facts.month.between(filters.period_from, filters.period_to)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months after `month`'s (before, if negative)."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from `first`'s to `last`'s, both included."""
    months = [month_start(first)]
    while months[-1] < month_start(last):
        months.append(add_months(months[-1], 1))
    return months


def _count(value: Any) -> int:
    return int(value or 0)


# --- funnels -------------------------------------------------------------------------------


def _leading_stage(wf: WorkflowDef, earlier: Sequence[str], name: str) -> str | None:
    """The stage a conversion into `name` is counted from: the last earlier stage (not
    terminal) with a transition into it. A side stage listed in between (declined before
    agreement_out) leads nowhere near it and is passed over, so no conversion exceeds what
    the path allows."""
    sources = {
        source
        for transition in wf.transitions
        if transition.to == name
        for source in transition.from_states
    }
    for candidate in reversed(earlier):
        if candidate in sources and not wf.states[candidate].terminal:
            return candidate
    return None


def funnel(
    kind: str, metric: str, wf: WorkflowDef, counted: Sequence[str], filters: Filters
) -> Funnel:
    """Records started in the period: the stages they reached and are in now.

    `counted` is the stage order the facts' masks were counted with (bit i: stage i).
    """
    reached: dict[str, int] = defaultdict(int)
    current: dict[str, int] = defaultdict(int)
    for state, mask, count in db.session.execute(
        sa.select(facts.key, facts.key_id, sa.func.sum(facts.count))
        .where(*facts_of([metric], filters), in_period(filters))
        .group_by(facts.key, facts.key_id)
    ):
        current[state] += _count(count)
        for index, name in enumerate(counted):
            if int(mask or 0) >> index & 1:
                reached[name] += _count(count)
    stages = []
    order = stage_order(wf)
    for position, name in enumerate(order):
        state = wf.states[name]
        count = reached.get(name, 0)
        source = None if state.terminal else _leading_stage(wf, order[:position], name)
        previous = reached.get(source, 0) if source else 0
        stages.append(
            FunnelStage(
                state=name,
                label=_(state.label),
                terminal=state.terminal,
                reached=count,
                current=current.get(name, 0),
                conversion=count / previous if previous else None,
            )
        )
    return Funnel(kind, sum(current.values()), stages)


# --- months ----------------------------------------------------------------------------------


def placements_per_month(filters: Filters) -> list[MonthCount]:
    """Placements starting in each of the 12 months ending with period_to's month (but
    declined and cancelled ones)."""
    last = month_start(filters.period_to)
    first = add_months(last, -11)
    counts = {
        month: _count(count)
        for month, count in db.session.execute(
            sa.select(facts.month2, sa.func.sum(facts.count))
            .where(
                *facts_of(["pl"], filters),
                facts.month2.between(first, last),
                facts.key.not_in(NOT_PLACED_STATES),
            )
            .group_by(facts.month2)
        )
    }
    return [MonthCount(month, counts.get(month, 0)) for month in months_between(first, last)]


def satisfaction(filters: Filters) -> list[SatisfactionMonth]:
    """Employer evaluations and their mean satisfaction in every month of the period."""
    sums = {
        month: (_count(count), float(total or 0))
        for month, count, total in db.session.execute(
            sa.select(facts.month, sa.func.sum(facts.count), sa.func.sum(facts.total))
            .where(*facts_of(["satisfaction"], filters), in_period(filters))
            .group_by(facts.month)
        )
    }
    months = []
    for month in months_between(filters.period_from, filters.period_to):
        count, total = sums.get(month, (0, 0.0))
        months.append(SatisfactionMonth(month, count, total / count if count else None))
    return months


# --- skills gap ------------------------------------------------------------------------------


def skills_gap(filters: Filters) -> list[SkillRating]:
    """Employer ratings per programme and outcome in the period, worst average first (ties:
    more ratings first)."""
    sums = (
        sa.select(
            facts.programme_id,
            facts.key_id,
            sa.func.sum(facts.count).label("ratings"),
            sa.func.sum(facts.total).label("total"),
        )
        .where(*facts_of(["skills"], filters), in_period(filters))
        .group_by(facts.programme_id, facts.key_id)
        .subquery("skill_sums")
    )
    average = sums.c.total / sums.c.ratings
    rows = db.session.execute(
        sa.select(
            sums.c.programme_id,
            Programme.name,
            sums.c.key_id,
            ProgrammeOutcome.text,
            average,
            sums.c.ratings,
        )
        .join(Programme, Programme.id == sums.c.programme_id)
        .join(ProgrammeOutcome, ProgrammeOutcome.id == sums.c.key_id)
        .where(sums.c.ratings > 0)
        .order_by(average.asc(), sums.c.ratings.desc(), Programme.name, ProgrammeOutcome.position)
    )
    return [
        SkillRating(
            programme_id=programme_id,
            programme_name=programme_name,
            outcome_id=outcome_id,
            outcome_text=outcome_text,
            average=float(mean),
            ratings=_count(ratings),
        )
        for programme_id, programme_name, outcome_id, outcome_text, mean, ratings in rows
    ]


# --- workload --------------------------------------------------------------------------------

STAFF_ROLES = (Role.OFFICER, Role.MANAGER)


def workload(filters: Filters) -> list[OfficerWorkload]:
    """Per active officer or manager who owns anything: open and overdue follow-ups, and
    records past their stage's SLA (as at the last refresh), by name."""
    per_user: dict[int, dict[str, int]] = defaultdict(dict)
    names: dict[int, str] = {}
    query = (
        sa.select(facts.officer_id, User.name, facts.key, sa.func.sum(facts.count))
        .join(User, User.id == facts.officer_id)
        .where(
            *facts_of(["workload"], filters),
            User.is_active_account,
            User.role.in_(STAFF_ROLES),
        )
        .group_by(facts.officer_id, User.name, facts.key)
    )
    for user_id, name, key, count in db.session.execute(query):
        names[user_id] = name
        per_user[user_id][key] = _count(count)
    rows = [
        OfficerWorkload(
            officer_id=user_id,
            name=names[user_id],
            open_follow_ups=counts.get("open", 0),
            overdue_follow_ups=counts.get("overdue", 0),
            past_sla=counts.get("past_sla", 0),
        )
        for user_id, counts in per_user.items()
    ]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.officer_id))
