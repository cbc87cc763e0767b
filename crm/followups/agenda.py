"""A user's agenda: My day (follow-ups by when they are due, records past their SLA) and the
calendar feed of their open follow-ups behind a secret, renewable address."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy.orm import contains_eager

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.service import ListedFollowUp, listed_rows, listing
from crm.partnerships.models import Partnership
from crm.partnerships.service import overdue_condition
from crm.workflow import engine
from crm.workflow.service import current_pack

UPCOMING_DAYS = 7
# Follow-ups are points in time; calendars draw them as short events.
EVENT_LENGTH = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class DayBounds:
    """The user's local day in UTC: today starts, tomorrow starts, the upcoming week ends."""

    today: dt.datetime
    tomorrow: dt.datetime
    horizon: dt.datetime


def day_bounds(now: dt.datetime, timezone: str) -> DayBounds:
    """Midnights in the user's time zone (daylight saving time included), as UTC."""
    zone = ZoneInfo(timezone)
    local_date = now.astimezone(zone).date()

    def midnight(days: int) -> dt.datetime:
        day = local_date + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)

    return DayBounds(midnight(0), midnight(1), midnight(1 + UPCOMING_DAYS))


@dataclass(frozen=True)
class LateRecord:
    """A partnership past its stage's SLA."""

    partnership: Partnership
    state_label: str
    sla: engine.SlaStatus


@dataclass
class MyDay:
    """What one user has to do: follow-ups by when they are due, and records past their SLA."""

    user: User
    now: dt.datetime
    overdue: list[ListedFollowUp] = field(default_factory=list)
    today: list[ListedFollowUp] = field(default_factory=list)
    upcoming: list[ListedFollowUp] = field(default_factory=list)
    waiting_on_us: list[LateRecord] = field(default_factory=list)
    waiting_on_others: list[LateRecord] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        follow_ups = self.overdue or self.today or self.upcoming
        return not (follow_ups or self.waiting_on_us or self.waiting_on_others)


def my_day(user: User, now: dt.datetime | None = None) -> MyDay:
    """The user's day in their own time zone, in two statements whatever the numbers."""
    now = now or utcnow()
    bounds = day_bounds(now, user.timezone)
    day = MyDay(user=user, now=now)
    rows = listed_rows(
        listing()
        .where(
            FollowUp.assignee_id == user.id,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.due_at < bounds.horizon,
        )
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    for listed in rows:
        due = listed.follow_up.due_at
        bucket = day.overdue if due < now else day.today if due < bounds.tomorrow else day.upcoming
        bucket.append(listed)
    for late in late_partnerships(user, now):
        (day.waiting_on_us if late.sla.waiting_on == "us" else day.waiting_on_others).append(late)
    return day


def _past_sla(now: dt.datetime) -> tuple[str, sa.ColumnElement[bool]]:
    """The current partnership workflow's name, and "past the stage's SLA" as one condition.

    As engine.sla_status counts: late once the whole days in the stage exceed the SLA.
    """
    wf = current_pack().for_record("partnership")
    return wf.name, overdue_condition(wf, now)


def late_partnerships(owner: User, now: dt.datetime) -> list[LateRecord]:
    """The owner's partnerships past their stage's SLA, longest over first (one statement)."""
    wf = current_pack().for_record("partnership")
    workflow_name, condition = _past_sla(now)
    partnerships = db.session.scalars(
        sa.select(Partnership)
        .join(Partnership.organisation)
        .where(
            Partnership.owner_id == owner.id,
            Partnership.workflow_name == workflow_name,
            condition,
        )
        .options(contains_eager(Partnership.organisation))
        .order_by(Partnership.state_entered_at, Partnership.id)
    )
    late = [
        LateRecord(
            partnership=p,
            state_label=_(wf.state(p.state).label),
            sla=engine.sla_status(wf, p.state, p.state_entered_at, now),
        )
        for p in partnerships
    ]
    late.sort(key=lambda item: -item.sla.days_over)
    return late


# --- the calendar feed ----------------------------------------------------------------------


def calendar_token_hash(token: str) -> str:
    """The SHA-256 of a feed token, which is all the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def renew_calendar_token(user: User) -> str:
    """A new secret for the user's feed; the previous feed address stops working."""
    token = secrets.token_urlsafe(32)
    user.calendar_token_hash = calendar_token_hash(token)
    db.session.flush()
    return token


def user_for_calendar_token(token: str) -> User | None:
    """The active account whose feed this token opens, if any."""
    if not token or len(token) > 128:
        return None
    return db.session.scalar(
        sa.select(User).where(
            User.calendar_token_hash == calendar_token_hash(token),
            User.is_active_account.is_(True),
        )
    )


def open_follow_ups_of(user: User) -> list[ListedFollowUp]:
    """Every open follow-up assigned to the user, soonest first, with its record."""
    return listed_rows(
        listing()
        .where(FollowUp.assignee_id == user.id, FollowUp.status == FollowUpStatus.OPEN)
        .order_by(FollowUp.due_at, FollowUp.id)
    )


def calendar_for(user: User, base_url: str, now: dt.datetime | None = None) -> bytes:
    """The user's open follow-ups as an iCalendar document, one event per follow-up."""
    now = now or utcnow()
    host = urlsplit(base_url).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//Partnership CRM//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Follow-ups of %(name)s", name=user.name))
    for listed in open_follow_ups_of(user):
        f = listed.follow_up
        link = listed.record.url(base_url)
        lines = [listed.record.name, link or "", listed.made_by, f.notes]
        event = Event()
        event.add("uid", f"follow-up-{f.id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", f.due_at.astimezone(dt.UTC))
        event.add("duration", EVENT_LENGTH)
        event.add("summary", listed.subject)
        event.add("description", "\n".join(line for line in lines if line))
        if link:
            event.add("url", link)
        event.add("last-modified", f.updated_at.astimezone(dt.UTC))
        calendar.add_component(event)
    return calendar.to_ical()
