"""Scheduler jobs about action links: reminders to recipients who have not answered, and the
officer's follow-up when a link expires unanswered.

Jobs are transaction edges. Each one reads the ids of due links, then claims and handles one
link per transaction: the row is selected again with its due conditions and locked
(PostgreSQL `FOR UPDATE SKIP LOCKED`: a link another scheduler holds is skipped, not waited
for; SQLite: the write transaction began IMMEDIATE), and the claim (`reminders_sent`,
`expiry_handled_at`) is committed with the e-mail or follow-up it stands for. A second run, a
late run or a second process finds nothing left to do. A link that cannot be handled (a
template error) is set aside with its claim, logged by id, and does not hold up the others.

Logs carry link ids and counts only: no addresses, names or tokens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from crm.db import utcnow
from crm.extensions import db
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink

log = logging.getLogger(__name__)

# At most this many links per run; the next run (minutes later) takes the rest.
LINK_BATCH_SIZE = 500


def reminders_due(created_at: dt.datetime, now: dt.datetime) -> int:
    """How many reminders a link sent at `created_at` should have had by `now`."""
    return sum(1 for days in links.REMINDER_DAYS if created_at + dt.timedelta(days=days) <= now)


def _unanswered(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Unspent, unended and unexpired."""
    return sa.and_(
        ActionLink.spent_at.is_(None),
        ActionLink.ended_at.is_(None),
        ActionLink.expires_at > now,
    )


def _reminder_due(now: dt.datetime) -> sa.ColumnElement[bool]:
    """An open link that has had fewer reminders than its age calls for."""
    # reminders_sent == n and the (n+1)-th reminder's day has come, for each n.
    steps = [
        sa.and_(
            ActionLink.reminders_sent == sent,
            ActionLink.created_at <= now - dt.timedelta(days=days),
        )
        for sent, days in enumerate(links.REMINDER_DAYS)
    ]
    return sa.and_(_unanswered(now), sa.or_(*steps))


def _expiry_due(now: dt.datetime) -> sa.ColumnElement[bool]:
    """An unanswered link past its expiry whose follow-up has not been made."""
    return sa.and_(
        ActionLink.spent_at.is_(None),
        ActionLink.ended_at.is_(None),
        ActionLink.expires_at <= now,
        ActionLink.expiry_handled_at.is_(None),
    )


def _due_ids(condition: sa.ColumnElement[bool], limit: int) -> list[int]:
    """The ids of due links, oldest first; the reading transaction is ended at once."""
    ids = list(
        db.session.scalars(
            sa.select(ActionLink.id)
            .where(condition)
            .order_by(ActionLink.created_at, ActionLink.id)
            .limit(limit)
        )
    )
    db.session.commit()  # on SQLite it holds the write lock
    return ids


def _claim(link_id: int, condition: sa.ColumnElement[bool]) -> ActionLink | None:
    """The link, locked, if it is still due and no other process holds it."""
    return db.session.scalar(
        sa.select(ActionLink)
        .where(ActionLink.id == link_id, condition)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


@dataclass
class LinkRun:
    """Counts of one pass over due links."""

    handled: int = 0  # e-mails queued, or follow-ups made
    skipped: int = 0  # claimed, but nothing to send (the record moved on or changed)
    taken: int = 0  # due when read, but answered or taken by another process meanwhile
    failed: int = 0


def _each(
    ids: list[int],
    condition: sa.ColumnElement[bool],
    handle: Callable[[ActionLink], bool],
    set_aside: Callable[[int], None],
    what: str,
) -> LinkRun:
    """Claim and handle each link in its own transaction; count what happened."""
    run = LinkRun()
    for link_id in ids:
        try:
            link = _claim(link_id, condition)
            if link is None:
                run.taken += 1
            elif handle(link):
                run.handled += 1
            else:
                run.skipped += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("the %s of action link %d could not be made; set aside", what, link_id)
            set_aside(link_id)
            db.session.commit()
            run.failed += 1
    return run


# --- reminders -------------------------------------------------------------------------------


def send_link_reminders(now: dt.datetime | None = None, limit: int = LINK_BATCH_SIZE) -> LinkRun:
    """Remind recipients of open links at 3 and 7 days (REMINDER_DAYS), each reminder once.

    The same link goes out again (its token is derived, not stored). A scheduler that was
    down past both days sends one reminder when it comes back, not one per missed day.
    """
    now = now or utcnow()
    condition = _reminder_due(now)

    def remind(link: ActionLink) -> bool:
        link.reminders_sent = reminders_due(link.created_at, now)
        if links.status(link, link.purpose, link.record_id, now) != links.LinkStatus.OPEN:
            # The record left the link's state or changed: the link no longer decides, and
            # reminding the recipient of it would mislead them.
            return False
        links.send_email(link, purposes.spec(link.purpose).load(link.record_id), reminder=True)
        link.last_sent_at = now
        return True

    def set_aside(link_id: int) -> None:
        db.session.execute(
            sa.update(ActionLink)
            .where(ActionLink.id == link_id)
            .values(reminders_sent=len(links.REMINDER_DAYS))
        )

    run = _each(_due_ids(condition, limit), condition, remind, set_aside, "reminder")
    if run.handled or run.failed:
        log.info(
            "link reminders: %d sent, %d skipped, %d failed", run.handled, run.skipped, run.failed
        )
    return run


# --- expiry ----------------------------------------------------------------------------------


def handle_expired_links(now: dt.datetime | None = None, limit: int = LINK_BATCH_SIZE) -> LinkRun:
    """Give the officer a follow-up for each link that expired unanswered, once per link."""
    now = now or utcnow()
    condition = _expiry_due(now)

    def follow_up(link: ActionLink) -> bool:
        link.expiry_handled_at = now
        return purposes.expired_follow_up(link, now) is not None

    def set_aside(link_id: int) -> None:
        db.session.execute(
            sa.update(ActionLink).where(ActionLink.id == link_id).values(expiry_handled_at=now)
        )

    run = _each(_due_ids(condition, limit), condition, follow_up, set_aside, "expiry follow-up")
    if run.handled or run.failed:
        log.info(
            "expired links: %d follow-ups, %d skipped, %d failed",
            run.handled,
            run.skipped,
            run.failed,
        )
    return run
