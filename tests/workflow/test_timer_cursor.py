"""Timers walk all due records, even behind many whose guards keep failing."""

from __future__ import annotations

import datetime as dt

from crm.db import utcnow
from crm.extensions import db
from crm.partnerships.service import start_partnership
from crm.workflow.service import fire_due_timers
from tests.factories import make_organisation, make_user


def test_timers_reach_due_records_behind_many_that_stay_blocked(ctx):
    from crm.activities.models import ActivityKind
    from tests.factories import make_activity

    owner = make_user("officer")
    now = utcnow()
    blocked = []
    for _ in range(3):
        organisation = make_organisation(owner)
        # A recent call keeps these out of "dormant": their guard fails on every run.
        make_activity(
            organisation, owner, kind=ActivityKind.CALL, occurred_at=now - dt.timedelta(days=1)
        )
        partnership = start_partnership(organisation, owner)
        partnership.state = "approached"
        partnership.state_entered_at = now - dt.timedelta(days=120)
        blocked.append(partnership)
    quiet = start_partnership(make_organisation(owner), owner)
    quiet.state = "approached"
    quiet.state_entered_at = now - dt.timedelta(days=120)
    db.session.commit()

    run = fire_due_timers(now, limit=2)  # smaller than the blocked ones ahead of it
    db.session.commit()

    assert (run.fired, run.skipped) == (1, 3)
    assert quiet.state == "dormant"
    assert {p.state for p in blocked} == {"approached"}
