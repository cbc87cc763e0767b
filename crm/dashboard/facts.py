"""The dashboard's numbers, aggregated ahead of time into `dashboard_facts`.

Why: at scale (20,000 partnerships, 200,000 placements with 1.3 million transitions, 100,000
evaluations) counting funnels, months and ratings from the records on every page view costs
seconds; summing a few hundred pre-counted rows costs milliseconds, whatever the data size.

How: `rebuild(now)` deletes every fact and writes them again in the caller's transaction
(the job, the CLI, `crm generate` or the page's "refresh now" commits): one `INSERT … SELECT …
GROUP BY` per metric over the records, at its base grain, then one `INSERT … SELECT … GROUP
BY` per coarser grain over rows already written (crm.dashboard.grains). No Python loop runs
over records. Readers see the previous facts until the rebuild commits (PostgreSQL: MVCC;
SQLite: WAL); two rebuilds at once wait for each other (PostgreSQL: a table lock; SQLite:
the write lock the transaction began with). At scale (about 750,000 facts) a rebuild takes
some 10 to 20 seconds on either database; on SQLite other writers wait for it meanwhile.

Each metric is counted per month (or cohort) and per the dimensions whose filters it honours:
programme, sector (the NACE section letter of the organisation), country, officer.

Metrics (all counts; `total` is a sum to average):
- p: partnerships by the month they started (`created_at`: starting a partnership puts it
  in the initial stage without a transition), their stage now (`key`) and the stages they
  ever reached (`key_id`, a bit mask over `stage_order`: the initial stage and every
  `to_state` of their transitions; the refresh row keeps the order the bits stand for).
- pl: the same for placements, by the month of `start_date` (of `created_at` without one),
  with `month2` the month of `start_date` (placements per month), the programme and the
  host organisation's sector and country.
- satisfaction: employer evaluations by the month of `submitted_at` (UTC), the sector and
  country of the employer who evaluated (the placement's host) and the placement's officer;
  total = satisfaction.
- skills: the same for employer ratings (1-5, "not observed" left out), per outcome
  (`key_id`); total = ratings.
- learners: learners not archived by cohort (`month`, `month2`: its first and last day),
  `key` "needs" for those with support needs (the text never leaves the database).
- placed: for each learner, each distinct month in which one of their placements (not
  declined or cancelled, inside their cohort's dates) starts, with `month2` the learner's
  previous such month. A learner had a placement starting in [A, B] exactly when one of
  their rows has A <= month <= B and (month2 < A or none): a distinct count by sums.
- workload: per user, as at `now`: open follow-ups ("open"), overdue ones ("overdue"),
  partnerships and placements past their stage's SLA ("past_sla"), and "owns" for everyone
  who owns or is assigned anything.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.dashboard.grains import LETTER_COLUMNS, METRICS
from crm.dashboard.models import DashboardRefresh, dashboard_facts
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Cohort, Learner
from crm.organisations import nace
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import definition as partnership_definition
from crm.partnerships.service import overdue_condition
from crm.placements.adapter import definition as placement_definition
from crm.placements.listing import past_sla_in as placement_past_sla_in
from crm.placements.models import Placement
from crm.workflow.definitions import WorkflowDef
from crm.workflow.models import WorkflowTransition

# Placements that did not happen: not counted per month nor as "placed" for inclusion.
NOT_PLACED_STATES = ("declined", "cancelled")
# How long the record of past refreshes is kept.
REFRESHES_KEPT = dt.timedelta(days=7)


# --- SQL building blocks -------------------------------------------------------------------


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def month_of_date(column: Any) -> Any:
    """The first day of the month of a date, in SQL."""
    if _postgresql():
        return sa.cast(sa.func.date_trunc("month", sa.cast(column, sa.DateTime)), sa.Date)
    return sa.func.date(column, "start of month")


def month_of_time(column: Any) -> Any:
    """The first day of the UTC month of a timestamp, in SQL."""
    if _postgresql():
        return sa.cast(sa.func.date_trunc("month", sa.func.timezone("UTC", column)), sa.Date)
    return sa.func.date(column, "start of month")  # SQLite keeps UTC timestamps as text


def _section_bounds() -> list[tuple[str, str]]:
    """(highest division code, section letter) in code order: NACE sections are runs of
    consecutive divisions, so a code's section is the first whose highest code is >= it."""
    highest: dict[str, str] = {}
    for division in nace.DIVISIONS.values():
        highest[division.section] = max(highest.get(division.section, ""), division.code)
    lowest: dict[str, str] = {}
    for division in nace.DIVISIONS.values():
        lowest[division.section] = min(lowest.get(division.section, "99"), division.code)
    bounds = sorted((code, letter) for letter, code in highest.items())
    for (_code, letter), (_next, following) in itertools.pairwise(bounds):
        assert highest[letter] < lowest[following], "NACE sections are not runs of divisions"
    return bounds


