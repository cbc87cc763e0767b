"""An organisation's timeline: its activities merged with its workflow history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.activities.service import timeline as activity_timeline
from crm.extensions import db
from crm.workflow.models import WorkflowTransition


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a timeline: an activity or a workflow transition."""

    occurred_at: dt.datetime
    activity: Activity | None = None
    transition: WorkflowTransition | None = None


def organisation_timeline(
    organisation_id: int, limit: int = 100, before: dt.datetime | None = None
) -> list[TimelineEntry]:
    """The newest `limit` entries (older than `before`), in two statements whatever the size."""
    activities = activity_timeline(organisation_id=organisation_id, limit=limit, before=before)
    query = sa.select(WorkflowTransition).where(
        WorkflowTransition.organisation_id == organisation_id
    )
    if before is not None:
        query = query.where(WorkflowTransition.occurred_at < before)
    transitions = db.session.scalars(
        query.order_by(WorkflowTransition.occurred_at.desc(), WorkflowTransition.id.desc()).limit(
            limit
        )
    ).all()
    entries = [TimelineEntry(a.occurred_at, activity=a) for a in activities]
    entries += [TimelineEntry(t.occurred_at, transition=t) for t in transitions]
    entries.sort(key=lambda e: e.occurred_at, reverse=True)
    return entries[:limit]


def parse_before(raw: str | None) -> dt.datetime | None:
    """The `before` cursor of an "older entries" link; nonsense means none."""
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
