"""The placement list and its filters, in a fixed number of statements.

The list's statements (and the board's, crm.placements.board) are built once per *shape* of
the filters (which filters are set and, for a search, which terms are long enough for a
trigram index) with every value a bound parameter, and kept: building and cache-keying the
SQLAlchemy constructs cost more than running them. They are Core statements over the tables,
and rows come back as plain columns: no ORM entities are made for a list page.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.auth.models import User
from crm.core.pagination import Page
from crm.core.search import (
    SearchShape,
    bound_search_conditions,
    search_parameters,
    search_shape,
)
from crm.core.text import search_terms
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme
from crm.organisations.models import Organisation
from crm.placements.adapter import definition
from crm.placements.models import Placement
from crm.workflow.definitions import WorkflowDef

P = Placement.__table__.c
LEARNERS = Learner.__table__
ORGANISATIONS = Organisation.__table__
PROGRAMMES = Programme.__table__
USERS = User.__table__
PLACEMENTS = Placement.__table__
COHORTS = Cohort.__table__

# Counting stops here: with 200,000 placements an exact count of all of them costs more than
# the rest of a page. The list says "more than 10,000".
LIST_COUNT_CAP = 10_000


@dataclass(frozen=True)
class PlacementFilters:
    """What the list and the board are asked to show (dates: placements overlapping them)."""

    query: str = ""
    programme_id: int | None = None
    cohort_id: int | None = None
    state: str = ""
    organisation_id: int | None = None
    officer_id: int | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None


@dataclass(frozen=True)
class Shape:
    """Which filters a statement tests; their values are bound parameters (`shape_and_values`)."""

    learner_search: SearchShape | None = None
    organisation_search: SearchShape | None = None
    set_filters: frozenset[str] = frozenset()


# Each filter: its bound parameter and the condition on placements that tests it.
_FILTERS: dict[str, Any] = {
    "programme_id": lambda value: P.programme_id == value,
    "cohort_id": lambda value: P.learner_id.in_(
        sa.select(LEARNERS.c.id).where(LEARNERS.c.cohort_id == value)
    ),
    "state": lambda value: P.state == value,
    "organisation_id": lambda value: P.organisation_id == value,
    "officer_id": lambda value: P.officer_id == value,
    "period_from": lambda value: P.end_date >= value,
    "period_to": lambda value: P.start_date <= value,
}


def shape_and_values(filters: PlacementFilters, wf: WorkflowDef) -> tuple[Shape, dict[str, Any]]:
    """The statement shape for these filters and the values of its parameters."""
    values: dict[str, Any] = {"f_workflow_name": wf.name}
    given = {
        "programme_id": filters.programme_id,
        "cohort_id": filters.cohort_id,
        "state": filters.state,
        "organisation_id": filters.organisation_id,
        "officer_id": filters.officer_id,
        "period_from": filters.period_from,
        "period_to": filters.period_to,
    }
    values |= {f"f_{name}": value for name, value in given.items() if value}
    set_filters = frozenset(name for name, value in given.items() if value)
    terms = search_terms(filters.query)
    if not terms:
        return Shape(set_filters=set_filters), values
    learner_search = search_shape("learner_search", terms)
    organisation_search = search_shape("organisation_search", terms)
    values |= search_parameters(learner_search, terms, "learner_q")
    values |= search_parameters(organisation_search, terms, "organisation_q")
    return Shape(learner_search, organisation_search, set_filters), values


def _selects(
    shape: Shape, columns: list[Any], *more: Any, outer: Any = None
) -> list[sa.Select[Any]]:
    """`SELECT columns FROM placements` with the filters (and `more` conditions, which may
    refer to `outer`, a FROM of an enclosing statement).

    A search is one SELECT per index it goes through, to be UNIONed: the learners' placements
    by (learner_id, …), the organisations' by (organisation_id, …); an OR of the two would read
    every placement. Learners and organisations are only looked into through `IN (SELECT id …)`,
    so that counts read placements alone.
    """
    conditions = [P.workflow_name == sa.bindparam("f_workflow_name", type_=sa.String), *more]
    for name in sorted(shape.set_filters):
        conditions.append(_FILTERS[name](sa.bindparam(f"f_{name}")))
    if shape.learner_search is None or shape.organisation_search is None:
        return [_correlated(sa.select(*columns).where(*conditions), outer)]
    learners = sa.select(LEARNERS.c.id).where(
        *bound_search_conditions(
            LEARNERS.c.search_text,
            LEARNERS.c.id,
            "learner_search",
            shape.learner_search,
            "learner_q",
        )
    )
    organisations = sa.select(ORGANISATIONS.c.id).where(
        *bound_search_conditions(
            ORGANISATIONS.c.search_text,
            ORGANISATIONS.c.id,
            "organisation_search",
            shape.organisation_search,
            "organisation_q",
        )
    )
    return [
        _correlated(sa.select(*columns).where(*conditions, P.learner_id.in_(learners)), outer),
        _correlated(
            sa.select(*columns).where(*conditions, P.organisation_id.in_(organisations)), outer
        ),
    ]


def _correlated(query: sa.Select[Any], outer: Any) -> sa.Select[Any]:
    return query if outer is None else query.correlate(outer)


def matching(
    shape: Shape, columns: list[Any], *more: Any, outer: Any = None
) -> sa.GenerativeSelect:
    """The filtered placements' `columns`, in no particular order."""
    selects = _selects(shape, columns, *more, outer=outer)
    return selects[0] if len(selects) == 1 else sa.union(*selects)


