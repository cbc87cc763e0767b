"""Two schedulers at the same time remind each link exactly once and make each expiry
follow-up exactly once (PostgreSQL: SKIP LOCKED, side by side; SQLite: they take turns).

These tests commit for real (marker `committed`) on an empty database that they leave empty.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.links import service as links
from crm.links.jobs import LinkRun, handle_expired_links, send_link_reminders
from crm.links.models import ActionLink
from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage
from crm.workflow import service as workflow
from tests.factories import make_user
from tests.portal.support import awaiting_employer

pytestmark = pytest.mark.committed
COUNT = 30


def arrange(app: Flask, age: dt.timedelta) -> list[int]:
    """A placement awaiting the employer with COUNT open links sent `age` ago; their ids."""
    from crm.auth.models import Role

    with app.test_request_context("/"):
        sent = awaiting_employer(make_user(Role.OFFICER, name="Olga Officer"))
        template = sent.link
        sent_at = utcnow() - age
        ids = []
        for _n in range(COUNT):
            link = ActionLink(
                **{
                    column.key: getattr(template, column.key)
                    for column in ActionLink.__table__.columns
                    if column.key not in {"id", "nonce", "token_hash"}
                }
            )
            link.nonce = secrets.token_hex(32)
            link.token_hash = links.hash_token(links.token_for(link))
            link.created_at = link.last_sent_at = sent_at
            link.expires_at = sent_at + dt.timedelta(days=14)
            db.session.add(link)
            db.session.flush()
            ids.append(link.id)
        db.session.delete(template)
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
        return ids


def side_by_side(app: Flask, job: Callable[[], LinkRun]) -> list[LinkRun]:
    """Run the job in two threads at once, each as the scheduler runs it."""
    barrier = threading.Barrier(2, timeout=30)
    results: list[LinkRun | BaseException | None] = [None, None]

    def scheduler(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                results[index] = job()
        except BaseException as exc:  # reported below, not lost in the thread
            results[index] = exc

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a scheduler hung"
    runs = [r for r in results if isinstance(r, LinkRun)]
    assert len(runs) == 2, results
    return runs


@pytest.fixture(autouse=True)
def _fresh_snapshots() -> Iterator[None]:
    """The clean-up deletes the stored definitions: make the service store them again."""
    workflow.forget_verified_snapshots()
    yield
    workflow.forget_verified_snapshots()


def test_two_schedulers_remind_each_link_exactly_once(app, empty_database):
    ids = arrange(app, dt.timedelta(days=4))

    runs = side_by_side(app, send_link_reminders)

    assert sum(run.handled for run in runs) == COUNT
    assert sum(run.failed + run.skipped for run in runs) == 0
    with app.app_context():
        per_link = Counter(
            (values or {}).get(outbox.LINK_VALUE)
            for values in db.session.scalars(sa.select(OutboxMessage.template_values))
        )
        assert per_link == dict.fromkeys(ids, 1)
        assert set(db.session.scalars(sa.select(ActionLink.reminders_sent))) == {1}


def test_two_schedulers_make_each_expiry_follow_up_exactly_once(app, empty_database):
    arrange(app, dt.timedelta(days=15))

    runs = side_by_side(app, handle_expired_links)

    assert sum(run.handled for run in runs) == COUNT
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == COUNT
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ActionLink)
                .where(ActionLink.expiry_handled_at.is_(None))
            )
            == 0
        )
