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
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel import Locale
from babel.dates import format_datetime, format_skeleton, get_timezone_location, match_skeleton
from flask import current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.followups.agenda import LateRecord, MyDay, my_day
from crm.followups.models import REMINDER_PENDING, FollowUp
from crm.followups.service import RECORD_ENDPOINTS, ListedFollowUp, Record
from crm.organisations.models import Organisation
from crm.outbox.bulk import DeferredEmails
from crm.outbox.service import absolute_url, queue_email
from crm.partnerships.models import Partnership

log = logging.getLogger(__name__)

# Reminders queued per transaction. Every claim sorts all the follow-ups still due (see
# _claim_due), so a backlog costs fewer sorts in bigger batches; one of 500 still commits
# within a fraction of a second.
REMINDER_BATCH_SIZE = 500
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
    return _record_url(record.type, record.id, record.organisation_id)


def _record_url(record_type: str, record_id: int, organisation_id: int | None) -> str | None:
    if record_type in RECORD_ENDPOINTS:
        endpoint, argument = RECORD_ENDPOINTS[record_type]
        return absolute_url(endpoint, **{argument: record_id})
    if organisation_id is not None:
        return absolute_url("organisations.show", organisation_id=organisation_id)
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
    texts = _ReminderTexts()  # for the whole run: batches share due times and records
    while True:
        counted = (run.reminded, run.skipped_inactive)
        try:
            claimed = _remind_batch(now, batch_size, run, texts)
            db.session.commit()
        except Exception:
            run.reminded, run.skipped_inactive = counted  # that batch was rolled back
            # One follow-up that cannot be rendered must not block every reminder after it,
            # minute after minute: find it by going one at a time, and set it aside.
            db.session.rollback()
            log.exception("a reminder batch failed; retrying one follow-up at a time")
            claimed = _remind_one_by_one(now, batch_size, run, texts)
        if claimed:
            run.batches += 1
        # A short batch means every other due row is taken (locked by another scheduler).
        if claimed < batch_size:
            return run


def _remind_one_by_one(
    now: dt.datetime, count: int, run: ReminderRun, texts: _ReminderTexts
) -> int:
    """Queue up to `count` reminders singly; a follow-up that fails is marked and logged."""
    done = 0
    while done < count:
        counted = (run.reminded, run.skipped_inactive)
        try:
            claimed = _remind_batch(now, 1, run, texts)
            db.session.commit()
        except Exception:
            run.reminded, run.skipped_inactive = counted
            db.session.rollback()
            oldest = _claim_due(now, 1)
            if not oldest:
                return done
            failing = oldest[0]
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


def _is_due(now: dt.datetime) -> tuple[sa.ColumnElement[bool] | sa.TextClause, ...]:
    # The partial index's own condition, written as the index writes it (no bound value), so
    # that both databases see the claim may read ix_follow_ups_reminders_due.
    return (sa.text(REMINDER_PENDING), FollowUp.due_at <= now)


class DueReminder(NamedTuple):
    """A claimed follow-up with what its reminder says: plain columns, no ORM objects."""

    id: int
    subject: str
    created_by_rule: str
    due_at: dt.datetime
    notes: str
    record_type: str
    record_id: int
    organisation_id: int | None
    assignee_id: int
    email: str
    name: str
    locale: str
    timezone: str
    is_active_account: bool
    legal_name: str | None
    trading_name: str | None
    contact_first_name: str | None
    contact_last_name: str | None
    partnership_owner_id: int | None

    def record_name(self) -> str:
        """The record's name as follow-up lists show it (crm.followups.service.listing)."""
        organisation_name = self.trading_name or self.legal_name or ""
        if self.record_type == "contact" and self.contact_first_name is not None:
            return f"{self.contact_first_name} {self.contact_last_name}".strip()
        if self.record_type == "partnership" and self.partnership_owner_id is not None:
            return _("Partnership with %(name)s", name=organisation_name)
        return organisation_name