SECTION_BOUNDS = _section_bounds()


def sector_of(organisation: Any) -> Any:
    """The NACE section letter of an organisation's division code, in SQL (comparisons of
    two-digit codes, cheaper per row than lists of codes)."""
    return sa.case(
        *((organisation.nace_code <= code, letter) for code, letter in SECTION_BOUNDS),
        else_=None,
    )


FACT_COLUMNS = (
    "month",
    "month2",
    "programme_id",
    "sector",
    "country",
    "officer_id",
    "key",
    "key_id",
)
_TYPES = {c.name: c.type for c in dashboard_facts.columns}


def _counted(
    metric: str,
    grain: str,
    source: Any,
    *where: Any,
    count: Any = None,
    total: Any = None,
    fixed: dict[str, Any] | None = None,
    **groups: Any,
) -> sa.Insert:
    """`INSERT INTO dashboard_facts SELECT … FROM source WHERE … GROUP BY groups` at one grain
    (the dimensions it does not keep are NULL); `fixed` columns are constants, the others
    NULL ('' for key)."""
    fixed = fixed or {}
    kept = {LETTER_COLUMNS[letter] for letter in grain}
    names = ["metric", "grain", *FACT_COLUMNS, "count", "total"]
    values: list[Any] = [sa.literal(metric, _TYPES["metric"]), sa.literal(grain, _TYPES["grain"])]
    positions = []
    for name in FACT_COLUMNS:
        dimension = name in LETTER_COLUMNS.values()
        if name in groups and (name in kept or not dimension):
            positions.append(len(values) + 1)
            values.append(groups[name])
        elif name in fixed:
            values.append(sa.literal(fixed[name], _TYPES[name]))
        elif name == "key":
            values.append(sa.literal("", _TYPES["key"]))
        else:
            values.append(sa.cast(sa.null(), _TYPES[name]))
    values.append(sa.func.count() if count is None else count)
    values.append(sa.cast(sa.null(), _TYPES["total"]) if total is None else total)
    query = (
        sa.select(*(value.label(name) for name, value in zip(names, values, strict=True)))
        .select_from(source)
        .where(*where)
        .group_by(*_positions(positions, names))
        .order_by(*_positions(positions, names, cluster_only=True))
    )
    return sa.insert(dashboard_facts).from_select(names, query)


# Facts are written in the order of the officer index: an officer's rows lie together in
# the table (PostgreSQL reads a few pages for them rather than one per row) and SQLite adds
# to the index in sequence rather than all over it.
CLUSTER_ORDER = ("metric", "officer_id", "month")


def _positions(positions: list[int], names: list[str], cluster_only: bool = False) -> list[Any]:
    """These select-list positions (1-based), those of CLUSTER_ORDER first (or only), for
    GROUP BY and ORDER BY.

    By position: the same expression written twice (with its bound values) is not the same
    expression to PostgreSQL."""
    first = [p for name in CLUSTER_ORDER for p in positions if names[p - 1] == name]
    ordered = first if cluster_only else first + [p for p in positions if p not in first]
    return [sa.literal_column(str(p)) for p in ordered]


def _at_base_grains(metric: str, *args: Any, **kwargs: Any) -> list[sa.Insert]:
    """`_counted` at each of the metric's base grains."""
    return [_counted(metric, grain, *args, **kwargs) for grain in METRICS[metric].base]


# --- the metrics -----------------------------------------------------------------------------


def stage_order(wf: WorkflowDef) -> list[str]:
    """The workflow's states in the definition's order, terminal ones last: the funnel's
    order, and bit i of a record's "stages reached" mask is stage i of this list."""
    states = wf.states.items()
    return [s for s, d in states if not d.terminal] + [s for s, d in states if d.terminal]


def _reached_mask(model: Any, record_type: str, wf: WorkflowDef) -> Any:
    """A record's stages reached as a bit mask (see `stage_order`), in SQL: the initial
    stage, and every `to_state` of its transitions (SUM DISTINCT of powers of two, an OR)."""
    bits = {name: 1 << index for index, name in enumerate(stage_order(wf))}
    transition = WorkflowTransition
    later = sa.case(
        *((transition.to_state == name, bit) for name, bit in bits.items() if name != wf.initial),
        else_=None,
    )
    masks = (
        sa.select(transition.record_id.label("id"), sa.func.sum(sa.distinct(later)).label("mask"))
        .where(transition.record_type == record_type)
        .group_by(transition.record_id)
        .subquery(f"{record_type}_stages")
    )
    return masks, sa.func.coalesce(masks.c.mask, 0) + bits.get(wf.initial, 0)


