"""Partnerships: start them, edit their details, list them, and draw the pipeline board."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from crm.activities.models import Activity, ActivityKind
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.core.pagination import Page, paginate
from crm.core.search import search_conditions
from crm.core.text import search_terms
from crm.db import utcnow
from crm.extensions import db
from crm.health.service import band_condition
from crm.organisations import nace
from crm.organisations.models import Organisation
from crm.organisations.service import can_edit as can_edit_organisation
from crm.partnerships.models import Partnership
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.definitions import WorkflowDef

TWO_WAY_KINDS = [k.value for k in ActivityKind if k.is_two_way]


class PartnershipError(Exception):
    """A rule about partnerships was broken; the message is fit to show the user."""


# --- the workflow adapter -----------------------------------------------------------------------


class PartnershipAdapter:
    """Tells the workflow service how to read and check partnerships."""

    record_type = "partnership"
    model = Partnership

    def facts(self, record: Partnership, now: dt.datetime) -> engine.Facts:
        """Fields, checklist, contact roles and recent activities of the partnership."""
        roles = db.session.scalars(
            sa.select(Contact.role)
            .where(Contact.organisation_id == record.organisation_id, Contact.archived_at.is_(None))
            .distinct()
        )
        # Activity times are entered to the minute: a call logged "now" right after the
        # record entered its state must count, so compare from the start of that minute.
        entered_minute = record.state_entered_at.replace(second=0, microsecond=0)
        kinds = db.session.scalars(
            sa.select(Activity.kind)
            .where(
                Activity.organisation_id == record.organisation_id,
                Activity.occurred_at >= entered_minute,
            )
            .distinct()
        )
        last_two_way = db.session.scalar(
            sa.select(sa.func.max(Activity.occurred_at)).where(
                Activity.organisation_id == record.organisation_id,
                Activity.kind.in_(TWO_WAY_KINDS),
            )
        )
        if last_two_way is not None and last_two_way.tzinfo is None:
            last_two_way = last_two_way.replace(tzinfo=dt.UTC)  # SQLite aggregates lose the type
        return engine.Facts(
            state=record.state,
            state_entered_at=record.state_entered_at,
            now=now,
            fields={
                "needs_summary": record.needs_summary,
                "memorandum_signed_on": record.memorandum_signed_on,
                "review_notes": record.review_notes,
                "closed_reason": record.closed_reason,
            },
            checklist={state: frozenset(keys) for state, keys in (record.checklist or {}).items()},
            contact_roles=frozenset(str(r.value if hasattr(r, "value") else r) for r in roles),
            activity_kinds_since_entered=frozenset(
                str(k.value if hasattr(k, "value") else k) for k in kinds
            ),
            last_two_way_contact_at=last_two_way,
        )

    def organisation_id(self, record: Partnership) -> int | None:
        return record.organisation_id

    def owner_id(self, record: Partnership) -> int | None:
        return record.owner_id

    def may_edit(self, user: User, record: Partnership) -> bool:
        return user.sees_everything or record.owner_id == user.id

    def related(self, record: Partnership, relation: str) -> Any | None:
        return None


ADAPTER = workflow.register_adapter(PartnershipAdapter())


def definition() -> WorkflowDef:
    """The current partnership workflow."""
    return workflow.current_pack().for_record("partnership")


# --- reading ---------------------------------------------------------------------------------


def get_partnership(partnership_id: int) -> Partnership | None:
    """A partnership with its organisation and owner.

    Inner joins (both keys are NOT NULL): `workflow.fire` refreshes the record FOR UPDATE
    with these same loader options, and PostgreSQL refuses FOR UPDATE on the nullable
    side of an outer join.
    """
    return db.session.scalar(
        sa.select(Partnership)
        .where(Partnership.id == partnership_id)
        .options(
            joinedload(Partnership.organisation, innerjoin=True),
            joinedload(Partnership.owner, innerjoin=True),
        )
    )


def is_open(partnership: Partnership) -> bool:
    """Whether the partnership is in a non-final stage."""
    state = workflow.definition_for(partnership).states.get(partnership.state)
    return state is not None and not state.terminal


def partnerships_of(organisation_id: int) -> list[Partnership]:
    """An organisation's partnerships, open ones first."""
    return list(
        db.session.scalars(
            sa.select(Partnership)
            .where(Partnership.organisation_id == organisation_id)
            .options(joinedload(Partnership.owner))
            .order_by(Partnership.created_at.desc())
        )
    )


