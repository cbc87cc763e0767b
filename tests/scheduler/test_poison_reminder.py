"""A follow-up whose reminder cannot be queued does not hold up the others."""

from __future__ import annotations

import datetime as dt

from crm.db import utcnow
from crm.followups import jobs
from tests.factories import make_organisation, make_user
from tests.scheduler.support import make_follow_up, reminded_ids, reminders_per_follow_up


def test_one_failing_reminder_is_set_aside_and_the_rest_are_sent(ctx, monkeypatch):
    officer = make_user("officer")
    organisation = make_organisation(officer)
    now = utcnow()
    follow_ups = [
        make_follow_up(officer, now - dt.timedelta(hours=5 - i), organisation=organisation)
        for i in range(5)
    ]
    poison = follow_ups[2]
    real_values = jobs._reminder_values

    def reminder_values(due, *args):
        if due.id == poison.id:
            raise RuntimeError("cannot render this one")
        return real_values(due, *args)

    monkeypatch.setattr(jobs, "_reminder_values", reminder_values)

    run = jobs.send_due_reminders(now, batch_size=3)

    assert run.failed == 1
    assert run.reminded == 4
    sent = reminders_per_follow_up()
    assert set(sent) == {f.id for f in follow_ups} - {poison.id}
    assert set(sent.values()) == {1}
    # Set aside, so it does not fail every minute; the log names it.
    assert reminded_ids() == {f.id for f in follow_ups}
    # Nothing is left to do on the next run.
    assert jobs.send_due_reminders(now, batch_size=3).reminded == 0
