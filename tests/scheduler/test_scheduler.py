"""The scheduler process: its jobs, their settings, start-up runs, late runs, clean stops."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app, has_app_context, has_request_context

from crm.config import PROJECT_ROOT
from crm.core.jobs import JOBS, ScheduledJob
from crm.core.scheduler import create_scheduler
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from tests.factories import make_organisation, make_user
from tests.scheduler.support import make_follow_up, reminders_per_follow_up

EXPECTED_JOBS = {
    "outbox_delivery": dt.timedelta(seconds=15),
    "due_reminders": dt.timedelta(minutes=1),
    "daily_digest": dt.timedelta(minutes=15),
    "link_reminders": dt.timedelta(minutes=5),
    "expired_links": dt.timedelta(minutes=5),
    "workflow_timers": dt.timedelta(hours=1),
    "clean_up": dt.timedelta(days=1),
    "health_stale": dt.timedelta(minutes=1),
    "health_nightly": dt.timedelta(hours=1),
    "dashboard_refresh": dt.timedelta(minutes=10),
}


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@contextmanager
def running(scheduler: BaseScheduler) -> Iterator[BaseScheduler]:
    """Run a blocking scheduler in a thread for the duration of the block."""
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    assert wait_for(lambda: scheduler.running, 5)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)
        assert not thread.is_alive()


class Recorder:
    """Job functions that note when they ran and in which contexts."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, bool, bool, str]] = []

    def job(self, name: str) -> Callable[[], None]:
        def run() -> None:
            self.runs.append((name, has_app_context(), has_request_context(), current_app.name))

        return run

    def names(self) -> Counter[str]:
        return Counter(name for name, *_rest in self.runs)


def recorded(recorder: Recorder, jobs: list[ScheduledJob] = JOBS) -> list[ScheduledJob]:
    return [dataclasses.replace(job, function=recorder.job(job.name)) for job in jobs]


def test_jobs_are_declared_once_with_their_intervals():
    assert {job.name: job.every for job in JOBS} == EXPECTED_JOBS
    assert len(JOBS) == len(EXPECTED_JOBS)


def test_every_job_is_coalesced_single_instance_with_a_generous_grace_time(app):
    scheduler = create_scheduler(app)
    before = dt.datetime.now(dt.UTC)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(EXPECTED_JOBS)
    for name, every in EXPECTED_JOBS.items():
        job = jobs[name]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == every
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.misfire_grace_time >= max(every.total_seconds(), 3600)
        assert job.next_run_time <= before  # due at once: the catch-up run at start-up


def test_each_job_runs_once_at_start_in_an_app_context_without_a_request(app):
    recorder = Recorder()
    with running(create_scheduler(app, recorded(recorder))) as scheduler:
        assert wait_for(lambda: len(recorder.runs) >= len(JOBS))
        time.sleep(0.2)  # and not again right away
        assert isinstance(scheduler._lookup_jobstore("default"), MemoryJobStore)
    assert recorder.names() == Counter(dict.fromkeys(EXPECTED_JOBS, 1))
    assert {(in_app, in_request, name) for _n, in_app, in_request, name in recorder.runs} == {
        (True, False, app.name)
    }


def hourly_job(recorder: Recorder) -> ScheduledJob:
    (job,) = recorded(recorder, [job for job in JOBS if job.name == "workflow_timers"])
    return job


