"""The two short lists the dashboard reads live, each one indexed statement with a LIMIT:
partnerships at risk (lowest health score first) and agreements expiring soon (soonest
first). Both show the situation now, whatever the period chosen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from crm.agreements.adapter import definition as agreement_definition
from crm.agreements.models import Agreement, AgreementKind
from crm.agreements.service import OPEN_STATES as OPEN_AGREEMENT_STATES
from crm.auth.models import User
from crm.dashboard.data import AtRiskPartnership, ExpiringAgreement, Filters
from crm.extensions import db
from crm.health.config import HealthConfig
from crm.health.score import ComponentScore, reason_text
from crm.learners.models import Learner
from crm.organisations import nace
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import definition as partnership_definition
from crm.partnerships.service import overdue_condition
from crm.placements.models import Placement
from crm.workflow.definitions import WorkflowDef

LIST_LIMIT = 20


def _organisation_conditions(
    filters: Filters, organisation: Any = Organisation
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.sector:
        conditions.append(organisation.nace_code.in_(nace.divisions_in_section(filters.sector)))
    if filters.country:
        conditions.append(organisation.country == filters.country)
    return conditions


# --- at risk ---------------------------------------------------------------------------------


def at_risk(
    filters: Filters, now: dt.datetime, config: HealthConfig, limit: int = LIST_LIMIT
) -> list[AtRiskPartnership]:
    """Open partnerships scoring below the "steady" band or past their stage's SLA, lowest
    score first (the unscored last), filtered by sector, country and owner.

    One statement: the `limit` lowest scores below the band (a range of the health index),
    UNION ALL the `limit` lowest of the others past their SLA; sorted and cut here.
    """
    wf = partnership_definition()
    steady = config.bands.steady
    open_states = [name for name, state in wf.states.items() if not state.terminal]

    def candidates(*conditions: sa.ColumnElement[bool]) -> sa.Select[Any]:
        query = sa.select(Partnership.id).where(
            Partnership.workflow_name == wf.name, Partnership.state.in_(open_states), *conditions
        )
        if filters.officer_id:
            query = query.where(Partnership.owner_id == filters.officer_id)
        organisation = _organisation_conditions(filters)
        if organisation:
            # Tested row by row (EXISTS), so that the lowest scores are read in the health
            # index's order and the reading stops at `limit`, rather than every partnership
            # of the sector or country read and sorted.
            query = query.where(
                sa.exists().where(Organisation.id == Partnership.organisation_id, *organisation)
            )
        return query

    low = (
        candidates(Partnership.health_score < steady)
        .order_by(Partnership.health_score.asc(), Partnership.id.asc())
        .limit(limit)
    )
    late = (
        candidates(
            overdue_condition(wf, now),
            sa.or_(Partnership.health_score >= steady, Partnership.health_score.is_(None)),
        )
        .order_by(Partnership.health_score.asc().nulls_last(), Partnership.id.asc())
        .limit(limit)
    )
    chosen_ids = sa.union_all(low.subquery().select(), late.subquery().select())
    rows = db.session.execute(
        sa.select(
            Partnership.id,
            Partnership.state,
            Partnership.state_entered_at,
            Partnership.health_score,
            Partnership.health_components,
            Organisation.legal_name,
            Organisation.trading_name,
            User.name,
        )
        .join(Organisation, Organisation.id == Partnership.organisation_id)
        .join(User, User.id == Partnership.owner_id)
        .where(Partnership.id.in_(chosen_ids))
    ).all()
    rows = sorted(rows, key=lambda row: (row.health_score is None, row.health_score or 0, row.id))
    return [_at_risk_row(row, wf, now, config) for row in rows[:limit]]


def _at_risk_row(row: Any, wf: WorkflowDef, now: dt.datetime, config: HealthConfig) -> Any:
    state = wf.states.get(row.state)
    days = max(0, (now - row.state_entered_at).days)
    sla = state.sla_days if state is not None else None
    past_sla = sla is not None and days > sla
    label = _(state.label) if state is not None else row.state
    return AtRiskPartnership(
        partnership_id=row.id,
        organisation_name=row.trading_name or row.legal_name,
        owner_name=row.name,
        state_label=label,
        score=row.health_score,
        band=config.band_of(row.health_score),
        reason=main_reason(row.health_components or [], days, sla, state.label if state else ""),
        days_in_state=days,
        past_sla=past_sla,
    )


def main_reason(
    components: Sequence[Mapping[str, Any]], days: int, sla: int | None, stage: str
) -> str:
    """The component that lost most points (the first of equals), as the partnership page
    words it, with its points; without a score, the time past the stage's SLA."""
    scored = [ComponentScore.from_json(item) for item in components]
    worst = max(scored, key=lambda c: c.lost, default=None)
    if worst is not None and worst.lost > 0:
        return worst.text_with_points
    if sla is not None and days > sla:
        params = {"stage": stage, "days": days, "sla": sla, "over": days - sla}
        return reason_text("stage_over", params)
    return ""


# --- expiring agreements ---------------------------------------------------------------------


def in_force_states(wf: WorkflowDef) -> list[str]:
    """Agreements in force: signed, i.e. neither open (draft to declined) nor finished."""
    return [
        name
        for name, state in wf.states.items()
        if not state.terminal and name not in OPEN_AGREEMENT_STATES
    ]


def expiring_agreements(
    filters: Filters, today: dt.date, days: int, limit: int = LIST_LIMIT
) -> list[ExpiringAgreement]:
    """Agreements in force expiring within `days` of `today`, soonest first; a programme
    filter keeps the placement agreements of that programme (memoranda have none)."""
    wf = agreement_definition()
    query = (
        sa.select(
            Agreement.id,
            Agreement.kind,
            Agreement.state,
            Agreement.expires_on,
            Organisation.legal_name,
            Organisation.trading_name,
            Learner.first_name,
            Learner.last_name,
        )
        .select_from(Agreement)
        .join(Organisation, Organisation.id == Agreement.organisation_id)
        .outerjoin(Placement, Placement.id == Agreement.placement_id)
        .outerjoin(Learner, Learner.id == Placement.learner_id)
        .where(
            Agreement.workflow_name == wf.name,
            Agreement.state.in_(in_force_states(wf)),
            Agreement.expires_on.between(today, today + dt.timedelta(days=days)),
        )
        .order_by(Agreement.expires_on.asc(), Agreement.id.asc())
        .limit(limit)
    )
    host = aliased(Organisation)
    organisation = _organisation_conditions(filters, host)
    if organisation:
        # Row by row, in the index's order of expiry, until `limit` are found.
        query = query.where(sa.exists().where(host.id == Agreement.organisation_id, *organisation))
    if filters.officer_id:
        query = query.where(Agreement.officer_id == filters.officer_id)
    if filters.programme_id:
        query = query.where(Placement.programme_id == filters.programme_id)
    result = []
    for row in db.session.execute(query):
        kind = AgreementKind(row.kind)
        organisation = row.trading_name or row.legal_name
        learner = " ".join(part for part in (row.first_name, row.last_name) if part)
        state = wf.states.get(row.state)
        result.append(
            ExpiringAgreement(
                agreement_id=row.id,
                title=_("%(kind)s: %(name)s", kind=kind.label, name=learner or organisation),
                organisation_name=organisation,
                expires_on=row.expires_on,
                days_left=(row.expires_on - today).days,
                state_label=_(state.label) if state is not None else row.state,
            )
        )
    return result
