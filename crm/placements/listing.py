"""The placement list and pipeline board, in a fixed number of statements."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, load_only

from crm.auth.models import User
from crm.core.pagination import Page
from crm.core.search import search_conditions
from crm.core.text import search_terms
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Learner, Programme
from crm.organisations.models import Organisation
from crm.placements.adapter import definition
from crm.placements.models import Placement
from crm.placements.service import learner_load
from crm.workflow.definitions import WorkflowDef


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


def _filtered(filters: PlacementFilters, wf: WorkflowDef, *columns: Any) -> sa.Select[Any]:
    """`SELECT columns FROM placements` (the entity by default) with the filters.

    Learners and organisations are only looked into through `IN (SELECT id …)` for the search
    and the cohort, so that the count and the board read placements alone.
    """
    query = sa.select(*(columns or (Placement,))).select_from(Placement)
    query = query.where(Placement.workflow_name == wf.name)
    terms = search_terms(filters.query)
    if terms:
        learners = sa.select(Learner.id).where(
            *search_conditions(Learner.search_text, Learner.id, "learner_search", terms)
        )
        organisations = sa.select(Organisation.id).where(
            *search_conditions(
                Organisation.search_text, Organisation.id, "organisation_search", terms
            )
        )
        # One branch per index: the learner's placements by (learner_id, start_date), the
        # organisation's by (organisation_id, start_date); an OR of the two would scan all.
        found = sa.union(
            sa.select(Placement.id).where(Placement.learner_id.in_(learners)),
            sa.select(Placement.id).where(Placement.organisation_id.in_(organisations)),
        )
        query = query.where(Placement.id.in_(found))
    if filters.programme_id:
        query = query.where(Placement.programme_id == filters.programme_id)
    if filters.cohort_id:
        query = query.where(
            Placement.learner_id.in_(
                sa.select(Learner.id).where(Learner.cohort_id == filters.cohort_id)
            )
        )
    if filters.state:
        query = query.where(Placement.state == filters.state)
    if filters.organisation_id:
        query = query.where(Placement.organisation_id == filters.organisation_id)
    if filters.officer_id:
        query = query.where(Placement.officer_id == filters.officer_id)
    if filters.period_from:
        query = query.where(Placement.end_date >= filters.period_from)
    if filters.period_to:
        query = query.where(Placement.start_date <= filters.period_to)
    return query


def _card_loads() -> list[Any]:
    """What a row or a card shows: learner, organisation, officer and programme names."""
    return [
        learner_load(),
        joinedload(Placement.organisation).load_only(
            Organisation.legal_name, Organisation.trading_name, Organisation.city
        ),
        joinedload(Placement.officer, innerjoin=True).load_only(User.name),
        joinedload(Placement.programme, innerjoin=True).load_only(Programme.name, Programme.code),
    ]


# Counting stops here: with 200,000 placements an exact count of all of them costs more than
# the rest of a page. The list says "more than 10,000", a board column "1,000+".
LIST_COUNT_CAP = 10_000
BOARD_COUNT_CAP = 1_000


def capped_count(query: sa.Select[Any], cap: int) -> sa.Select[Any]:
    """`SELECT count(*)` of the query's rows, counting at most `cap + 1` of them."""
    return sa.select(sa.func.count()).select_from(query.limit(cap + 1).subquery())