def in_list_order(
    shape: Shape, columns: list[Any], *more: Any, outer: Any = None
) -> sa.GenerativeSelect:
    """The filtered placements' `columns` (id and state_entered_at among them), longest in
    their stage first: an index range of (workflow_name, [state,] state_entered_at, id)."""
    found = matching(shape, columns, *more, outer=outer)
    found_columns = found.selected_columns
    return found.order_by(found_columns.state_entered_at, found_columns.id)


def capped_count(query: sa.GenerativeSelect, cap: int) -> sa.Select[Any]:
    """`SELECT count(*)` of the query's rows, counting at most `cap + 1` of them."""
    return sa.select(sa.func.count()).select_from(query.limit(cap + 1).subquery())


# --- the filters' choices ------------------------------------------------------------------


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers: programmes (archived last), cohorts grouped under their
    programme's name, and everyone who may own records (deactivated accounts last)."""

    programmes: list[tuple[int, str]]
    cohort_groups: list[tuple[str, list[tuple[int, str]]]]
    officers: list[tuple[int, str]]


@functools.cache
def _choices_statement() -> sa.CompoundSelect:
    # One statement instead of three (one round trip, and a page of these is read often):
    # each part numbers its rows in the order of crm.learners.service.programme_filter_choices,
    # cohort_filter_choices and crm.organisations.service.owner_filter_choices.
    no_text = sa.cast(sa.null(), sa.String)
    no_id = sa.cast(sa.null(), sa.Integer)
    programmes = sa.select(
        sa.literal(0, sa.Integer).label("part"),
        sa.func.row_number()
        .over(
            order_by=(
                PROGRAMMES.c.archived_at.is_not(None),
                PROGRAMMES.c.name,
                PROGRAMMES.c.id,
            )
        )
        .label("n"),
        PROGRAMMES.c.id,
        PROGRAMMES.c.name,
        PROGRAMMES.c.code.label("detail"),
        no_id.label("group_id"),
    )
    cohorts = sa.select(
        sa.literal(1, sa.Integer),
        sa.func.row_number().over(
            order_by=(
                PROGRAMMES.c.name,
                PROGRAMMES.c.id,
                COHORTS.c.starts_on.desc(),
                COHORTS.c.id,
            )
        ),
        COHORTS.c.id,
        COHORTS.c.name,
        PROGRAMMES.c.name,
        PROGRAMMES.c.id,
    ).join_from(COHORTS, PROGRAMMES, PROGRAMMES.c.id == COHORTS.c.programme_id)
    officers = sa.select(
        sa.literal(2, sa.Integer),
        sa.func.row_number().over(order_by=(USERS.c.is_active.desc(), USERS.c.name)),
        USERS.c.id,
        USERS.c.name,
        no_text,
        no_id,
    )
    everything = sa.union_all(programmes, cohorts, officers)
    return everything.order_by(everything.selected_columns.part, everything.selected_columns.n)


def filter_choices() -> FilterChoices:
    """The programmes, cohorts and officers the filters offer, in one statement."""
    programmes: list[tuple[int, str]] = []
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    officers: list[tuple[int, str]] = []
    for part, _n, id_, name, detail, group_id in db.session.execute(_choices_statement()):
        if part == 0:
            programmes.append((id_, f"{name} ({detail})"))
        elif part == 1:
            groups.setdefault(group_id, (detail, []))[1].append((id_, name))
        else:
            officers.append((id_, name))
    return FilterChoices(programmes, list(groups.values()), officers)


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRow:
    """A placement as a row of the list shows it."""

    id: int
    state: str
    state_entered_at: dt.datetime
    start_date: dt.date | None
    end_date: dt.date | None
    learner_name: str
    organisation_name: str | None  # None: not matched yet
    programme_code: str
    officer_name: str


