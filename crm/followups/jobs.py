"""Scheduler jobs about follow-ups: due reminders and the daily digest.

Jobs are transaction edges. Each one selects only due rows, claims them in the same
transaction that queues their e-mails, and commits in small batches: a process killed
mid-batch loses its uncommitted batch and nothing else, and the next run finds those rows
still due. Two processes never claim the same row (PostgreSQL: `FOR UPDATE SKIP LOCKED` or a
conditional UPDATE; SQLite: write transactions begin IMMEDIATE, see crm.db).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel import Locale
from babel.dates import format_datetime, format_skeleton, get_timezone_location, match_skeleton
from flask import current_app
from flask_babel import force_locale, get_locale, ngettext

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.agenda import LateRecord, MyDay, my_day
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.service import RECORD_ENDPOINTS, ListedFollowUp, Record, listed_rows, listing
from crm.outbox.service import absolute_url, email_row, queue_email, queue_emails

log = logging.getLogger(__name__)

REMINDER_BATCH_SIZE = 200
# A digest lists at most this many items per section; its headings still give the counts.
DIGEST_SECTION_LIMIT = 25
# No time zone is more than 14 hours ahead of UTC: nobody's local date is later than this.
_MAX_UTC_OFFSET = dt.timedelta(hours=14)


# --- in the recipient's language and time zone -------------------------------------------------


def babel_locale(language: str) -> str:
    """The locale for a user's language: English means British formats, as on the pages."""
    return "en_GB" if language == "en" else language


def user_zone(name: str) -> ZoneInfo:
    """A user's time zone, or the application's display zone if the name is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["CRM_DISPLAY_TIMEZONE"])


def _locale() -> Locale:
    return get_locale() or Locale.parse("en_GB")


@functools.lru_cache(maxsize=64)
def _skeleton_pattern(skeleton: str, locale: str) -> str:
    """The CLDR pattern for a skeleton in a locale (matching skeletons is slow; do it once)."""
    parsed = Locale.parse(locale)
    return str(parsed.datetime_skeletons[match_skeleton(skeleton, parsed.datetime_skeletons)])


def local_datetime(value: dt.datetime, zone: ZoneInfo) -> str:
    """Weekday, date and time of day in `zone`, in the current (forced) locale."""
    locale = _locale()
    local = value.astimezone(zone)
    date = format_datetime(local, _skeleton_pattern("yMMMEd", str(locale)), locale=locale)
    time = format_datetime(local, _skeleton_pattern("Hm", str(locale)), locale=locale)
    return str(locale.datetime_formats["medium"]).replace("{1}", date).replace("{0}", time)


def local_date(value: dt.date) -> str:
    """A date with its weekday, in the current (forced) locale."""
    return format_skeleton("yMMMEd", value, locale=_locale())


def zone_label(zone: ZoneInfo) -> str:
    """The time zone as people name it (e.g. "Belgium Time"), in the current locale."""
    if not zone.key:  # a zone read from a file has no name to cache it by
        return get_timezone_location(zone, locale=_locale())
    return _zone_label(zone.key, str(_locale()))


@functools.lru_cache(maxsize=256)
def _zone_label(zone: str, locale: str) -> str:
    # The same few zones and languages for thousands of reminders: look each pair up once.
    return str(get_timezone_location(ZoneInfo(zone), locale=Locale.parse(locale)))


def record_url(record: Record) -> str | None:
    """The absolute link to a follow-up's record (its organisation for other record types)."""
    if record.type in RECORD_ENDPOINTS:
        endpoint, argument = RECORD_ENDPOINTS[record.type]
        return absolute_url(endpoint, **{argument: record.id})
    if record.organisation_id is not None:
        return absolute_url("organisations.show", organisation_id=record.organisation_id)
    return None


# --- due reminders ---------------------------------------------------------------------------


@dataclass
class ReminderRun:
    """Counts of one reminder pass."""

    reminded: int = 0
    skipped_inactive: int = 0
    batches: int = 0
    failed: int = 0


def send_due_reminders(
    now: dt.datetime | None = None, batch_size: int = REMINDER_BATCH_SIZE
) -> ReminderRun:
    """Queue one reminder per open follow-up that is due and not yet reminded; commit per batch."""
    now = now or utcnow()
    run = ReminderRun()
    while True:
        counted = (run.reminded, run.skipped_inactive)
        try:
            claimed = _remind_batch(now, batch_size, run)
            db.session.commit()
        except Exception:
            run.reminded, run.skipped_inactive = counted  # that batch was rolled back
            # One follow-up that cannot be rendered must not block every reminder after it,
            # minute after minute: find it by going one at a time, and set it aside.
            db.session.rollback()
            log.exception("a reminder batch failed; retrying one follow-up at a time")
            claimed = _remind_one_by_one(now, batch_size, run)
        if claimed:
            run.batches += 1
        # A short batch means every other due row is taken (locked by another scheduler).
        if claimed < batch_size:
            return run


