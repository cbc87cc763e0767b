"""The agreement workflow adapter: what the guards of workflows/agreement.yaml may read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.extensions import db
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.definitions import WorkflowDef


class AgreementAdapter:
    """Tells the workflow service how to read and check agreements."""

    record_type = "agreement"
    model = Agreement

    def facts(self, record: Agreement, now: dt.datetime) -> engine.Facts:
        """The agreement's own fields and the state of its placement or partnership."""
        return engine.Facts(
            state=record.state,
            state_entered_at=record.state_entered_at,
            now=now,
            fields={
                "document_sha256": record.document_sha256,
                "expires_on": record.expires_on,
                "termination_reason": record.termination_reason,
            },
            checklist={state: frozenset(keys) for state, keys in (record.checklist or {}).items()},
            contact_roles=frozenset(),
            activity_kinds_since_entered=frozenset(),
            related_states={
                "placement": _state_of("placements", record.placement_id),
                "partnership": _state_of("partnerships", record.partnership_id),
            },
        )

    def organisation_id(self, record: Agreement) -> int | None:
        return record.organisation_id

    def owner_id(self, record: Agreement) -> int | None:
        return record.officer_id

    def may_edit(self, user: User, record: Agreement) -> bool:
        return user.sees_everything or record.officer_id == user.id

    def related(self, record: Agreement, relation: str) -> Any | None:
        if relation == "placement" and record.placement_id is not None:
            from crm.placements.service import get_placement

            return get_placement(record.placement_id)
        if relation == "partnership" and record.partnership_id is not None:
            from crm.partnerships.models import Partnership

            return db.session.get(Partnership, record.partnership_id)
        return None

    def entered_state(self, context: workflow.EffectContext) -> None:
        """Keep the reasons given for declining and terminating on the agreement."""
        record: Agreement = context.record
        if context.transition.to == "declined" and context.comment:
            record.decline_reason = context.comment
        if context.transition.to == "terminated" and context.comment:
            record.termination_reason = context.comment


def _state_of(table: str, record_id: int | None) -> str | None:
    if record_id is None:
        return None
    return db.session.scalar(
        sa.select(sa.column("state"))
        .select_from(sa.table(table))
        .where(sa.column("id") == record_id)
    )


ADAPTER = workflow.register_adapter(AgreementAdapter())


def definition() -> WorkflowDef:
    """The current agreement workflow."""
    return workflow.current_pack().for_record("agreement")


def newest_agreement_state(*, placement_id: int | None = None) -> str | None:
    """The state of a placement's newest agreement (None without one): placement guards."""
    if placement_id is None:
        return None
    return db.session.scalar(
        sa.select(Agreement.state)
        .where(Agreement.placement_id == placement_id)
        .order_by(Agreement.id.desc())
        .limit(1)
    )
