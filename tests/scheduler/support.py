"""Builders and readers for the scheduler tests."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage
from tests.factories import make_organisation


def make_follow_up(
    assignee: User,
    due_at: dt.datetime,
    *,
    organisation: Organisation | None = None,
    subject: str = "Call about the autumn placements",
    status: FollowUpStatus = FollowUpStatus.OPEN,
    record_type: str = "organisation",
    record_id: int | None = None,
    created_by_rule: str = "",
) -> FollowUp:
    """A follow-up about an organisation (or another record), committed."""
    organisation = organisation or make_organisation(assignee)
    follow_up = FollowUp(
        subject=subject,
        due_at=due_at,
        assignee_id=assignee.id,
        status=status,
        record_type=record_type,
        record_id=record_id if record_id is not None else organisation.id,
        organisation_id=organisation.id,
        created_by_id=None if created_by_rule else assignee.id,
        created_by_rule=created_by_rule,
    )
    db.session.add(follow_up)
    db.session.commit()
    return follow_up


def insert_due_follow_ups(count: int, assignees: list[User], organisation_id: int) -> list[int]:
    """`count` due, open, never-reminded follow-ups in one statement; their ids."""
    due = utcnow() - dt.timedelta(hours=1)
    rows = [
        {
            "subject": f"Due follow-up {n}",
            "due_at": due - dt.timedelta(seconds=n),
            "assignee_id": assignees[n % len(assignees)].id,
            "status": FollowUpStatus.OPEN,
            "record_type": "organisation",
            "record_id": organisation_id,
            "organisation_id": organisation_id,
            "created_by_rule": "",
            "notes": "",
            "created_at": due,
            "updated_at": due,
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(FollowUp), rows)
    db.session.commit()
    return list(db.session.scalars(sa.select(FollowUp.id).order_by(FollowUp.id)))


def reminders_per_follow_up() -> dict[int, int]:
    """How many reminder e-mails each follow-up got (only those with at least one)."""
    rows = db.session.execute(
        sa.select(OutboxMessage.record_id, sa.func.count())
        .where(OutboxMessage.kind == "followup_reminder", OutboxMessage.record_type == "follow_up")
        .group_by(OutboxMessage.record_id)
    )
    return dict(rows.all())


def reminded_ids() -> set[int]:
    """Follow-ups whose reminder_sent_at is set (committed rows)."""
    return set(
        db.session.scalars(sa.select(FollowUp.id).where(FollowUp.reminder_sent_at.isnot(None)))
    )
