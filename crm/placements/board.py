"""The placement pipeline board: counts per stage and each stage's longest-waiting cards.

Two statements whatever the number of placements, built once per shape of the filters (as the
list's, crm.placements.listing) and run with the values as parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Learner
from crm.organisations.models import Organisation
from crm.placements.adapter import definition
from crm.placements.listing import (
    PlacementFilters,
    Shape,
    capped_count,
    in_list_order,
    matching,
    overdue_since,
    shape_and_values,
)
from crm.placements.models import Placement
from crm.workflow.definitions import WorkflowDef

P = Placement.__table__.c
LEARNERS = Learner.__table__
ORGANISATIONS = Organisation.__table__
USERS = User.__table__

# A column counts at most this many placements and then says "1,000+" (the finished stages
# hold most of the placements).
BOARD_COUNT_CAP = 1_000


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
    # What a count past the cap shows, e.g. "1,000+" (formatted once per board).
    capped_label: str = ""

    @property
    def is_capped(self) -> bool:
        """Whether the count stopped at the cap (there are more)."""
        return self.count > BOARD_COUNT_CAP

    @property
    def count_label(self) -> str:
        """The count as shown: "1,000+" past the cap."""
        return self.capped_label if self.is_capped else str(self.count)

    @property
    def overdue_label(self) -> str:
        """The number past the SLA as shown: "1,000+" past the cap."""
        return self.capped_label if self.overdue > BOARD_COUNT_CAP else str(self.overdue)


@dataclass(frozen=True, slots=True)
class Card:
    """A placement on the board: what its card shows (read as plain columns, not entities)."""

    id: int
    state: str
    state_entered_at: dt.datetime
    learner_name: str
    organisation_name: str | None
    officer_name: str


# (state, SLA days when its overdue cards are counted) for every state, in the board's order.
_Stages = tuple[tuple[str, int | None], ...]


def _stages(wf: WorkflowDef) -> _Stages:
    return tuple(
        (name, state.sla_days if state.sla_days and not state.terminal else None)
        for name, state in wf.states.items()
    )


_CARD_COLUMNS = [P.id, P.state, P.state_entered_at, P.learner_id, P.organisation_id, P.officer_id]


def _with_what_cards_show(query: sa.Select[Any], card: Any) -> sa.Select[Any]:
    """The query's placements `card` joined to the names a card shows, in the list order."""
    return (
        query.add_columns(
            LEARNERS.c.first_name,
            LEARNERS.c.last_name,
            ORGANISATIONS.c.legal_name,
            ORGANISATIONS.c.trading_name,
            USERS.c.name,
        )
        .join(LEARNERS, LEARNERS.c.id == card.learner_id)
        .join(USERS, USERS.c.id == card.officer_id)
        .outerjoin(ORGANISATIONS, ORGANISATIONS.c.id == card.organisation_id)
        .order_by(card.state_entered_at, card.id)
    )


@functools.lru_cache(maxsize=64)
def _board_statements(
    shape: Shape, stages: _Stages, cards_per_column: int, cap: int
) -> tuple[sa.CompoundSelect, sa.Select[Any]]:
    """The board's statements on SQLite: the counts per stage and the cards, each a UNION ALL
    of a part per stage. A stage with an SLA counts its placements past it in a second range
    of the index (`state_entered_at <= since`): cheaper there than testing each row."""
    counts: list[sa.Select[Any]] = []
    firsts: list[sa.Select[Any]] = []
    nothing = sa.literal(0, sa.Integer)
    for index, (name, sla_days) in enumerate(stages):
        label = sa.literal(name, sa.String)
        in_state = P.state == name
        total = capped_count(matching(shape, [P.id], in_state), cap)
        counts.append(sa.select(label, total.scalar_subquery(), nothing))
        if sla_days is not None:
            since = sa.bindparam(f"overdue_since_{index}", type_=P.state_entered_at.type)
            late = capped_count(matching(shape, [P.id], in_state, P.state_entered_at <= since), cap)
            counts.append(sa.select(label, nothing, late.scalar_subquery()))
        first = (
            in_list_order(shape, [P.id, P.state_entered_at], in_state)
            .limit(cards_per_column)
            .subquery()
        )
        firsts.append(sa.select(first.c.id))
    # IN, not a join with the UNION ALL: SQLite would push the joins and the sort into each
    # of its parts.
    cards = _with_what_cards_show(
        sa.select(P.id, P.state, P.state_entered_at).where(P.id.in_(sa.union_all(*firsts))), P
    )
    return sa.union_all(*counts), cards