def _partnership_facts() -> list[sa.Insert]:
    wf = partnership_definition()
    masks, reached = _reached_mask(Partnership, "partnership", wf)
    organisation = Organisation.__table__.c
    source = (
        Partnership.__table__.join(
            Organisation.__table__, organisation.id == Partnership.organisation_id
        )
    ).outerjoin(masks, masks.c.id == Partnership.id)
    return _at_base_grains(
        "p",
        source,
        Partnership.workflow_name == wf.name,
        month=month_of_time(Partnership.created_at),
        sector=sector_of(organisation),
        country=organisation.country,
        officer_id=Partnership.owner_id,
        key=Partnership.state,
        key_id=reached,
    )


def _placement_facts() -> list[sa.Insert]:
    wf = placement_definition()
    masks, reached = _reached_mask(Placement, "placement", wf)
    host = Organisation.__table__.c
    source = (
        Placement.__table__.outerjoin(Organisation.__table__, host.id == Placement.organisation_id)
    ).outerjoin(masks, masks.c.id == Placement.id)
    started = month_of_date(Placement.start_date)
    return _at_base_grains(
        "pl",
        source,
        # Every placement matches: read the table in order rather than through the
        # (workflow_name, state, ...) index, row by row.
        sa.func.coalesce(Placement.workflow_name, "") == wf.name,
        month=sa.func.coalesce(started, month_of_time(Placement.created_at)),
        month2=started,
        programme_id=Placement.programme_id,
        sector=sector_of(host),
        country=host.country,
        officer_id=Placement.officer_id,
        key=Placement.state,
        key_id=reached,
    )


def _evaluation_facts() -> list[sa.Insert]:
    """Employer evaluations and their ratings, by the month they were submitted, with the
    sector and country of the employer who evaluated (the placement's host) and the
    placement's officer."""
    organisation = Organisation.__table__
    host = organisation.c
    evaluated = Evaluation.__table__.join(
        Placement.__table__, Placement.id == Evaluation.placement_id
    ).outerjoin(organisation, host.id == Evaluation.organisation_id)
    groups = {
        "month": month_of_time(Evaluation.submitted_at),
        "programme_id": Evaluation.programme_id,
        "sector": sector_of(host),
        "country": host.country,
        "officer_id": Placement.officer_id,
    }
    employer = Evaluation.kind == EvaluationKind.EMPLOYER
    return [
        *_at_base_grains(
            "satisfaction",
            evaluated,
            employer,
            total=sa.func.sum(Evaluation.satisfaction),
            **groups,
        ),
        *_at_base_grains(
            "skills",
            EvaluationRating.__table__.join(
                evaluated, Evaluation.id == EvaluationRating.evaluation_id
            ),
            employer,
            EvaluationRating.rating.is_not(None),
            count=sa.func.count(EvaluationRating.rating),
            total=sa.func.sum(EvaluationRating.rating),
            key_id=EvaluationRating.outcome_id,
            **groups,
        ),
    ]


def _needs(learner: Any) -> Any:
    return sa.case((learner.support_needs != "", "needs"), else_="")


def _learner_facts() -> list[sa.Insert]:
    learners = Learner.__table__.join(Cohort.__table__, Cohort.id == Learner.cohort_id)
    counted = _at_base_grains(
        "learners",
        learners,
        Learner.archived_at.is_(None),
        month=Cohort.starts_on,
        month2=Cohort.ends_on,
        programme_id=Learner.programme_id,
        officer_id=Learner.officer_id,
        key=_needs(Learner),
    )
    started = month_of_date(Placement.start_date)
    months = (
        sa.select(Placement.learner_id.label("learner_id"), started.label("month"))
        .select_from(Placement.__table__.join(learners, Learner.id == Placement.learner_id))
        .where(
            Learner.archived_at.is_(None),
            Placement.start_date.is_not(None),
            Placement.start_date >= Cohort.starts_on,
            Placement.start_date <= Cohort.ends_on,
            Placement.state.not_in(NOT_PLACED_STATES),
        )
        .distinct()
        .subquery("placement_months")
    )
    previous = sa.func.lag(months.c.month).over(
        partition_by=months.c.learner_id, order_by=months.c.month
    )
    sequence = sa.select(months.c.learner_id, months.c.month, previous.label("previous")).subquery(
        "placement_sequence"
    )
    learner = Learner.__table__.alias("learner")
    placed = _at_base_grains(
        "placed",
        sequence.join(learner, learner.c.id == sequence.c.learner_id),
        month=sequence.c.month,
        month2=sequence.c.previous,
        programme_id=learner.c.programme_id,
        officer_id=learner.c.officer_id,
        key=_needs(learner.c),
    )
    return [*counted, *placed]


