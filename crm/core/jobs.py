"""Every scheduled job, declared in one place, and the small jobs that belong to no area.

Each job is a catch-up job over due rows: it takes no arguments from the scheduler, selects
what is due now, claims it, and commits. Running one twice, late, or from two processes at
once does no harm, so the scheduler can simply run every job once when it starts and then
on a fixed interval (crm.core.scheduler). Whether a user's digest is due depends on their own
time zone, so even the daily digest is an interval job that checks every quarter of an hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.auth.models import LoginThrottle
from crm.core.ratelimit import forget_before
from crm.dashboard.jobs import refresh_dashboard
from crm.db import utcnow
from crm.extensions import db
from crm.followups.jobs import send_daily_digests, send_due_reminders
from crm.health.jobs import recompute_nightly, recompute_stale
from crm.links.jobs import handle_expired_links, send_link_reminders
from crm.outbox.jobs import DeliveryRun, deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.workflow.service import TimerRun, fire_due_timers

LOGIN_THROTTLE_KEPT = dt.timedelta(days=1)
RATE_LIMIT_WINDOWS_KEPT = dt.timedelta(days=1)
SENT_MAIL_KEPT = dt.timedelta(days=180)
CLEAN_UP_BATCH_SIZE = 1000
OUTBOX_BATCH_SIZE = 200


@dataclass(frozen=True)
class ScheduledJob:
    """A job the scheduler runs every `every`, and once at start-up."""

    name: str
    function: Callable[[], object]
    every: dt.timedelta


def deliver_outbox_backlog() -> DeliveryRun:
    """Deliver due e-mails batch after batch until none is left, rather than one batch per run.

    A run of deliver_outbox takes at most OUTBOX_BATCH_SIZE messages; one batch every 15 s
    would cap delivery at about 13 messages a second however fast the mail server is.
    """
    total = DeliveryRun()
    while True:
        run = deliver_outbox(limit=OUTBOX_BATCH_SIZE)
        for field in dataclasses.fields(run):
            setattr(total, field.name, getattr(total, field.name) + getattr(run, field.name))
        # A short batch: nothing else is due. Released messages: its time budget ran out.
        if run.claimed < OUTBOX_BATCH_SIZE or run.released:
            return total


def fire_workflow_timers(now: dt.datetime | None = None) -> TimerRun:
    """Fire the `system` transitions whose timers have run out, then commit."""
    run = fire_due_timers(now or utcnow())
    db.session.commit()
    return run


@dataclass
class CleanUpRun:
    """Rows deleted by one clean-up pass."""

    login_throttles: int = 0
    sent_messages: int = 0
    rate_limit_windows: int = 0


def clean_up_expired(now: dt.datetime | None = None) -> CleanUpRun:
    """Delete login throttles nobody needs any more, sent e-mails older than 180 days and
    the link pages' rate-limit windows of days past."""
    now = now or utcnow()
    run = CleanUpRun()
    day_ago = now - LOGIN_THROTTLE_KEPT
    run.login_throttles = _delete_in_batches(
        LoginThrottle,
        LoginThrottle.email_key,
        sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < day_ago),
        sa.or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < day_ago),
    )
    run.sent_messages = _delete_in_batches(
        OutboxMessage,
        OutboxMessage.id,
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.sent_at < now - SENT_MAIL_KEPT,
    )
    run.rate_limit_windows = forget_before(now - RATE_LIMIT_WINDOWS_KEPT)
    db.session.commit()
    return run


def _delete_in_batches(model: type[Any], key: Any, *conditions: sa.ColumnElement[bool]) -> int:
    """Delete the matching rows a batch per transaction, so no lock is held for long."""
    deleted = 0
    while True:
        batch = sa.select(key).where(*conditions).limit(CLEAN_UP_BATCH_SIZE).scalar_subquery()
        result = db.session.execute(
            sa.delete(model).where(key.in_(batch)).execution_options(synchronize_session=False)
        )
        db.session.commit()
        count = int(getattr(result, "rowcount", 0))
        deleted += count
        if count < CLEAN_UP_BATCH_SIZE:
            return deleted


# In this order for `crm scheduler --once`: what fires may create follow-ups, what is queued
# is delivered in the same pass. The scheduler starts them all at once, each in its thread.
JOBS: list[ScheduledJob] = [
    ScheduledJob("workflow_timers", fire_workflow_timers, dt.timedelta(hours=1)),
    ScheduledJob("due_reminders", send_due_reminders, dt.timedelta(minutes=1)),
    ScheduledJob("daily_digest", send_daily_digests, dt.timedelta(minutes=15)),
    ScheduledJob("link_reminders", send_link_reminders, dt.timedelta(minutes=5)),
    ScheduledJob("expired_links", handle_expired_links, dt.timedelta(minutes=5)),
    ScheduledJob("clean_up", clean_up_expired, dt.timedelta(days=1)),
    # After the timers and the expired links: the day's scores see what they changed.
    ScheduledJob("health_stale", recompute_stale, dt.timedelta(minutes=1)),
    ScheduledJob("health_nightly", recompute_nightly, dt.timedelta(hours=1)),
    # After the scores: the dashboard's numbers, counted anew (the page says when).
    ScheduledJob("dashboard_refresh", refresh_dashboard, dt.timedelta(minutes=10)),
    ScheduledJob("outbox_delivery", deliver_outbox_backlog, dt.timedelta(seconds=15)),
]