@functools.lru_cache(maxsize=64)
def _lateral_board_statements(
    shape: Shape, cards_per_column: int, cap: int
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The board's statements on PostgreSQL: each reads the stages (their names and when a
    placement entered at or before is past the SLA) from arrays and their placements in a
    LATERAL subquery. Planning a UNION ALL of twelve parts took longer than running it.

    A stage's first `cap` + 1 placements are read once for both counts: in the list
    order those past the SLA (entered longest ago) come first, so they are all among them
    unless there are more than the cap of them.
    """
    stages = (
        sa.func.unnest(
            sa.bindparam("board_states", type_=postgresql.ARRAY(sa.String)),
            sa.bindparam("board_overdue_since", type_=postgresql.ARRAY(sa.DateTime(timezone=True))),
        )
        .table_valued(sa.column("state", sa.String), sa.column("since", sa.DateTime(timezone=True)))
        .render_derived(name="stages")
    )
    in_stage = P.state == stages.c.state
    first = (
        in_list_order(shape, [P.id, P.state_entered_at], in_stage, outer=stages)
        .limit(cap + 1)
        .subquery("first")
    )
    counted = (
        sa.select(
            sa.func.count().label("placements"),
            sa.func.count(sa.case((first.c.state_entered_at <= stages.c.since, 1))).label("late"),
        )
        .select_from(first)
        .lateral("counted")
    )
    counts = (
        sa.select(stages.c.state, counted.c.placements, counted.c.late)
        .select_from(stages)
        .join(counted, sa.true())
    )
    card = in_list_order(shape, _CARD_COLUMNS, in_stage).limit(cards_per_column).lateral("card")
    cards = _with_what_cards_show(
        sa.select(card.c.id, card.c.state, card.c.state_entered_at)
        .select_from(stages)
        .join(card, sa.true()),
        card.c,
    )
    return counts, cards


def columns(filters: PlacementFilters, cards_per_column: int = 10) -> list[BoardColumn]:
    """The placement pipeline: counts per state and the longest-waiting cards, in two statements.

    As the partnership board: the counts per state (with, for a state with an SLA, how many
    are past it), then the cards, each state's first ones. Every part is a range of the
    (workflow_name, state, state_entered_at, id) index, and the counts stop after
    BOARD_COUNT_CAP + 1 rows (the finished stages hold most of the placements).
    """
    wf = definition()
    now = utcnow()
    stages = _stages(wf)
    shape, values = shape_and_values(filters, wf)
    since = [None if sla is None else overdue_since(sla, now) for _name, sla in stages]
    counts: sa.Executable
    if db.session.connection().dialect.name == "postgresql":
        counts, cards = _lateral_board_statements(shape, cards_per_column, BOARD_COUNT_CAP)
        values["board_states"] = [name for name, _sla in stages]
        values["board_overdue_since"] = since
    else:
        counts, cards = _board_statements(shape, stages, cards_per_column, BOARD_COUNT_CAP)
        values |= {f"overdue_since_{i}": at for i, at in enumerate(since) if at is not None}
    by_state: dict[str, tuple[int, int]] = {}
    for name, count, late in db.session.execute(counts, values):
        total, overdue = by_state.get(name, (0, 0))
        by_state[name] = (total + count, overdue + late)
    capped_label = f"{format_decimal(BOARD_COUNT_CAP)}+"
    by_name = {
        name: BoardColumn(
            state=name,
            label=_(state.label),
            waiting_on=state.waiting_on,
            sla_days=state.sla_days,
            terminal=state.terminal,
            count=by_state.get(name, (0, 0))[0],
            overdue=by_state.get(name, (0, 0))[1],
            capped_label=capped_label,
        )
        for name, state in wf.states.items()
    }
    for id_, state_name, entered, first, last, legal, trading, officer in db.session.execute(
        cards, values
    ):
        if state_name in by_name:
            by_name[state_name].cards.append(
                Card(
                    id_,
                    state_name,
                    entered,
                    f"{first} {last}".strip(),
                    (trading or legal) if legal is not None else None,
                    officer,
                )
            )
    return list(by_name.values())
