"""Exactly once, for real: two schedulers at the same time, and a scheduler killed mid-batch.

These tests commit for real (marker `committed`) on an empty database that they leave empty.
On PostgreSQL the two schedulers claim rows with FOR UPDATE SKIP LOCKED and work side by
side; on SQLite each batch is an IMMEDIATE transaction, so they take turns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.auth.models import Role, User
from crm.config import PROJECT_ROOT
from crm.db import sqlite_read_only
from crm.extensions import db
from crm.followups.jobs import ReminderRun, send_due_reminders
from crm.outbox.models import OutboxMessage
from tests.factories import make_organisation, make_user
from tests.scheduler.support import insert_due_follow_ups, reminded_ids, reminders_per_follow_up

pytestmark = pytest.mark.committed


def arrange(app: Flask, count: int) -> list[int]:
    """`count` due follow-ups over three officers, committed; their ids."""
    with app.app_context():
        users = [make_user(Role.OFFICER, locale=lang) for lang in ("en", "de", "en")]
        organisation = make_organisation(users[0])
        return insert_due_follow_ups(count, users, organisation.id)


@contextmanager
def reading(app: Flask) -> Iterator[None]:
    """An app context whose SQLite transactions do not take the write lock."""
    token = sqlite_read_only.set(True)
    try:
        with app.app_context():
            yield
    finally:
        sqlite_read_only.reset(token)


def test_two_schedulers_remind_each_of_1000_follow_ups_exactly_once(app, empty_database):
    ids = arrange(app, 1000)
    barrier = threading.Barrier(2, timeout=30)
    results: list[ReminderRun | BaseException | None] = [None, None]

    def scheduler(index: int) -> None:
        try:
            with app.app_context():  # as the scheduler runs a job: own context, own session
                barrier.wait()
                results[index] = send_due_reminders(batch_size=50)
        except BaseException as exc:  # reported below, not lost in the thread
            results[index] = exc

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a scheduler hung"
    runs = [r for r in results if isinstance(r, ReminderRun)]
    assert len(runs) == 2, results

    with app.app_context():
        assert reminders_per_follow_up() == dict.fromkeys(ids, 1)
        assert reminded_ids() == set(ids)
        postgres = db.engine.dialect.name == "postgresql"
    assert sum(run.reminded for run in runs) == 1000
    if postgres:
        # SKIP LOCKED lets both work at once rather than one waiting for the other.
        assert all(run.reminded > 0 for run in runs), runs


# The child process: the real job with a small batch, slowed down per e-mail so that the
# parent can kill it while a batch is half-queued and uncommitted.
KILLED_CHILD = """
import sys, time
from crm import create_app
from crm.followups import jobs

reminder_values = jobs._reminder_values

def slow_reminder_values(*args):
    time.sleep(0.01)
    return reminder_values(*args)

jobs._reminder_values = slow_reminder_values
app = create_app()
with app.app_context():
    jobs.send_due_reminders(batch_size=int(sys.argv[1]))
print("finished", flush=True)
"""


def test_a_scheduler_killed_mid_batch_loses_nothing_and_repeats_nothing(app, empty_database):
    ids = arrange(app, 300)
    batch_size = 10
    env = {
        **os.environ,
        "CRM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CRM_BASE_URL": "https://crm.example.test",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(batch_size)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Kill it once its first batch is committed, while it works on the next one.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            with reading(app):
                if len(reminded_ids()) >= batch_size:
                    break
            time.sleep(0.005)
        time.sleep(0.03)
        child.send_signal(signal.SIGKILL)
        _out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGKILL, err

    with reading(app):
        done = reminded_ids()
        # Whole batches only: each claimed follow-up has its one e-mail, nothing else is there.
        assert batch_size <= len(done) < len(ids)
        assert len(done) % batch_size == 0
        assert reminders_per_follow_up() == dict.fromkeys(done, 1)

    # The scheduler comes back. (On PostgreSQL the server may take a moment to notice the
    # dead connection and release its row locks; SKIP LOCKED passes over them until then.)
    reminded_after_restart = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with app.app_context():
            reminded_after_restart += send_due_reminders().reminded
            if reminded_ids() == set(ids):
                break
        time.sleep(0.1)

    with reading(app):
        assert reminders_per_follow_up() == dict.fromkeys(ids, 1)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == len(ids)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3
    assert reminded_after_restart == len(ids) - len(done)