@dataclass(frozen=True)
class PartnershipFilters:
    """What the list and the board are asked to show."""

    query: str = ""
    state: str = ""
    owner_id: int | None = None
    section: str = ""
    country: str = ""
    waiting_on: str = ""
    overdue_only: bool = False
    band: str = ""  # a health band: thriving, steady, at_risk, stalling
    sort: str = ""  # "": longest in stage first; "health": lowest score first; "-health"


def _needs_organisation(filters: PartnershipFilters) -> bool:
    return bool(filters.query.strip() or filters.section or filters.country)


def _filtered(filters: PartnershipFilters, wf: WorkflowDef, *columns: Any) -> sa.Select[Any]:
    """`SELECT columns FROM partnerships` (the entity by default) with the filters.

    Organisations are joined only when a filter reads them (search, sector, country), and
    users never: both keys are NOT NULL, so the joins would not change which rows match.
    """
    query = sa.select(*(columns or (Partnership,))).select_from(Partnership)
    if _needs_organisation(filters):
        query = query.join(Partnership.organisation)
    query = query.where(Partnership.workflow_name == wf.name)
    query = query.where(
        *search_conditions(
            Organisation.search_text,
            Organisation.id,
            "organisation_search",
            search_terms(filters.query),
        )
    )
    if filters.state:
        query = query.where(Partnership.state == filters.state)
    if filters.owner_id:
        query = query.where(Partnership.owner_id == filters.owner_id)
    if filters.section:
        query = query.where(Organisation.nace_code.in_(nace.divisions_in_section(filters.section)))
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    if filters.waiting_on:
        states = [s for s, d in wf.states.items() if d.waiting_on == filters.waiting_on]
        query = query.where(Partnership.state.in_(states))
    if filters.overdue_only:
        query = query.where(overdue_condition(wf, utcnow()))
    if filters.band:
        query = query.where(band_condition(filters.band))
    return query


def _order(filters: PartnershipFilters) -> list[Any]:
    """The list's and the board cards' order: time in stage, or health score (unscored last)."""
    if filters.sort == "health":
        return [Partnership.health_score.asc().nulls_last(), Partnership.id.asc()]
    if filters.sort == "-health":
        # id descending too: the (workflow_name, health_score, id) index read backwards.
        return [Partnership.health_score.desc().nulls_last(), Partnership.id.desc()]
    return [Partnership.state_entered_at.asc(), Partnership.id.asc()]


