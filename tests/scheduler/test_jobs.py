"""The workflow-timer job, outbox delivery and the clean-up, with time moved forward."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine

from crm.activities.models import ActivityKind
from crm.auth.models import LoginThrottle
from crm.core import jobs
from crm.core.jobs import clean_up_expired, fire_workflow_timers
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.workflow.models import WorkflowTransition
from tests.factories import make_activity
from tests.workflow.support import follow_ups_of, make_partnership, state_in_database

DAY = dt.timedelta(days=1)


def transitions_of(partnership_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(WorkflowTransition.transition, WorkflowTransition.actor_kind)
        .where(
            WorkflowTransition.record_type == "partnership",
            WorkflowTransition.record_id == partnership_id,
        )
        .order_by(WorkflowTransition.id)
    )
    return [tuple(row) for row in rows]


def test_a_partnership_without_contact_goes_dormant_after_90_days(ctx, officer, run_job):
    start = utcnow()
    partnership = make_partnership(officer, "approached", entered_at=start)

    with time_machine.travel(start + 89 * DAY, tick=False):
        assert run_job(fire_workflow_timers).fired == 0
    assert state_in_database(partnership)[0] == "approached"

    with time_machine.travel(start + 91 * DAY, tick=False):
        run = run_job(fire_workflow_timers)
        assert (run.fired, run.skipped) == (1, 0)
        state, _version, entered_at = state_in_database(partnership)
        assert (state, entered_at) == ("dormant", utcnow())
    assert transitions_of(partnership.id) == [("go_dormant", "system")]
    (follow_up,) = follow_ups_of(partnership)
    assert follow_up.subject == "Call the focal person to revive the partnership"
    assert follow_up.due_at == start + 98 * DAY

    with time_machine.travel(start + 92 * DAY, tick=False):
        assert run_job(fire_workflow_timers).fired == 0  # nothing fires twice


def test_recent_two_way_contact_keeps_the_partnership_awake(ctx, officer, run_job):
    start = utcnow()
    partnership = make_partnership(officer, "approached", entered_at=start)
    organisation = db.session.get(Organisation, partnership.organisation_id)
    with time_machine.travel(start + 10 * DAY, tick=False):
        make_activity(organisation, officer, ActivityKind.CALL, occurred_at=utcnow())

    with time_machine.travel(start + 91 * DAY, tick=False):
        run = run_job(fire_workflow_timers)
    assert (run.fired, run.skipped) == (0, 1)
    assert state_in_database(partnership)[0] == "approached"
    assert transitions_of(partnership.id) == []


# --- clean-up -------------------------------------------------------------------------------


def throttle(key: str, failed_ago: dt.timedelta | None, locked_for: dt.timedelta | None) -> None:
    now = utcnow()
    db.session.add(
        LoginThrottle(
            email_key=key,
            failures=3,
            last_failure_at=now - failed_ago if failed_ago is not None else None,
            locked_until=now + locked_for if locked_for is not None else None,
        )
    )


def message(status: OutboxStatus, sent_ago: dt.timedelta | None, created_ago: dt.timedelta) -> None:
    now = utcnow()
    db.session.add(
        OutboxMessage(
            kind="test_message",
            to_email="someone@example.test",
            subject=f"{status.value} {sent_ago}",
            body_text="",
            status=status,
            created_at=now - created_ago,
            sent_at=now - sent_ago if sent_ago is not None else None,
        )
    )


def test_clean_up_deletes_expired_throttles_and_old_sent_mail(ctx, run_job, monkeypatch):
    monkeypatch.setattr(jobs, "CLEAN_UP_BATCH_SIZE", 2)  # several batches
    throttle("old", failed_ago=2 * DAY, locked_for=-2 * DAY)
    throttle("old-never-locked", failed_ago=3 * DAY, locked_for=None)
    throttle("recent-failure", failed_ago=dt.timedelta(hours=2), locked_for=None)
    throttle("still-locked", failed_ago=2 * DAY, locked_for=dt.timedelta(hours=1))
    throttle("lock-ended-an-hour-ago", failed_ago=2 * DAY, locked_for=-dt.timedelta(hours=1))
    for days in (181, 200, 365, 400, 500):
        message(OutboxStatus.SENT, sent_ago=days * DAY, created_ago=days * DAY)
    message(OutboxStatus.SENT, sent_ago=179 * DAY, created_ago=179 * DAY)
    message(OutboxStatus.FAILED, sent_ago=None, created_ago=400 * DAY)  # shown for a resend
    message(OutboxStatus.PENDING, sent_ago=None, created_ago=400 * DAY)
    db.session.commit()

    run = run_job(clean_up_expired)

    assert (run.login_throttles, run.sent_messages) == (2, 5)
    assert set(db.session.scalars(sa.select(LoginThrottle.email_key))) == {
        "recent-failure",
        "still-locked",
        "lock-ended-an-hour-ago",
    }
    left = db.session.execute(sa.select(OutboxMessage.status, OutboxMessage.sent_at)).all()
    assert sorted(status.value for status, _sent in left) == ["failed", "pending", "sent"]
    assert run_job(clean_up_expired) == jobs.CleanUpRun(0, 0)


@pytest.mark.parametrize("days", [179, 181])
def test_sent_mail_is_kept_for_180_days(ctx, run_job, days):
    message(OutboxStatus.SENT, sent_ago=days * DAY, created_ago=days * DAY)
    db.session.commit()
    assert run_job(clean_up_expired).sent_messages == (1 if days > 180 else 0)


# --- outbox delivery -------------------------------------------------------------------------


def test_delivery_works_through_the_whole_backlog_in_one_run(ctx, run_job, monkeypatch):
    monkeypatch.setattr(jobs, "OUTBOX_BATCH_SIZE", 2)
    for _n in range(5):
        message(OutboxStatus.PENDING, sent_ago=None, created_ago=DAY)
    db.session.commit()

    run = run_job(jobs.deliver_outbox_backlog)  # the development mailbox: no SMTP

    assert (run.claimed, run.sent) == (5, 5)
    statuses = db.session.scalars(sa.select(OutboxMessage.status))
    assert set(statuses) == {OutboxStatus.SENT}
    assert run_job(jobs.deliver_outbox_backlog).claimed == 0