def _among(column: InstrumentedAttribute[int], ids: list[int]) -> sa.ColumnElement[bool]:
    """`column IN ids`: on PostgreSQL one array parameter rather than one parameter per id.

    A batch's hundreds of ids would make a statement of its own each time, which the driver
    parses and the server plans anew.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def _claim_due(now: dt.datetime, batch_size: int) -> list[int]:
    """Lock up to `batch_size` due follow-ups, the oldest first; their ids.

    As narrow as the bare claim loop of bench/bench_scheduler.py; the partial index
    ix_follow_ups_reminders_due holds exactly the claimable rows in this order (no sort).
    """
    return list(
        db.session.scalars(
            sa.select(FollowUp.id)
            .where(*_is_due(now))
            .order_by(FollowUp.due_at, FollowUp.id)
            .limit(batch_size)
            # PostgreSQL: rows another scheduler holds are skipped, not waited for. SQLite has
            # no row locks: this transaction began IMMEDIATE and holds the database's write lock.
            .with_for_update(skip_locked=True)
        )
    )


def _due_reminders(ids: list[int]) -> list[DueReminder]:
    """The claimed follow-ups with what their reminders need, in one statement, oldest first.

    Read after the claim, in a statement of their own: what another transaction committed
    before the rows were locked is seen. The record is joined as crm.followups.service.listing
    joins it, for its name.
    """
    rows = db.session.execute(
        sa.select(
            FollowUp.id,
            FollowUp.subject,
            FollowUp.created_by_rule,
            FollowUp.due_at,
            FollowUp.notes,
            FollowUp.record_type,
            FollowUp.record_id,
            FollowUp.organisation_id,
            User.id,
            User.email,
            User.name,
            User.locale,
            User.timezone,
            User.is_active_account,
            Organisation.legal_name,
            Organisation.trading_name,
            Contact.first_name,
            Contact.last_name,
            Partnership.owner_id,
        )
        .join(User, User.id == FollowUp.assignee_id)
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .outerjoin(
            Contact, sa.and_(FollowUp.record_type == "contact", Contact.id == FollowUp.record_id)
        )
        .outerjoin(
            Partnership,
            sa.and_(FollowUp.record_type == "partnership", Partnership.id == FollowUp.record_id),
        )
        .where(_among(FollowUp.id, ids))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    return [DueReminder._make(row) for row in rows]


def _remind_batch(
    now: dt.datetime, batch_size: int, run: ReminderRun, texts: _ReminderTexts
) -> int:
    """Claim up to `batch_size` due follow-ups and queue their reminders; no commit."""
    ids = _claim_due(now, batch_size)
    if not ids:
        return 0
    by_language: dict[str, list[DueReminder]] = {}
    for due in _due_reminders(ids):
        by_language.setdefault(due.locale, []).append(due)
    emails = DeferredEmails("followup_reminder")
    for language, group in sorted(by_language.items()):
        # In the recipients' language: workflow subjects and record names such as
        # "Partnership with …" are translated as they are written.
        with force_locale(babel_locale(language)):
            for due in group:
                if due.is_active_account:
                    emails.add(
                        to_email=due.email,
                        to_name=due.name,
                        language=due.locale,
                        context=_reminder_values(due, texts),
                        record_type="follow_up",
                        record_id=due.id,
                        organisation_id=due.organisation_id,
                        user_id=due.assignee_id,
                    )
                    run.reminded += 1
                else:
                    run.skipped_inactive += 1  # claimed all the same: nobody reads that mailbox
    # One statement for the batch's e-mails, in the transaction that claims their follow-ups.
    emails.queue()
    db.session.execute(
        sa.update(FollowUp)
        .where(_among(FollowUp.id, ids))
        .values(reminder_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


class _ReminderTexts:
    """The due dates, subjects, record names and links of one reminder run, each written once.

    Follow-ups made by the same workflow step at the same moment share their due time and
    subject, and many follow-ups concern the same record. Call it inside the assignee's
    `force_locale`: what is in a language is kept per language.
    """

    def __init__(self) -> None:
        self._dates: dict[tuple[dt.datetime, str, str], tuple[str, str]] = {}
        self._subjects: dict[tuple[str, str], str] = {}
        self._names: dict[tuple[str | bool | None, ...], str] = {}
        self._urls: dict[tuple[str, int, int | None], str | None] = {}

    def due(self, due: DueReminder) -> tuple[str, str]:
        """When it is due in the assignee's time zone, and the zone's name."""
        key = (due.due_at, due.timezone, due.locale)
        if key not in self._dates:
            zone = user_zone(due.timezone)
            self._dates[key] = (local_datetime(due.due_at, zone), zone_label(zone))
        return self._dates[key]

    def subject(self, due: DueReminder) -> str:
        """The follow-up's subject: workflow subjects are msgids; what a person typed is kept."""
        if not due.created_by_rule:
            return due.subject
        key = (due.locale, due.subject)
        if key not in self._subjects:
            self._subjects[key] = _(due.subject)
        return self._subjects[key]

    def record_name(self, due: DueReminder) -> str:
        """The name of the follow-up's record (see DueReminder.record_name)."""
        # Keyed by what the name is made of, as this batch read it: a record renamed while
        # the run goes on is named anew.
        key = (
            due.locale,
            due.record_type,
            due.legal_name,
            due.trading_name,
            due.contact_first_name,
            due.contact_last_name,
            due.partnership_owner_id is not None,
        )
        if key not in self._names:
            self._names[key] = due.record_name()
        return self._names[key]

    def url(self, due: DueReminder) -> str | None:
        """The record's absolute link."""
        key = (due.record_type, due.record_id, due.organisation_id)
        if key not in self._urls:
            self._urls[key] = _record_url(*key)
        return self._urls[key]


def _reminder_values(due: DueReminder, texts: _ReminderTexts) -> dict[str, Any]:
    """The template values of one follow-up's reminder; call it inside the assignee's locale.

    Its bodies are written at delivery, from values already in the assignee's language and
    time zone (plain strings): a batch of thousands costs a subject line each.
    """
    when, zone = texts.due(due)
    return {
        "follow_up_subject": texts.subject(due),
        "record_name": texts.record_name(due),
        "due": when,
        "zone": zone,
        "notes": due.notes,
        "url": texts.url(due),
    }


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