def _remind_one_by_one(now: dt.datetime, count: int, run: ReminderRun) -> int:
    """Queue up to `count` reminders singly; a follow-up that fails is marked and logged."""
    done = 0
    while done < count:
        counted = (run.reminded, run.skipped_inactive)
        try:
            claimed = _remind_batch(now, 1, run)
            db.session.commit()
        except Exception:
            run.reminded, run.skipped_inactive = counted
            db.session.rollback()
            failing = db.session.scalar(_due_ids(now).limit(1))
            if failing is None:
                return done
            log.exception("the reminder of follow-up %s could not be queued; skipped", failing)
            db.session.execute(
                sa.update(FollowUp).where(FollowUp.id == failing).values(reminder_sent_at=now)
            )
            db.session.commit()
            run.failed += 1
            claimed = 1
        if not claimed:
            return done
        done += claimed
    return done


def _due_ids(now: dt.datetime) -> sa.Select[int]:
    """Ids of open follow-ups due and not yet reminded, oldest first, rows locked."""
    return (
        sa.select(FollowUp.id)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.reminder_sent_at.is_(None),
            FollowUp.due_at <= now,
        )
        .order_by(FollowUp.due_at, FollowUp.id)
        .with_for_update(skip_locked=True)
    )


def _remind_batch(now: dt.datetime, batch_size: int, run: ReminderRun) -> int:
    """Claim up to `batch_size` due follow-ups and queue their reminders; no commit."""
    claimed = db.session.execute(
        sa.select(FollowUp.id, User.locale)
        .join(User, User.id == FollowUp.assignee_id)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.reminder_sent_at.is_(None),
            FollowUp.due_at <= now,
        )
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(batch_size)
        # PostgreSQL: rows another scheduler holds are skipped, not waited for. SQLite has no
        # row locks: this transaction began IMMEDIATE and holds the database's write lock.
        .with_for_update(skip_locked=True, of=FollowUp)
    ).all()
    if not claimed:
        return 0
    by_language: dict[str, list[int]] = {}
    for follow_up_id, language in claimed:
        by_language.setdefault(language, []).append(follow_up_id)
    emails: list[dict[str, Any]] = []
    for language, ids in sorted(by_language.items()):
        # Loaded in the recipients' language: record names such as "Partnership with …" are
        # translated as they are read.
        with force_locale(babel_locale(language)):
            for listed in listed_rows(listing().where(FollowUp.id.in_(ids)).order_by(FollowUp.id)):
                if listed.follow_up.assignee.is_active_account:
                    emails.append(_reminder_email(listed))
                    run.reminded += 1
                else:
                    run.skipped_inactive += 1  # claimed all the same: nobody reads that mailbox
    # One INSERT for the batch's e-mails, in the transaction that claims their follow-ups.
    queue_emails(emails)
    db.session.execute(
        sa.update(FollowUp)
        .where(FollowUp.id.in_([follow_up_id for follow_up_id, _language in claimed]))
        .values(reminder_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(claimed)


def _reminder_email(listed: ListedFollowUp) -> dict[str, Any]:
    """The outbox row of one follow-up's reminder; call it inside the assignee's `force_locale`.

    Its bodies are written at delivery, from values already in the assignee's language and
    time zone (plain strings): a batch of thousands costs a subject line each.
    """
    follow_up, record = listed.follow_up, listed.record
    user = follow_up.assignee
    zone = user_zone(user.timezone)
    return email_row(
        kind="followup_reminder",
        to_email=user.email,
        to_name=user.name,
        language=user.locale,
        context={
            "follow_up_subject": listed.subject,
            "record_name": record.name,
            "due": local_datetime(follow_up.due_at, zone),
            "zone": zone_label(zone),
            "notes": follow_up.notes,
            "url": record_url(record),
        },
        record_type="follow_up",
        record_id=follow_up.id,
        organisation_id=follow_up.organisation_id,
        user_id=user.id,
        defer_bodies=True,
    )


# --- the daily digest ------------------------------------------------------------------------


@dataclass
class DigestRun:
    """Counts of one digest pass."""

    sent: int = 0
    nothing_to_report: int = 0
    not_yet: int = 0
    failed: int = 0


@dataclass(frozen=True)
class DigestItem:
    """One line of the digest: what, about which record, when or how late, and the link."""

    title: str
    record_name: str
    detail: str
    url: str | None


@dataclass(frozen=True)
class DigestSection:
    """A heading with its count, and the first items."""

    heading: str
    count: int
    items: list[DigestItem]

    @property
    def more(self) -> int:
        """How many are not listed."""
        return self.count - len(self.items)


def send_daily_digests(now: dt.datetime | None = None) -> DigestRun:
    """Queue each subscribed officer's digest once per local day, from CRM_DIGEST_HOUR on."""
    now = now or utcnow()
    hour = int(current_app.config["CRM_DIGEST_HOUR"])
    candidates = db.session.execute(
        sa.select(User.id, User.timezone)
        .where(
            User.is_active_account.is_(True),
            User.wants_daily_digest.is_(True),
            sa.or_(
                User.last_digest_on.is_(None),
                User.last_digest_on < (now + _MAX_UTC_OFFSET).date(),
            ),
        )
        .order_by(User.id)
    ).all()
    db.session.commit()  # end the reading transaction (on SQLite it holds the write lock)
    run = DigestRun()
    for user_id, timezone in candidates:
        local_now = now.astimezone(user_zone(timezone))
        if local_now.hour < hour:
            run.not_yet += 1
            continue
        try:
            if _claim_digest(user_id, local_now.date()):
                if _queue_digest(user_id, local_now, now):
                    run.sent += 1
                else:
                    run.nothing_to_report += 1
            db.session.commit()  # one officer per transaction: the claim and the e-mail together
        except Exception:
            # One officer's broken data must not hold up everyone else's digest; theirs is
            # tried again at the next run.
            db.session.rollback()
            run.failed += 1
            log.exception("daily digest for user %d failed", user_id)
    return run


def _claim_digest(user_id: int, today: dt.date) -> bool:
    """Mark today's digest as taken; False if this or another process took it already.

    On PostgreSQL a second scheduler's UPDATE waits for the first one's commit, then finds
    the date already set and changes nothing.
    """
    result = db.session.execute(
        sa.update(User)
        .where(
            User.id == user_id,
            sa.or_(User.last_digest_on.is_(None), User.last_digest_on < today),
        )
        # Bookkeeping, not an edit of the account: keep updated_at as it was.
        .values(last_digest_on=today, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0)) == 1


def _queue_digest(user_id: int, local_now: dt.datetime, now: dt.datetime) -> bool:
    """Queue the digest e-mail if there is anything to report; whether one was queued."""
    user = db.session.get(User, user_id)
    assert user is not None
    zone = user_zone(user.timezone)
    with force_locale(babel_locale(user.locale)):
        sections = digest_sections(my_day(user, now), zone)
        if not sections:
            return False
        # Rendered whole, not deferred: its sections are objects (not JSON), and it is one
        # e-mail per officer a day.
        queue_email(
            kind="daily_digest",
            to_email=user.email,
            to_name=user.name,
            language=user.locale,
            context={
                "date": local_date(local_now.date()),
                "zone": zone_label(zone),
                "sections": sections,
                "my_day_url": absolute_url("followups.my_day"),
            },
            user_id=user.id,
        )
    return True


def digest_sections(day: MyDay, zone: ZoneInfo) -> list[DigestSection]:
    """The non-empty sections of the digest; texts in the current (forced) locale."""
    follow_ups = [
        (
            ngettext("%(num)d overdue follow-up", "%(num)d overdue follow-ups", len(day.overdue)),
            day.overdue,
        ),
        (
            ngettext("%(num)d follow-up due today", "%(num)d follow-ups due today", len(day.today)),
            day.today,
        ),
    ]
    late = [
        (
            ngettext(
                "%(num)d record past its time limit, waiting on us",
                "%(num)d records past their time limit, waiting on us",
                len(day.waiting_on_us),
            ),
            day.waiting_on_us,
        ),
        (
            ngettext(
                "%(num)d record past its time limit, waiting on the other side",
                "%(num)d records past their time limit, waiting on the other side",
                len(day.waiting_on_others),
            ),
            day.waiting_on_others,
        ),
    ]
    sections = [
        DigestSection(
            heading,
            len(listed),
            [_follow_up_item(item, zone) for item in listed[:DIGEST_SECTION_LIMIT]],
        )
        for heading, listed in follow_ups
        if listed
    ]
    sections += [
        DigestSection(
            heading, len(records), [_late_item(r) for r in records[:DIGEST_SECTION_LIMIT]]
        )
        for heading, records in late
        if records
    ]
    return sections


def _follow_up_item(listed: ListedFollowUp, zone: ZoneInfo) -> DigestItem:
    return DigestItem(
        title=listed.subject,
        record_name=listed.record.name,
        detail=local_datetime(listed.follow_up.due_at, zone),
        url=record_url(listed.record),
    )


def _late_item(late: LateRecord) -> DigestItem:
    partnership = late.partnership
    return DigestItem(
        title=partnership.organisation.display_name,
        record_name=late.state_label,
        detail=ngettext(
            "%(num)d day over the time limit",
            "%(num)d days over the time limit",
            late.sla.days_over,
        ),
        url=absolute_url("partnerships.show", partnership_id=partnership.id),
    )