def _workload_facts(now: dt.datetime) -> list[sa.Insert]:
    open_ = FollowUp.status == FollowUpStatus.OPEN
    partnerships = partnership_definition()
    placements = placement_definition()
    placements_late = sa.or_(
        sa.false(),
        *(
            placement_past_sla_in(name, state.sla_days, now)
            for name, state in placements.states.items()
            if state.sla_days and not state.terminal
        ),
    )
    owners = sa.union(
        sa.select(Partnership.owner_id),
        sa.select(Placement.officer_id),
        sa.select(Organisation.owner_id),
        sa.select(Learner.officer_id),
        sa.select(FollowUp.assignee_id).where(open_),
    ).subquery("owners")
    follow_ups = FollowUp.__table__
    return [
        *_at_base_grains("workload", owners, fixed={"key": "owns"}, officer_id=owners.c[0]),
        *_at_base_grains(
            "workload", follow_ups, open_, fixed={"key": "open"}, officer_id=FollowUp.assignee_id
        ),
        *_at_base_grains(
            "workload",
            follow_ups,
            open_,
            FollowUp.due_at < now,
            fixed={"key": "overdue"},
            officer_id=FollowUp.assignee_id,
        ),
        *_at_base_grains(
            "workload",
            Partnership.__table__,
            Partnership.workflow_name == partnerships.name,
            overdue_condition(partnerships, now),
            fixed={"key": "past_sla"},
            officer_id=Partnership.owner_id,
        ),
        *_at_base_grains(
            "workload",
            Placement.__table__,
            Placement.workflow_name == placements.name,
            placements_late,
            fixed={"key": "past_sla"},
            officer_id=Placement.officer_id,
        ),
    ]


def _rollups() -> list[sa.Insert]:
    """The derived grains, each summed from a larger stored grain of the same metric: one
    statement per (grain, source) pair, larger grains first (they are the sources)."""
    wanted: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, metric in METRICS.items():
        for grain, source in metric.sources():
            wanted[(grain, source)].append(name)
    facts = dashboard_facts.c
    inserts = []
    for (grain, source), metrics in sorted(wanted.items(), key=lambda item: -len(item[0][0])):
        kept = {LETTER_COLUMNS[letter] for letter in grain}
        values: list[Any] = [facts.metric, sa.literal(grain, _TYPES["grain"])]
        positions = [1]
        for name in FACT_COLUMNS:
            if name in LETTER_COLUMNS.values() and name not in kept:
                values.append(sa.cast(sa.null(), _TYPES[name]))
            else:
                positions.append(len(values) + 1)
                values.append(facts[name])
        values += [sa.func.sum(facts.count), sa.func.sum(facts.total)]
        names = ["metric", "grain", *FACT_COLUMNS, "count", "total"]
        query = (
            sa.select(*(v.label(n) for n, v in zip(names, values, strict=True)))
            .where(facts.metric.in_(metrics), facts.grain == source)
            .group_by(*_positions(positions, names))
            .order_by(*_positions(positions, names, cluster_only=True))
        )
        inserts.append(sa.insert(dashboard_facts).from_select(names, query))
    return inserts


# --- rebuilding ------------------------------------------------------------------------------


@dataclass
class RefreshRun:
    """What a rebuild wrote (counts only, for the scheduler's log)."""

    facts: int = 0
    milliseconds: int = 0


def statements(now: dt.datetime) -> Sequence[sa.Executable]:
    """Every statement of a rebuild after the delete, in order (the rollups come last)."""
    return [
        *_partnership_facts(),
        *_placement_facts(),
        *_evaluation_facts(),
        *_learner_facts(),
        *_workload_facts(now),
        *_rollups(),
    ]


def rebuild(now: dt.datetime) -> RefreshRun:
    """Delete every fact and count them again as at `now`, then record the refresh.

    Never commits: the caller's transaction makes the new facts visible all at once.
    """
    started = time.perf_counter()
    if _postgresql():
        # Another rebuild waits here until this one commits; readers are not blocked.
        db.session.execute(sa.text("LOCK TABLE dashboard_facts IN EXCLUSIVE MODE"))
    db.session.execute(sa.delete(dashboard_facts))
    for statement in statements(now):
        db.session.execute(statement)
    written = db.session.scalar(sa.select(sa.func.count()).select_from(dashboard_facts)) or 0
    seconds = time.perf_counter() - started
    db.session.execute(
        sa.delete(DashboardRefresh).where(DashboardRefresh.computed_at < now - REFRESHES_KEPT)
    )
    stages = {
        "partnership": stage_order(partnership_definition()),
        "placement": stage_order(placement_definition()),
    }
    db.session.add(
        DashboardRefresh(computed_at=now, seconds=round(seconds, 3), facts=written, stages=stages)
    )
    db.session.flush()
    return RefreshRun(facts=int(written), milliseconds=round(seconds * 1000))


def latest_refresh() -> DashboardRefresh | None:
    """The most recent refresh, if any."""
    return db.session.scalar(
        sa.select(DashboardRefresh).order_by(DashboardRefresh.computed_at.desc()).limit(1)
    )