def test_a_late_run_still_runs_within_the_grace_time(app):
    recorder = Recorder()
    job = hourly_job(recorder)
    scheduler = create_scheduler(app, [job])
    # As if the process had been busy or suspended: the hourly run starts ten minutes late.
    # (Later than a whole interval, coalescing would move the run to the latest due time.)
    scheduler.modify_job(job.name, next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    with running(scheduler):
        assert wait_for(lambda: recorder.names()[job.name] == 1, 5)


def test_apschedulers_default_grace_would_skip_that_late_run(app):
    """The counter-test: with a one-second grace time the same late run is silently missed."""
    recorder = Recorder()
    job = hourly_job(recorder)
    scheduler = create_scheduler(app, [job])
    scheduler.modify_job(
        job.name,
        next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
        misfire_grace_time=1,
    )
    missed = threading.Event()
    scheduler.add_listener(lambda _event: missed.set(), EVENT_JOB_MISSED)
    with running(scheduler):
        assert missed.wait(5)
    assert recorder.runs == []


@pytest.mark.committed
def test_a_failing_job_is_logged_without_its_values_and_the_others_still_run(
    app, empty_database, caplog
):
    recorder = Recorder()

    def broken() -> None:
        db.session.execute(
            sa.text("UPDATE nowhere SET x = 1 WHERE email = :email"),
            {"email": "secret.person@example.test"},
        )

    delivery = [job for job in JOBS if job.name == "outbox_delivery"]
    jobs = [ScheduledJob("broken", broken, dt.timedelta(hours=1)), *recorded(recorder, delivery)]
    with (
        caplog.at_level(logging.INFO, logger="crm.core.scheduler"),
        running(create_scheduler(app, jobs)),
    ):
        assert wait_for(lambda: recorder.names()["outbox_delivery"] == 1)
        assert wait_for(lambda: "job broken failed" in caplog.text)
    assert "nowhere" in caplog.text  # the statement and the traceback are there
    assert "secret.person" not in caplog.text


@pytest.mark.committed
def test_the_real_jobs_run_at_start_and_log_counts_only(app, empty_database, caplog):
    with app.app_context():
        officer = make_user(email="olga@example.test")
        follow_up_id = make_follow_up(
            officer, utcnow() - dt.timedelta(hours=1), organisation=make_organisation(officer)
        ).id

    with (
        caplog.at_level(logging.DEBUG, logger="crm.core.scheduler"),
        running(create_scheduler(app)),
    ):
        assert wait_for(lambda: caplog.text.count("job ") >= len(JOBS))

    done = [r.getMessage() for r in caplog.records if r.name == "crm.core.scheduler"]
    assert sorted(message.split()[1] for message in done) == sorted(EXPECTED_JOBS)
    assert any(m.startswith("job due_reminders done") and "reminded=1" in m for m in done)
    assert "olga@example.test" not in caplog.text
    with app.app_context():
        assert reminders_per_follow_up() == {follow_up_id: 1}
        reminded = db.session.scalar(
            sa.select(FollowUp.reminder_sent_at).where(FollowUp.id == follow_up_id)
        )
        assert reminded is not None


# --- the command ----------------------------------------------------------------------------


def test_the_scheduler_command_exists(app):
    result = app.test_cli_runner().invoke(args=["crm", "scheduler", "--help"])
    assert result.exit_code == 0, result.output
    assert "Run the scheduled jobs in this process until stopped" in result.output
    assert "--once" in result.output


def test_the_command_runs_chosen_jobs_once(app, ctx):
    officer = make_user()
    follow_up = make_follow_up(officer, utcnow() - dt.timedelta(hours=1))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["crm", "scheduler", "--once", "--job", "due_reminders"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert reminders_per_follow_up() == {follow_up.id: 1}
    wrong = runner.invoke(args=["crm", "scheduler", "--once", "--job", "nope"])
    assert wrong.exit_code == 2
    assert "unknown job nope" in wrong.output


def _environment(app: Flask) -> dict[str, str]:
    return {
        **os.environ,
        "CRM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PYTHONUNBUFFERED": "1",
    }


def start_scheduler_process(app: Flask, sigint: Any = signal.SIG_DFL) -> subprocess.Popen[str]:
    """`flask --app wsgi crm scheduler`, started with SIGINT as given; returns once it runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "scheduler"],
        cwd=PROJECT_ROOT,
        env=_environment(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Whatever the test run inherited (e.g. a SIGINT ignored by `make test &`).
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "scheduler started" in line:
            break
    time.sleep(1)  # the start-up runs of the jobs
    return process


def stop(process: subprocess.Popen[str], stop_signal: signal.Signals) -> str:
    """Send the signal; the rest of the output once the process has ended."""
    try:
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return output


@pytest.mark.committed
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_scheduler_process_stops_cleanly(app, empty_database, stop_signal):
    process = start_scheduler_process(app)
    log = stop(process, stop_signal)
    assert process.returncode == 0, log
    assert f"scheduler stopping on {stop_signal.name}" in log
    assert log.rstrip().endswith("scheduler stopped"), log
    assert "Traceback" not in log


@pytest.mark.committed
def test_a_sigint_ignored_by_the_parent_stays_ignored(app, empty_database):
    """As in `make run`, where the shell starts the scheduler with `&` and stops it by SIGTERM."""
    process = start_scheduler_process(app, sigint=signal.SIG_IGN)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert process.poll() is None
    log = stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert "scheduler stopping on SIGTERM" in log


def test_the_web_application_never_loads_the_scheduler(app):
    code = (
        "import sys; from wsgi import app; "
        "loaded = [m for m in sys.modules if m.startswith(('apscheduler', 'crm.core.sched'))];"
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=_environment(app),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