def past_sla_in(name: str, sla_days: int, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Partnerships in state `name` past its SLA.

    As engine.sla_status counts: overdue once the whole days in the state exceed the SLA.
    """
    return sa.and_(
        Partnership.state == name,
        Partnership.state_entered_at <= now - dt.timedelta(days=sla_days + 1),
    )


def overdue_condition(wf: WorkflowDef, now: dt.datetime) -> sa.ColumnElement[bool]:
    """Partnerships past their state's SLA, as one SQL condition."""
    clauses = [
        past_sla_in(name, s.sla_days, now)
        for name, s in wf.states.items()
        if s.sla_days and not s.terminal
    ]
    return sa.or_(*clauses) if clauses else sa.false()


def list_partnerships(filters: PartnershipFilters, page: int, per_page: int) -> Page[Partnership]:
    """One page of partnerships with organisation and owner, in a fixed number of statements."""
    wf = definition()
    query = _filtered(filters, wf).options(*_card_loads(filters)).order_by(*_order(filters))
    count_query = _filtered(filters, wf, sa.func.count())
    return paginate(query, page, per_page, count_query=count_query)


def _card_loads(filters: PartnershipFilters) -> list[Any]:
    """Load organisation and owner with the rows (the organisation's join may be there)."""
    organisation = (
        contains_eager(Partnership.organisation)
        if _needs_organisation(filters)
        else joinedload(Partnership.organisation, innerjoin=True)
    )
    return [organisation, joinedload(Partnership.owner, innerjoin=True)]


@dataclass
class BoardColumn:
    """One state on the board: its count and the first cards, by whose move it is."""

    state: str
    label: str
    waiting_on: str
    sla_days: int | None
    terminal: bool = False
    count: int = 0
    overdue: int = 0
    cards: list[Partnership] = field(default_factory=list)


def board(filters: PartnershipFilters, cards_per_column: int = 10) -> list[BoardColumn]:
    """The pipeline board: counts per state and the longest-waiting cards, in two statements.

    The counts group the (join-free unless filtered) partnerships by state; the cards are one
    `SELECT id … WHERE state = ? ORDER BY state_entered_at, id LIMIT n` per state, UNION ALL,
    each a range of the (workflow_name, state, state_entered_at, id) index.
    """
    wf = definition()
    now = utcnow()
    # Counts per state, then per state with an SLA how many are past it: each a range of
    # the (workflow_name, state, state_entered_at, id) index, instead of testing every row
    # against every state's SLA.
    counts: list[sa.Select[Any]] = [
        _filtered(
            filters, wf, Partnership.state, sa.func.count(), sa.literal(0, sa.Integer)
        ).group_by(Partnership.state)
    ]
    for name, state in wf.states.items():
        if state.sla_days:
            counts.append(
                _filtered(
                    filters,
                    wf,
                    sa.literal(name, sa.String),
                    sa.literal(0, sa.Integer),
                    sa.func.count(),
                ).where(past_sla_in(name, state.sla_days, now))
            )
    by_state: dict[str, tuple[int, int]] = {}
    for name, count, late in db.session.execute(sa.union_all(*counts)):
        total, overdue = by_state.get(name, (0, 0))
        by_state[name] = (total + count, overdue + late)

    firsts = [
        _filtered(filters, wf, Partnership.id)
        .where(Partnership.state == name)
        .order_by(*_order(filters))
        .limit(cards_per_column)
        .subquery()
        .select()
        for name in wf.states
    ]
    cards = db.session.scalars(
        sa.select(Partnership)
        .where(Partnership.id.in_(sa.union_all(*firsts)))
        .options(
            joinedload(Partnership.organisation, innerjoin=True).load_only(
                Organisation.legal_name, Organisation.trading_name
            ),
            joinedload(Partnership.owner, innerjoin=True).load_only(User.name),
        )
        .order_by(*_order(filters))
    ).all()
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
    for card in cards:
        if card.state in columns:
            columns[card.state].cards.append(card)
    return list(columns.values())


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnershipValues:
    """The editable details of a partnership."""

    title: str = ""
    needs_summary: str = ""
    memorandum_signed_on: dt.date | None = None
    review_notes: str = ""
    owner_id: int | None = None


def start_partnership(organisation: Organisation, acting: User, title: str = "") -> Partnership:
    """Open a partnership with an organisation, in the workflow's initial state."""
    if not can_edit_organisation(acting, organisation):
        raise PermissionError("not allowed")
    wf = definition()
    open_one = db.session.scalar(
        sa.select(Partnership.id).where(
            Partnership.organisation_id == organisation.id,
            Partnership.state.not_in([s for s, d in wf.states.items() if d.terminal]),
        )
    )
    if open_one is not None:
        raise PartnershipError(_("This organisation already has an open partnership."))
    partnership = Partnership(
        organisation_id=organisation.id,
        owner_id=organisation.owner_id,
        title=title.strip(),
    )
    workflow.start(partnership, wf)
    db.session.add(partnership)
    db.session.flush()
    return partnership


def update_partnership(partnership: Partnership, values: PartnershipValues, acting: User) -> None:
    """Change the details the workflow's guards look at."""
    if not ADAPTER.may_edit(acting, partnership):
        raise PermissionError("not allowed")
    if values.memorandum_signed_on and values.memorandum_signed_on > utcnow().date():
        raise PartnershipError(_("The signing date cannot be in the future."))
    partnership.title = values.title.strip()
    partnership.needs_summary = values.needs_summary.strip()
    partnership.memorandum_signed_on = values.memorandum_signed_on
    partnership.review_notes = values.review_notes.strip()
    if acting.sees_everything and values.owner_id:
        partnership.owner_id = values.owner_id
    db.session.flush()
