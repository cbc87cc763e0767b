"""Built-in effects. They only write rows in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field

from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.workflow.registry import effect


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FollowUpParams(_Params):
    days: int = Field(ge=0, le=3650)
    subject: str = Field(min_length=1, max_length=200)
    assignee: Literal["owner", "actor"] = "owner"


class RelatedParams(_Params):
    relation: str
    transition: str


@effect("schedule_follow_up", FollowUpParams)
def schedule_follow_up(params: FollowUpParams, context: object) -> None:
    """Create a follow-up for the record's owner (or the actor) due in N days."""
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    assignee_id = (
        context.user.id
        if params.assignee == "actor" and context.user is not None
        else context.adapter.owner_id(context.record)
    )
    if assignee_id is None:
        return
    db.session.add(
        FollowUp(
            subject=params.subject,
            due_at=context.now + dt.timedelta(days=params.days),
            assignee_id=assignee_id,
            record_type=context.adapter.record_type,
            record_id=context.record.id,
            organisation_id=context.adapter.organisation_id(context.record),
            created_by_id=None,
            created_by_rule=f"{context.definition.name}.{context.transition.name}",
        )
    )


@effect("close_follow_ups")
def close_follow_ups(params: BaseModel, context: object) -> None:
    """Close the open follow-ups the workflow made on this record: their reason is resolved."""
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    db.session.execute(
        sa.update(FollowUp)
        .where(
            FollowUp.record_type == context.adapter.record_type,
            FollowUp.record_id == context.record.id,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.created_by_rule.like(f"{context.definition.name}.%"),
        )
        .values(status=FollowUpStatus.DONE, completed_at=context.now)
        .execution_options(synchronize_session=False)
    )


@effect("fire_related", RelatedParams, records=frozenset({"placement", "agreement"}))
def fire_related(params: RelatedParams, context: object) -> None:
    """Fire a transition on a related record (e.g. a signed memorandum activates a partnership)."""
    from crm.workflow.service import EffectContext, TransitionBlocked, fire

    assert isinstance(context, EffectContext)
    related = context.adapter.related(context.record, params.relation)
    if related is None:
        raise TransitionBlocked(
            [_("The related %(relation)s is missing.", relation=params.relation)]
        )
    fire(related, params.transition, party="system", now=context.now)