def list_placements(filters: PlacementFilters, page: int, per_page: int) -> Page[Placement]:
    """One page of placements, longest in their stage first, in two statements.

    The total is counted up to LIST_COUNT_CAP + 1 (more means "more than the cap"). The page
    is chosen among the placements alone and only its rows are joined to what they show: a
    search can match thousands, and joining them all before sorting costs more than the rest.
    """
    wf = definition()
    total = (
        db.session.scalar(capped_count(_filtered(filters, wf, Placement.id), LIST_COUNT_CAP)) or 0
    )
    page = min(max(1, page), max(1, math.ceil(total / per_page)))
    order = (Placement.state_entered_at.asc(), Placement.id.asc())
    chosen = (
        _filtered(filters, wf, Placement.id)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = db.session.scalars(
        sa.select(Placement)
        .where(Placement.id.in_(chosen.scalar_subquery()))
        .options(
            # Only what a row shows: the checklist (JSON) and the long texts cost more to
            # read and decode than the rest of the page.
            load_only(
                Placement.learner_id,
                Placement.organisation_id,
                Placement.officer_id,
                Placement.programme_id,
                Placement.state,
                Placement.state_entered_at,
                Placement.start_date,
                Placement.end_date,
                raiseload=True,
            ),
            *_card_loads(),
        )
        .order_by(*order)
    ).all()
    return Page(items=items, page=page, per_page=per_page, total=total)


def past_sla_in(name: str, sla_days: int, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Placements in state `name` past its SLA (as engine.sla_status counts)."""
    return sa.and_(
        Placement.state == name,
        Placement.state_entered_at <= now - dt.timedelta(days=sla_days + 1),
    )


@dataclass
class BoardColumn:
    """One state on the board: its count, how many are past the SLA, and the first cards."""

    state: str
    label: str
    waiting_on: str
    sla_days: int | None
    terminal: bool = False
    count: int = 0
    overdue: int = 0
    cards: list[Card] = field(default_factory=list)

    @property
    def is_capped(self) -> bool:
        """Whether the count stopped at the cap (there are more)."""
        return self.count > BOARD_COUNT_CAP

    @property
    def count_label(self) -> str:
        """The count as shown: "1,000+" past the cap."""
        return f"{format_decimal(BOARD_COUNT_CAP)}+" if self.is_capped else str(self.count)

    @property
    def overdue_label(self) -> str:
        if self.overdue > BOARD_COUNT_CAP:
            return f"{format_decimal(BOARD_COUNT_CAP)}+"
        return str(self.overdue)


@dataclass(frozen=True)
class Card:
    """A placement on the board: what its card shows (read as plain columns, not entities)."""

    id: int
    state: str
    state_entered_at: dt.datetime
    learner_name: str
    organisation_name: str | None
    officer_name: str


def board(filters: PlacementFilters, cards_per_column: int = 10) -> list[BoardColumn]:
    """The placement pipeline: counts per state and the longest-waiting cards, in two statements.

    As the partnership board: one UNION ALL of the counts per state and of the past-SLA counts
    per state with an SLA, then the cards, each state's first ones. Every part is a range of
    the (workflow_name, state, state_entered_at, id) index, and the counts stop after
    BOARD_COUNT_CAP + 1 rows (the finished stages hold most of the placements).
    """
    wf = definition()
    now = utcnow()
    base = _filtered(filters, wf, Placement.id)

    def counted(*conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        return capped_count(base.where(*conditions), BOARD_COUNT_CAP).scalar_subquery()

    nothing = sa.literal(0, sa.Integer)
    counts: list[Any] = []
    for name, state in wf.states.items():
        label = sa.literal(name, sa.String)
        counts.append(sa.select(label, counted(Placement.state == name), nothing))
        if state.sla_days and not state.terminal:
            late = counted(past_sla_in(name, state.sla_days, now))
            counts.append(sa.select(label, nothing, late))
    by_state: dict[str, tuple[int, int]] = {}
    for name, count, late in db.session.execute(sa.union_all(*counts)):
        total, overdue = by_state.get(name, (0, 0))
        by_state[name] = (total + count, overdue + late)

    firsts = [
        base.where(Placement.state == name)
        .order_by(Placement.state_entered_at, Placement.id)
        .limit(cards_per_column)
        .subquery()
        .select()
        for name in wf.states
    ]
    rows = db.session.execute(
        sa.select(
            Placement.id,
            Placement.state,
            Placement.state_entered_at,
            Learner.first_name,
            Learner.last_name,
            Organisation.legal_name,
            Organisation.trading_name,
            User.name,
        )
        .join(Learner, Learner.id == Placement.learner_id)
        .join(User, User.id == Placement.officer_id)
        .outerjoin(Organisation, Organisation.id == Placement.organisation_id)
        .where(Placement.id.in_(sa.union_all(*firsts)))
        .order_by(Placement.state_entered_at, Placement.id)
    )
    columns = {
        name: BoardColumn(
            state=name,
            label=_(state.label),
            waiting_on=state.waiting_on,
            sla_days=state.sla_days,
            terminal=state.terminal,
            count=by_state.get(name, (0, 0))[0],
            overdue=by_state.get(name, (0, 0))[1],
        )
        for name, state in wf.states.items()
    }
    for id_, state_name, entered, first, last, legal, trading, officer in rows:
        if state_name in columns:
            columns[state_name].cards.append(
                Card(
                    id_,
                    state_name,
                    entered,
                    f"{first} {last}".strip(),
                    (trading or legal) if legal is not None else None,
                    officer,
                )
            )
    return list(columns.values())
