"""The daily digest: once per local day, from CRM_DIGEST_HOUR on, only when there is news."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from crm.auth.models import Role, User
from crm.extensions import db
from crm.followups import jobs
from crm.followups.jobs import DIGEST_SECTION_LIMIT, send_daily_digests
from crm.followups.models import FollowUpStatus
from crm.outbox.models import OutboxMessage
from tests.factories import make_organisation, make_user
from tests.scheduler.support import make_follow_up
from tests.workflow.support import make_partnership

SNAPSHOTS = Path(__file__).parent / "snapshots"
# A winter Wednesday: Brussels is UTC+1, New York UTC-5.
WEDNESDAY = dt.date(2025, 1, 15)


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def digests(user: User | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.kind == "daily_digest")
    if user is not None:
        query = query.where(OutboxMessage.user_id == user.id)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def last_digest_on(user: User) -> dt.date | None:
    return db.session.scalar(sa.select(User.last_digest_on).where(User.id == user.id))


def digest_at(run_job, moment: dt.datetime):
    with time_machine.travel(moment, tick=False):
        return run_job(send_daily_digests)


def test_digest_is_sent_once_per_local_day_from_the_digest_hour(ctx, officer, run_job):
    make_follow_up(officer, utc(WEDNESDAY, 9) - dt.timedelta(days=2))  # overdue for days

    # 06:30 in Brussels: too early.
    assert digest_at(run_job, utc(WEDNESDAY, 5, 30)).sent == 0
    assert (digests(), last_digest_on(officer)) == ([], None)
    # 07:05 in Brussels: the day's digest.
    assert digest_at(run_job, utc(WEDNESDAY, 6, 5)).sent == 1
    assert len(digests()) == 1
    assert last_digest_on(officer) == WEDNESDAY
    # Later the same day, however often the job runs: nothing more.
    for moment in (utc(WEDNESDAY, 6, 20), utc(WEDNESDAY, 12), utc(WEDNESDAY, 22, 59)):
        assert digest_at(run_job, moment).sent == 0
    assert len(digests()) == 1
    # 00:30 on Thursday in Brussels: a new local day, but before the hour.
    assert digest_at(run_job, utc(WEDNESDAY, 23, 30)).sent == 0
    # Thursday 07:00 in Brussels: the next one.
    thursday = WEDNESDAY + dt.timedelta(days=1)
    assert digest_at(run_job, utc(thursday, 6, 0)).sent == 1
    assert len(digests()) == 2
    assert last_digest_on(officer) == thursday


def test_the_digest_hour_is_the_users_own(ctx, officer, run_job):
    american = make_user(Role.OFFICER, locale="en", timezone="America/New_York")
    for user in (officer, american):
        make_follow_up(user, utc(WEDNESDAY, 1) - dt.timedelta(days=1))

    digest_at(run_job, utc(WEDNESDAY, 6, 5))  # 07:05 in Brussels, 01:05 in New York
    assert (len(digests(officer)), len(digests(american))) == (1, 0)
    digest_at(run_job, utc(WEDNESDAY, 12, 5))  # 07:05 in New York
    assert (len(digests(officer)), len(digests(american))) == (1, 1)
    assert last_digest_on(american) == WEDNESDAY


def test_a_day_with_nothing_to_report_sends_nothing_but_counts(ctx, officer, run_job):
    make_follow_up(officer, utc(WEDNESDAY, 6) + dt.timedelta(days=3))  # upcoming, not today
    make_follow_up(officer, utc(WEDNESDAY, 6) - dt.timedelta(days=3), status=FollowUpStatus.DONE)

    run = digest_at(run_job, utc(WEDNESDAY, 6, 5))

    assert (run.sent, run.nothing_to_report) == (0, 1)
    assert digests() == []
    assert last_digest_on(officer) == WEDNESDAY
    # Something turning up later that day waits for tomorrow's digest.
    make_follow_up(officer, utc(WEDNESDAY, 6) - dt.timedelta(days=1))
    assert digest_at(run_job, utc(WEDNESDAY, 9)).sent == 0


def test_unsubscribed_and_deactivated_users_get_none(ctx, run_job):
    quiet = make_user(Role.OFFICER, wants_daily_digest=False)
    gone = make_user(Role.OFFICER, is_active_account=False)
    for user in (quiet, gone):
        make_follow_up(user, utc(WEDNESDAY, 6) - dt.timedelta(days=1))

    assert digest_at(run_job, utc(WEDNESDAY, 8)).sent == 0
    assert digests() == []
    assert (last_digest_on(quiet), last_digest_on(gone)) == (None, None)


def test_digest_lists_overdue_due_today_and_records_past_their_time_limit(ctx, run_job):
    olga = make_user(Role.OFFICER, name="Olga Officer", locale="en", timezone="Europe/Brussels")
    other = make_user(Role.OFFICER)
    organisation = make_organisation(olga, legal_name="Rheinwerk Tools GmbH")
    now = utc(WEDNESDAY, 6, 5)
    make_follow_up(olga, now - dt.timedelta(days=2), organisation=organisation, subject="Overdue")
    make_follow_up(olga, now + dt.timedelta(hours=8), organisation=organisation, subject="Today")
    make_follow_up(olga, now + dt.timedelta(days=1), organisation=organisation, subject="Tomorrow")
    make_follow_up(other, now - dt.timedelta(days=1), organisation=organisation, subject="Theirs")
    make_follow_up(
        olga,
        now - dt.timedelta(days=1),
        organisation=organisation,
        subject="Finished",
        status=FollowUpStatus.DONE,
    )
    with time_machine.travel(now, tick=False):
        # Identified has an SLA of 21 days, Approached 30 days (waiting on the employer).
        late = make_partnership(olga, "identified", now - dt.timedelta(days=30))
        make_partnership(olga, "approached", now - dt.timedelta(days=40))
        make_partnership(olga, "identified", now - dt.timedelta(days=5))  # within its SLA
        make_partnership(other, "identified", now - dt.timedelta(days=60))  # not hers

    digest_at(run_job, now)

    (message,) = digests(olga)
    text = message.body_text
    assert message.subject == "Your follow-ups for Wed, 15 Jan 2025"
    assert "1 overdue follow-up\n\n- Overdue\n  Rheinwerk Tools GmbH · Mon, 13 Jan 2025, 07:05" in (
        text
    )
    assert "1 follow-up due today\n\n- Today\n  Rheinwerk Tools GmbH · Wed, 15 Jan 2025, 15:05" in (
        text
    )
    assert "Tomorrow" not in text and "Theirs" not in text and "Finished" not in text
    assert "1 record past its time limit, waiting on us\n" in text
    late_link = f"https://crm.example.test/partnerships/{late.id}"
    assert f"Identified · 9 days over the time limit\n  {late_link}\n" in text
    assert "1 record past its time limit, waiting on the other side\n" in text
    assert "Approached · 10 days over the time limit" in text
    assert "My day: https://crm.example.test/my-day" in text
    assert '<a href="https://crm.example.test/my-day"' in message.body_html
    assert len(digests(other)) == 1


def test_long_sections_are_cut_with_a_count(ctx, officer, run_job):
    organisation = make_organisation(officer)
    now = utc(WEDNESDAY, 7)
    for n in range(DIGEST_SECTION_LIMIT + 3):
        make_follow_up(officer, now - dt.timedelta(days=1, minutes=n), organisation=organisation)

    digest_at(run_job, now)

    (message,) = digests()
    assert f"{DIGEST_SECTION_LIMIT + 3} overdue follow-ups\n" in message.body_text
    assert message.body_text.count("\n- ") == DIGEST_SECTION_LIMIT
    assert "… and 3 more" in message.body_text


def test_digest_is_in_the_users_language(ctx, run_job):
    greta = make_user(Role.OFFICER, name="Greta Groß", locale="de", timezone="Europe/Berlin")
    organisation = make_organisation(greta, legal_name="Kölner Metallbau GmbH")
    now = utc(WEDNESDAY, 6, 5)
    make_follow_up(
        greta,
        now - dt.timedelta(days=1),
        organisation=organisation,
        subject="Follow up the first approach and book a needs-analysis meeting",
        created_by_rule="partnership.approach",
        record_type="partnership",
        record_id=make_partnership(greta, organisation=organisation).id,
    )

    digest_at(run_job, now)

    (message,) = digests()
    assert message.language == "de"
    assert "Di., 14. Jan. 2025, 07:05" in message.body_text
    assert "Erste Kontaktaufnahme nachfassen" in message.body_text
    assert "Partnerschaft mit Kölner Metallbau GmbH" in message.body_text
    assert '<html lang="de">' in message.body_html


def test_digest_text_matches_the_snapshot(ctx, run_job):
    olga = make_user(Role.OFFICER, name="Olga Officer", locale="en", timezone="Europe/Brussels")
    organisation = make_organisation(olga, legal_name="Rheinwerk Tools GmbH")
    now = utc(WEDNESDAY, 6, 5)
    make_follow_up(olga, utc(WEDNESDAY, 8) - dt.timedelta(days=1), organisation=organisation)
    make_follow_up(
        olga,
        utc(WEDNESDAY, 14),
        organisation=organisation,
        subject="Send the memorandum of understanding",
    )

    digest_at(run_job, now)

    (message,) = digests()
    text = message.body_text.replace(f"/organisations/{organisation.id}", "/organisations/ID")
    snapshot = (SNAPSHOTS / "daily_digest.en.txt").read_text(encoding="utf-8")
    assert text.rstrip("\n") == snapshot.rstrip("\n")


@pytest.mark.committed  # the job rolls back for real, which a test transaction cannot host
def test_one_officers_failure_does_not_hold_up_the_others(
    app, empty_database, run_job, monkeypatch, caplog
):
    with app.app_context():
        first, second = make_user(Role.OFFICER), make_user(Role.OFFICER)
        for user in (first, second):
            make_follow_up(user, utc(WEDNESDAY, 6) - dt.timedelta(days=1))
        first_id, second_id = first.id, second.id
    real_my_day = jobs.my_day

    def my_day(user, now):
        if user.id == first_id:
            raise RuntimeError("broken data")
        return real_my_day(user, now)

    monkeypatch.setattr(jobs, "my_day", my_day)
    run = digest_at(run_job, utc(WEDNESDAY, 7))

    assert (run.sent, run.failed) == (1, 1)
    assert f"daily digest for user {first_id} failed" in caplog.text
    with app.app_context():
        first, second = db.session.get(User, first_id), db.session.get(User, second_id)
        assert (len(digests(first)), len(digests(second))) == (0, 1)
        assert last_digest_on(first) is None  # its claim was rolled back: tried again next run
    monkeypatch.setattr(jobs, "my_day", real_my_day)
    assert digest_at(run_job, utc(WEDNESDAY, 7, 15)).sent == 1
    with app.app_context():
        assert len(digests(db.session.get(User, first_id))) == 1
