"""The placement workflow adapter: what the guards of workflows/placement.yaml may read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.agreements.adapter import newest_agreement_state
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from crm.learners.models import Cohort, Learner
from crm.partnerships import service as partnerships
from crm.partnerships.models import Partnership
from crm.placements.models import RELEASED_STATES, Placement
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.definitions import WorkflowDef


def _partnership_order(wf: WorkflowDef) -> list[Any]:
    """An organisation's open partnership first (there is at most one), then the newest."""
    terminal = [name for name, state in wf.states.items() if state.terminal]
    return [
        Partnership.state.in_(terminal) if terminal else sa.false(),
        Partnership.created_at.desc(),
        Partnership.id.desc(),
    ]


def organisation_partnership(organisation_id: int, *columns: Any) -> sa.Select[Any]:
    """The organisation's partnership: the open one, else the newest."""
    wf = partnerships.definition()
    return (
        sa.select(*(columns or (Partnership,)))
        .where(
            Partnership.organisation_id == organisation_id,
            Partnership.workflow_name == wf.name,
        )
        .order_by(*_partnership_order(wf))
        .limit(1)
    )


def _partnership_query(placement: Placement, *columns: Any) -> sa.Select[Any] | None:
    """The placement's partnership, or else its organisation's (None without either)."""
    if placement.partnership_id is not None:
        return sa.select(*(columns or (Partnership,))).where(
            Partnership.id == placement.partnership_id
        )
    if placement.organisation_id is None:
        return None
    return organisation_partnership(placement.organisation_id, *columns)


class PlacementAdapter:
    """Tells the workflow service how to read and check placements."""

    record_type = "placement"
    model = Placement

    def facts(self, record: Placement, now: dt.datetime) -> engine.Facts:
        """The placement's fields with its learner's birth date and programme year, the
        supervisor's e-mail, the partnership's state, and the organisation's contacts."""
        supervisor_email = (
            sa.select(Contact.email)
            .where(Contact.id == record.supervisor_id, Contact.archived_at.is_(None))
            .scalar_subquery()
            if record.supervisor_id is not None
            else sa.null()
        )
        partnership = _partnership_query(record, Partnership.state)
        partnership_state = partnership.scalar_subquery() if partnership is not None else sa.null()
        row = db.session.execute(
            sa.select(
                Learner.birth_date,
                Cohort.starts_on,
                Cohort.ends_on,
                supervisor_email.label("supervisor_email"),
                partnership_state.label("partnership_state"),
            )
            .select_from(Learner)
            .join(Cohort, Cohort.id == Learner.cohort_id)
            .where(Learner.id == record.learner_id)
        ).one()
        roles: frozenset[str] = frozenset()
        kinds: frozenset[str] = frozenset()
        if record.organisation_id is not None:
            roles = frozenset(
                str(r.value if hasattr(r, "value") else r)
                for r in db.session.scalars(
                    sa.select(Contact.role)
                    .where(
                        Contact.organisation_id == record.organisation_id,
                        Contact.archived_at.is_(None),
                    )
                    .distinct()
                )
            )
            # Activity times are entered to the minute (see the partnership adapter).
            entered_minute = record.state_entered_at.replace(second=0, microsecond=0)
            kinds = frozenset(
                str(k.value if hasattr(k, "value") else k)
                for k in db.session.scalars(
                    sa.select(Activity.kind)
                    .where(
                        Activity.organisation_id == record.organisation_id,
                        Activity.occurred_at >= entered_minute,
                    )
                    .distinct()
                )
            )
        return engine.Facts(
            state=record.state,
            state_entered_at=record.state_entered_at,
            now=now,
            fields={
                "supervisor_id": record.supervisor_id,
                "supervisor_email": row.supervisor_email,
                "start_date": record.start_date,
                "end_date": record.end_date,
                "hours_target": record.hours_target,
                "hours_logged": record.hours_logged,
                "role_description": record.role_description,
                "learning_objectives": record.learning_objectives,
                "guardian_consent_on": record.guardian_consent_on,
                "decline_reason": record.decline_reason,
                "hours_shortfall_reason": record.hours_shortfall_reason,
                "programme_starts_on": row.starts_on,
                "programme_ends_on": row.ends_on,
                "learner_birth_date": row.birth_date,
            },
            checklist={state: frozenset(keys) for state, keys in (record.checklist or {}).items()},
            contact_roles=roles,
            activity_kinds_since_entered=kinds,
            related_states={
                "partnership": row.partnership_state,
                "agreement": newest_agreement_state(placement_id=record.id),
            },
        )

    def organisation_id(self, record: Placement) -> int | None:
        return record.organisation_id

    def owner_id(self, record: Placement) -> int | None:
        return record.officer_id

    def may_edit(self, user: User, record: Placement) -> bool:
        return user.sees_everything or record.officer_id == user.id

    def related(self, record: Placement, relation: str) -> Any | None:
        if relation == "partnership":
            query = _partnership_query(record)
            return db.session.scalar(query) if query is not None else None
        if relation == "agreement":
            from crm.agreements.models import Agreement

            return db.session.scalar(
                sa.select(Agreement)
                .where(Agreement.placement_id == record.id)
                .order_by(Agreement.id.desc())
                .limit(1)
            )
        return None

    def entered_state(self, context: workflow.EffectContext) -> None:
        """Release the period when the placement is cancelled; keep the employer's reason."""
        record: Placement = context.record
        if context.transition.to in RELEASED_STATES:
            record.period_held = False
        if context.transition.to == "declined" and context.comment:
            record.decline_reason = context.comment
        # Links that decide only in the state left (e.g. the confirmation link once the
        # officer confirmed by phone) are closed, so that the panel and the jobs see it.
        from crm.links.service import close_links_left_behind

        close_links_left_behind("placement", record.id, context.transition.to, context.now)


ADAPTER = workflow.register_adapter(PlacementAdapter())


def definition() -> WorkflowDef:
    """The current placement workflow."""
    return workflow.current_pack().for_record("placement")
