"""Due reminders: one e-mail per due follow-up, to its assignee, in their language and time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.followups.jobs import send_due_reminders
from crm.followups.models import FollowUp, FollowUpStatus
from crm.outbox.jobs import deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import make_contact, make_organisation, make_user
from tests.scheduler.support import make_follow_up, reminded_ids, reminders_per_follow_up
from tests.workflow.support import make_partnership

SNAPSHOTS = Path(__file__).parent / "snapshots"
HOUR = dt.timedelta(hours=1)


def reminders() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "followup_reminder")
            .order_by(OutboxMessage.id)
        )
    )


def written_reminders(run_job) -> list[OutboxMessage]:
    """The reminders once delivered (to the development mailbox), their bodies written then."""
    run_job(deliver_outbox)
    return reminders()


def test_each_due_follow_up_gets_exactly_one_reminder(ctx, officer, run_job):
    now = utcnow()
    organisation = make_organisation(officer)
    due = [
        make_follow_up(officer, now - 2 * HOUR, organisation=organisation),
        make_follow_up(officer, now - dt.timedelta(minutes=1), organisation=organisation),
    ]
    later = make_follow_up(officer, now + HOUR, organisation=organisation)
    make_follow_up(officer, now - HOUR, organisation=organisation, status=FollowUpStatus.DONE)
    make_follow_up(officer, now - HOUR, organisation=organisation, status=FollowUpStatus.CANCELLED)

    run = run_job(send_due_reminders)

    assert (run.reminded, run.batches) == (2, 1)
    assert reminders_per_follow_up() == {due[0].id: 1, due[1].id: 1}
    assert reminded_ids() == {due[0].id, due[1].id}
    for message in reminders():
        assert message.to_email == officer.email
        assert message.user_id == officer.id
        assert message.organisation_id == organisation.id
        assert message.status == OutboxStatus.PENDING

    assert run_job(send_due_reminders).reminded == 0
    assert reminders_per_follow_up() == {due[0].id: 1, due[1].id: 1}

    with time_machine.travel(now + 2 * HOUR, tick=False):
        assert run_job(send_due_reminders).reminded == 1
    assert reminders_per_follow_up() == {due[0].id: 1, due[1].id: 1, later.id: 1}


def test_a_snoozed_follow_up_is_reminded_again_when_due_again(ctx, officer, run_job):
    now = utcnow()
    follow_up = make_follow_up(officer, now - HOUR)
    run_job(send_due_reminders)
    # Snoozing moves the due time and resets the claim (crm.followups.service.snooze_follow_up).
    follow_up = db.session.get(FollowUp, follow_up.id)
    follow_up.due_at = now + dt.timedelta(days=1)
    follow_up.reminder_sent_at = None
    db.session.commit()

    assert run_job(send_due_reminders).reminded == 0
    with time_machine.travel(now + dt.timedelta(days=1, minutes=1), tick=False):
        assert run_job(send_due_reminders).reminded == 1
    assert reminders_per_follow_up() == {follow_up.id: 2}


def test_batches_are_claimed_until_nothing_is_due(ctx, officer, run_job):
    organisation = make_organisation(officer)
    follow_ups = [
        make_follow_up(officer, utcnow() - n * HOUR, organisation=organisation) for n in range(1, 6)
    ]
    run = run_job(send_due_reminders, batch_size=2)
    assert (run.reminded, run.batches) == (5, 3)
    assert reminders_per_follow_up() == {f.id: 1 for f in follow_ups}


def test_follow_ups_of_deactivated_accounts_are_claimed_without_mail(ctx, officer, run_job):
    gone = make_user(Role.OFFICER, is_active_account=False)
    follow_up = make_follow_up(gone, utcnow() - HOUR, organisation=make_organisation(officer))
    run = run_job(send_due_reminders)
    assert (run.reminded, run.skipped_inactive) == (0, 1)
    assert reminders() == []
    assert reminded_ids() == {follow_up.id}


def test_reminder_is_in_the_assignees_language_and_time_zone(ctx, officer, run_job):
    german = make_user(Role.OFFICER, name="Greta Groß", locale="de", timezone="Europe/Berlin")
    american = make_user(Role.OFFICER, name="Amy Adams", locale="en", timezone="America/New_York")
    organisation = make_organisation(officer, legal_name="Kölner Metallbau GmbH")
    partnership = make_partnership(officer, organisation=organisation)
    due = dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.UTC)
    workflow_subject = "Follow up the first approach and book a needs-analysis meeting"
    for user in (german, american):
        make_follow_up(
            user,
            due,
            organisation=organisation,
            subject=workflow_subject,
            created_by_rule="partnership.approach",
            record_type="partnership",
            record_id=partnership.id,
        )

    with time_machine.travel(due + HOUR, tick=False):
        run_job(send_due_reminders)

    to_german, to_american = written_reminders(run_job)
    assert to_german.language == "de"
    german_subject = (
        "Erste Kontaktaufnahme nachfassen und einen Termin zur Bedarfsanalyse vereinbaren"
    )
    assert german_subject in to_german.subject
    assert not to_german.subject.startswith("Follow-up due")  # the template is translated too
    assert german_subject in to_german.body_text
    assert "Mi., 15. Jan. 2025, 09:30" in to_german.body_text
    assert "Deutschland (Berlin)" in to_german.body_text
    assert "Partnerschaft mit Kölner Metallbau GmbH" in to_german.body_text
    assert '<html lang="de">' in to_german.body_html

    assert to_american.language == "en"
    assert to_american.subject == f"Follow-up due: {workflow_subject}"
    assert "Wed, 15 Jan 2025, 03:30 (United States (New York) Time)" in to_american.body_text
    assert "Partnership with Kölner Metallbau GmbH" in to_american.body_text


@pytest.mark.parametrize("record_type", ["organisation", "contact", "partnership"])
def test_reminder_links_to_its_record_with_an_absolute_address(ctx, officer, run_job, record_type):
    organisation = make_organisation(officer)
    record_id = {
        "organisation": lambda: organisation.id,
        "contact": lambda: make_contact(organisation).id,
        "partnership": lambda: make_partnership(officer, organisation=organisation).id,
    }[record_type]()
    make_follow_up(
        officer,
        utcnow() - HOUR,
        organisation=organisation,
        record_type=record_type,
        record_id=record_id,
    )
    run_job(send_due_reminders)

    (message,) = written_reminders(run_job)
    link = f"https://crm.example.test/{record_type}s/{record_id}"
    assert f"Open the record: {link}\n" in message.body_text
    assert f'href="{link}"' in message.body_html


def test_reminder_text_matches_the_snapshot(ctx, run_job):
    olga = make_user(Role.OFFICER, name="Olga Officer", locale="en", timezone="Europe/Brussels")
    organisation = make_organisation(olga, legal_name="Rheinwerk Tools GmbH")
    follow_up = make_follow_up(
        olga,
        dt.datetime(2025, 3, 14, 8, 30, tzinfo=dt.UTC),
        organisation=organisation,
        subject="Call Mrs Weber about the autumn placements",
    )
    follow_up.notes = "She prefers mornings."
    db.session.commit()
    with time_machine.travel(dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC), tick=False):
        run_job(send_due_reminders)

    (message,) = written_reminders(run_job)
    text = message.body_text.replace(f"/organisations/{organisation.id}", "/organisations/ID")
    snapshot = (SNAPSHOTS / "followup_reminder.en.txt").read_text(encoding="utf-8")
    assert message.subject == "Follow-up due: Call Mrs Weber about the autumn placements"
    assert text.rstrip("\n") == snapshot.rstrip("\n")