_ROW_COLUMNS = (
    P.id,
    P.state,
    P.state_entered_at,
    P.start_date,
    P.end_date,
    LEARNERS.c.first_name,
    LEARNERS.c.last_name,
    ORGANISATIONS.c.legal_name,
    ORGANISATIONS.c.trading_name,
    # Looked up rather than joined: PostgreSQL plans every page's statement anew, and with
    # two tables fewer to join it plans it in a third of the time.
    sa.select(PROGRAMMES.c.code).where(PROGRAMMES.c.id == P.programme_id).scalar_subquery(),
    sa.select(USERS.c.name).where(USERS.c.id == P.officer_id).scalar_subquery(),
)


def _with_what_rows_show(query: sa.Select[Any]) -> sa.Select[Any]:
    return (
        query.join(LEARNERS, LEARNERS.c.id == P.learner_id)
        .outerjoin(ORGANISATIONS, ORGANISATIONS.c.id == P.organisation_id)
        .order_by(P.state_entered_at, P.id)
    )


@functools.lru_cache(maxsize=256)
def _list_statements(shape: Shape, cap: int) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The list's two statements for filters of this shape.

    Without a search: the capped count, then the page, an index range of the list order.
    With a search: the ids of the matches in the list order (the first LIST_COUNT_CAP + a
    page of them), then the rows of the page's ids: the search runs once, not twice.
    """
    if shape.learner_search is None:
        choosing = capped_count(matching(shape, [P.id]), cap)
        chosen = (
            in_list_order(shape, [P.id, P.state_entered_at])
            .limit(sa.bindparam("page_limit", type_=sa.Integer))
            .offset(sa.bindparam("page_offset", type_=sa.Integer))
            .subquery()
        )
        page = sa.select(*_ROW_COLUMNS).select_from(chosen).join(PLACEMENTS, P.id == chosen.c.id)
    else:
        found = matching(shape, [P.id, P.state_entered_at]).subquery()
        choosing = (
            sa.select(found.c.id)
            .order_by(found.c.state_entered_at, found.c.id)
            .limit(sa.bindparam("found_limit", type_=sa.Integer))
        )
        page = sa.select(*_ROW_COLUMNS).where(
            P.id.in_(sa.bindparam("page_ids", expanding=True, type_=sa.Integer))
        )
    return choosing, _with_what_rows_show(page)


def list_placements(filters: PlacementFilters, page: int, per_page: int) -> Page[ListRow]:
    """One page of placements, longest in their stage first, in two statements.

    The total is counted up to LIST_COUNT_CAP + 1 (more means "more than the cap"). The page
    is chosen among the placements alone and only its rows are joined to what they show: a
    search can match thousands, and joining them all before sorting costs more than the rest.
    """
    shape, values = shape_and_values(filters, definition())
    choosing, rows = _list_statements(shape, LIST_COUNT_CAP)
    if shape.learner_search is None:
        total = db.session.execute(choosing, values).scalar() or 0
        page = _within(page, total, per_page)
        values |= {"page_limit": per_page, "page_offset": (page - 1) * per_page}
    else:
        # Enough ids for the last page the capped total allows.
        values["found_limit"] = LIST_COUNT_CAP + per_page
        found = db.session.execute(choosing, values).scalars().all()
        total = min(len(found), LIST_COUNT_CAP + 1)
        page = _within(page, total, per_page)
        values["page_ids"] = found[(page - 1) * per_page : page * per_page]
    items = [
        ListRow(
            id_,
            state,
            entered,
            starts,
            ends,
            f"{first} {last}".strip(),
            (trading or legal) if legal is not None else None,
            code,
            officer,
        )
        for id_, state, entered, starts, ends, first, last, legal, trading, code, officer in (
            db.session.execute(rows, values)
        )
    ]
    return Page(items=items, page=page, per_page=per_page, total=total)


def _within(page: int, total: int, per_page: int) -> int:
    """The page asked for, or the nearest one there is."""
    return min(max(1, page), max(1, math.ceil(total / per_page)))


# --- stages past their SLA -----------------------------------------------------------------


def past_sla_in(name: str, sla_days: int, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Placements in state `name` past its SLA (as engine.sla_status counts)."""
    return sa.and_(
        Placement.state == name,
        Placement.state_entered_at <= overdue_since(sla_days, now),
    )


def overdue_since(sla_days: int, now: dt.datetime) -> dt.datetime:
    """Placements that entered a stage with this SLA at or before this moment are past it."""
    return now - dt.timedelta(days=sla_days + 1)
