"""The link jobs with time moved on: reminders at 3 and 7 days, each once; the officer's
follow-up when a link expires unanswered, once; and the clean-up of rate-limit windows."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from crm.core import ratelimit
from crm.core.jobs import clean_up_expired
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.links import jobs
from crm.links import service as links
from crm.links.jobs import LinkRun, handle_expired_links, send_link_reminders
from crm.links.models import ActionLink, LinkPurpose, RateLimitWindow
from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage
from crm.workflow.service import fire
from tests.core.helpers import count_rows
from tests.placements.support import AUTUMN
from tests.portal.support import Sent, newest_link

DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def link_emails(link: ActionLink) -> list[OutboxMessage]:
    """The e-mails that carried this link (the invitation and its reminders), oldest first."""
    db.session.expire_all()
    messages = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == f"link_{link.purpose.value}")
        .order_by(OutboxMessage.id)
    )
    return [m for m in messages if (m.template_values or {}).get(outbox.LINK_VALUE) == link.id]


def written(message: OutboxMessage) -> str:
    """The text body as the deliverer writes it (with the link)."""
    text, _html = outbox.render_bodies(
        message.kind,
        message.language,
        message.to_name,
        message.subject,
        message.template_values or {},
        reveal_secrets=True,
    )
    return text


def at(moment: dt.datetime, run_job: Any, job: Any) -> LinkRun:
    with time_machine.travel(moment, tick=False):
        result = run_job(job)
    assert isinstance(result, LinkRun)
    return result


def reread(link: ActionLink) -> ActionLink:
    db.session.expire_all()
    found = links.get_link(link.id)
    assert found is not None
    return found


def second_sent(sent: Sent) -> Sent:
    """Another placement of the same learner (in autumn) awaiting the same employer."""
    world = sent.world
    placement = world.placement(
        "matched",
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
        supervisor_id=world.supervisor.id,
        role_description="Maintains the press line.",
        learning_objectives="Works safely.",
        hours_target=80,
    )
    fire(placement, "ask_employer", user=world.officer)
    db.session.commit()
    link = newest_link(placement, LinkPurpose.CONFIRM_PLACEMENT)
    return Sent(world, placement, link, links.token_for(link))


# --- reminders -------------------------------------------------------------------------------


def test_reminders_go_out_at_day_3_and_day_7_each_exactly_once(sent, run_job):
    start = sent.link.created_at
    (invitation,) = link_emails(sent.link)

    assert at(start + 3 * DAY - MINUTE, run_job, send_link_reminders).handled == 0
    assert at(start + 3 * DAY, run_job, send_link_reminders) == LinkRun(handled=1)
    assert at(start + 3 * DAY + MINUTE, run_job, send_link_reminders) == LinkRun()
    assert at(start + 5 * DAY, run_job, send_link_reminders) == LinkRun()
    link = reread(sent.link)
    assert (link.reminders_sent, link.last_sent_at) == (1, start + 3 * DAY)

    assert at(start + 7 * DAY + MINUTE, run_job, send_link_reminders) == LinkRun(handled=1)
    for days in (8, 10, 13):
        assert at(start + days * DAY, run_job, send_link_reminders) == LinkRun()

    emails = link_emails(sent.link)
    assert len(emails) == 3
    assert reread(sent.link).reminders_sent == 2
    first, second = emails[1:]
    for reminder in (first, second):
        assert reminder.subject == "Reminder: please confirm a placement for Lena"
        assert reminder.to_email == "sven@kern.test"
        # The same link: the token is derived again, not stored and not renewed.
        assert f"/l/confirm/{sent.placement.id}/{sent.token}" in written(reminder)
        assert sent.token not in repr(reminder.template_values)
    assert invitation.subject == "Please confirm a placement for Lena"
    assert "We have not yet heard from you" in written(first)


def test_a_scheduler_back_after_both_days_sends_one_reminder_not_two(sent, run_job):
    start = sent.link.created_at
    assert at(start + 8 * DAY, run_job, send_link_reminders) == LinkRun(handled=1)
    assert at(start + 8 * DAY + MINUTE, run_job, send_link_reminders) == LinkRun()
    assert at(start + 12 * DAY, run_job, send_link_reminders) == LinkRun()
    assert len(link_emails(sent.link)) == 2
    assert reread(sent.link).reminders_sent == 2


def test_no_reminder_once_the_employer_has_answered(sent, run_job):
    start = sent.link.created_at
    assert links.spend(sent.link, "confirm", ip="203.0.113.5", user_agent="Phone")
    db.session.commit()
    assert at(start + 3 * DAY, run_job, send_link_reminders) == LinkRun()
    assert at(start + 7 * DAY, run_job, send_link_reminders) == LinkRun()
    assert len(link_emails(sent.link)) == 1


def test_no_reminder_after_the_officer_decided_or_withdrew(sent, run_job):
    other = second_sent(sent)
    fire(sent.placement, "confirm", user=sent.world.officer)  # on the phone
    links.withdraw(other.link, sent.world.officer)
    db.session.commit()
    assert at(sent.link.created_at + 4 * DAY, run_job, send_link_reminders) == LinkRun()
    assert len(link_emails(sent.link)) == len(link_emails(other.link)) == 1


def test_no_reminder_for_a_link_whose_details_changed(sent, run_job):
    sent.placement.hours_target += 10  # behind the service's back: the link is stale
    db.session.commit()
    start = sent.link.created_at
    # Each reminder's turn is claimed once, and nothing is sent.
    assert at(start + 4 * DAY, run_job, send_link_reminders) == LinkRun(skipped=1)
    assert at(start + 5 * DAY, run_job, send_link_reminders) == LinkRun()
    assert at(start + 8 * DAY, run_job, send_link_reminders) == LinkRun(skipped=1)
    assert at(start + 9 * DAY, run_job, send_link_reminders) == LinkRun()
    assert len(link_emails(sent.link)) == 1


def test_no_reminder_after_expiry(sent, run_job, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 2)
    link = links.send_new_link(LinkPurpose.CONFIRM_PLACEMENT, sent.placement, sent.world.officer)
    db.session.commit()
    assert link is not None
    assert at(link.created_at + 3 * DAY, run_job, send_link_reminders) == LinkRun()
    assert at(link.created_at + 7 * DAY, run_job, send_link_reminders) == LinkRun()
    assert len(link_emails(link)) == 1


def test_a_link_that_cannot_be_written_is_set_aside_and_the_others_go_out(
    sent, run_job, monkeypatch, caplog
):
    other = second_sent(sent)
    real = links.send_email

    def failing(link: ActionLink, record: Any, *, reminder: bool) -> None:
        if link.id == sent.link.id:
            raise RuntimeError("template error")
        real(link, record, reminder=reminder)

    monkeypatch.setattr(links, "send_email", failing)
    with caplog.at_level(logging.ERROR, logger="crm.links.jobs"):
        run = at(sent.link.created_at + 3 * DAY + MINUTE, run_job, send_link_reminders)

    assert run == LinkRun(handled=1, failed=1)
    assert f"action link {sent.link.id}" in caplog.text
    assert sent.token not in caplog.text and "sven@kern.test" not in caplog.text
    assert len(link_emails(other.link)) == 2
    # Set aside: not tried again minute after minute.
    monkeypatch.setattr(links, "send_email", real)
    assert at(sent.link.created_at + 8 * DAY, run_job, send_link_reminders) == LinkRun(handled=1)
    assert len(link_emails(sent.link)) == 1
    assert reread(sent.link).reminders_sent == 2


def test_the_learner_feedback_link_is_reminded_after_the_evaluation_too(evaluation_sent, run_job):
    feedback = newest_link(evaluation_sent.placement, LinkPurpose.LEARNER_FEEDBACK)
    fire(evaluation_sent.placement, "evaluate", user=evaluation_sent.world.officer)
    db.session.commit()
    run = at(feedback.created_at + 3 * DAY, run_job, send_link_reminders)
    # The employer's evaluation link closed with the evaluation; the learner's stays open.
    assert run == LinkRun(handled=1)
    assert len(link_emails(feedback)) == 2
    assert len(link_emails(evaluation_sent.link)) == 1


# --- expiry ----------------------------------------------------------------------------------


def expiry_follow_ups(sent: Sent) -> list[FollowUp]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(FollowUp).where(
                FollowUp.record_type == "placement",
                FollowUp.record_id == sent.placement.id,
                FollowUp.created_by_rule == "placement.link_expired",
            )
        )
    )


def test_an_expired_link_gives_the_officer_one_follow_up_closed_by_the_confirmation(sent, run_job):
    expires = sent.link.expires_at
    assert at(expires - MINUTE, run_job, handle_expired_links) == LinkRun()
    assert expiry_follow_ups(sent) == []

    assert at(expires + MINUTE, run_job, handle_expired_links) == LinkRun(handled=1)
    assert at(expires + 2 * MINUTE, run_job, handle_expired_links) == LinkRun()
    assert at(expires + 5 * DAY, run_job, handle_expired_links) == LinkRun()

    (follow_up,) = expiry_follow_ups(sent)
    assert follow_up.status == FollowUpStatus.OPEN
    assert follow_up.assignee_id == sent.world.officer.id
    assert follow_up.subject == "The employer did not answer the confirmation link: call them"
    assert follow_up.due_at == expires + MINUTE
    assert reread(sent.link).expiry_handled_at == expires + MINUTE

    fire(sent.placement, "confirm", user=sent.world.officer)
    db.session.commit()
    (follow_up,) = expiry_follow_ups(sent)
    assert follow_up.status == FollowUpStatus.DONE


def test_no_expiry_follow_up_for_an_answered_or_withdrawn_link(sent, run_job):
    other = second_sent(sent)
    assert links.spend(sent.link, "confirm", ip="203.0.113.5", user_agent="Phone")
    links.withdraw(other.link, sent.world.officer)
    db.session.commit()
    assert at(sent.link.expires_at + DAY, run_job, handle_expired_links) == LinkRun()
    assert count_rows(FollowUp) == 0


def test_an_expired_link_of_a_placement_that_moved_on_is_claimed_without_a_follow_up(sent, run_job):
    # The record left the link's state without the link being closed (as if by an older
    # version): nobody needs chasing, and the link is not looked at again.
    sent.placement.state = "confirmed"
    db.session.commit()
    assert at(sent.link.expires_at + DAY, run_job, handle_expired_links) == LinkRun(skipped=1)
    assert at(sent.link.expires_at + 2 * DAY, run_job, handle_expired_links) == LinkRun()
    assert count_rows(FollowUp) == 0


# --- clean-up --------------------------------------------------------------------------------


def test_the_clean_up_forgets_rate_limit_windows_older_than_a_day(ctx, run_job):
    rate = ratelimit.Rate(30, 60)
    now = utcnow()
    for ago in (3 * DAY, DAY + 2 * MINUTE, DAY - 2 * MINUTE, MINUTE):
        ratelimit.hit("link-pages", "203.0.113.7", rate, now - ago)
    db.session.commit()

    with time_machine.travel(now, tick=False):
        run = run_job(clean_up_expired)

    assert run.rate_limit_windows == 2
    assert count_rows(RateLimitWindow) == 2
    with time_machine.travel(now, tick=False):
        assert run_job(clean_up_expired).rate_limit_windows == 0


@pytest.mark.parametrize("job", [send_link_reminders, handle_expired_links])
def test_a_run_with_nothing_due_does_nothing(ctx, run_job, job):
    assert run_job(job) == LinkRun()
    assert jobs.reminders_due(utcnow(), utcnow() + 30 * DAY) == 2
