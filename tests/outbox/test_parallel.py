"""Two deliverers at the same moment (two schedulers started by mistake): every message is
sent exactly once.

These tests commit for real, from threads with their own application contexts, sessions
and connections, so they run outside the rolled-back transaction (marker `committed`) on an
empty database that they leave empty. On PostgreSQL the claim skips rows another deliverer
has locked (`FOR UPDATE SKIP LOCKED`); on SQLite the claims queue behind BEGIN IMMEDIATE.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.outbox import service as outbox
from crm.outbox.jobs import DeliveryRun, deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.outbox.mailserver import MailServer

pytestmark = pytest.mark.committed

MESSAGES = 400


def queue_many(app: Flask, count: int) -> set[str]:
    """`count` committed messages; their Message-IDs."""
    with app.test_request_context("/"):
        messages = [
            outbox.queue_email(kind="test_message", to_email=f"person{n}@employer.test", context={})
            for n in range(count)
        ]
        db.session.commit()
        return {m.message_id for m in messages}


def statuses(app: Flask) -> Counter[OutboxStatus]:
    with app.app_context():
        return Counter(db.session.scalars(sa.select(OutboxMessage.status)))


def test_two_deliverers_at_once_send_every_message_exactly_once(
    app, empty_database, mail_server: MailServer, monkeypatch
):
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", mail_server.url)
    expected = queue_many(app, MESSAGES)
    barrier = threading.Barrier(2, timeout=30)
    runs: list[list[DeliveryRun]] = [[], []]
    errors: list[BaseException] = []

    def deliverer(index: int) -> None:
        try:
            with app.app_context():  # as a scheduler process runs its job
                barrier.wait()
                while (run := deliver_outbox(limit=25)).claimed:
                    runs[index].append(run)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=deliverer, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a deliverer hung"
    assert not errors, errors

    received = Counter(r.message["Message-ID"] for r in mail_server.received)
    assert set(received) == expected
    assert set(received.values()) == {1}, [mid for mid, n in received.items() if n > 1]
    assert sum(run.sent for per_thread in runs for run in per_thread) == MESSAGES
    assert sum(run.claimed for per_thread in runs for run in per_thread) == MESSAGES
    assert all(runs), "one deliverer did all the work: the two did not run at once"
    assert statuses(app) == {OutboxStatus.SENT: MESSAGES}


def test_rows_another_deliverer_holds_are_skipped_not_waited_for(
    app, empty_database, mail_server: MailServer, monkeypatch
):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite serialises whole transactions")
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", mail_server.url)
    queue_many(app, 10)
    with app.app_context():
        held_ids = list(
            db.session.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id).limit(4))
        )
    locked = threading.Event()
    release = threading.Event()

    def other_deliverer() -> None:
        """Holds four due rows locked, as a deliverer in the middle of its claim would."""
        with app.app_context():
            db.session.execute(
                sa.select(OutboxMessage.id).where(OutboxMessage.id.in_(held_ids)).with_for_update()
            ).all()
            locked.set()
            release.wait(timeout=30)
            db.session.rollback()

    holder = threading.Thread(target=other_deliverer)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with app.app_context():
            run = deliver_outbox()
    finally:
        release.set()
        holder.join(timeout=30)

    assert run == DeliveryRun(claimed=6, sent=6)
    assert statuses(app) == {OutboxStatus.SENT: 6, OutboxStatus.PENDING: 4}
