"""The scheduler process: `flask --app wsgi crm scheduler` runs the jobs of crm.core.jobs.

It is a process of its own, never part of the web application: create_app does not import
this module, so gunicorn workers cannot start it. The database is the truth: jobs are
kept in memory only (a job store must never be shared by several schedulers), and since
every job catches up on whatever is due, each one runs once at start-up, which covers
everything missed while the scheduler was down, then on its interval. Late runs coalesce
into one and still run within a generous grace time (APScheduler's default of one second
would silently skip a job that starts a little late).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from crm.core.jobs import JOBS, ScheduledJob
from crm.extensions import db

log = logging.getLogger(__name__)

# A run may start this late and still run: at least an hour, and for a daily job a day.
MINIMUM_MISFIRE_GRACE = dt.timedelta(hours=1)


def misfire_grace_seconds(job: ScheduledJob) -> int:
    """How late a run of the job may start and still run."""
    return int(max(job.every, MINIMUM_MISFIRE_GRACE).total_seconds())


def create_scheduler(app: Flask, jobs: Sequence[ScheduledJob] = JOBS) -> BlockingScheduler:
    """A scheduler (not yet started) with every job due at once, then on its interval."""
    scheduler = BlockingScheduler(
        jobstores={"default": MemoryJobStore()},
        # A thread per job: a long outbox run never delays the reminders.
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(jobs)))},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=dt.UTC,
    )
    start = dt.datetime.now(dt.UTC)
    for job in jobs:
        scheduler.add_job(
            run_job,
            trigger=IntervalTrigger(seconds=int(job.every.total_seconds()), timezone=dt.UTC),
            args=(app, job),
            id=job.name,
            name=job.name,
            next_run_time=start,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=misfire_grace_seconds(job),
        )
    return scheduler


def run_job(app: Flask, job: ScheduledJob) -> None:
    """Run one job in its own application context and log what it did (counts only)."""
    started = time.monotonic()
    with app.app_context():
        try:
            result = job.function()
        except Exception as exc:
            db.session.rollback()
            if isinstance(exc, sa.exc.StatementError):
                exc.hide_parameters = True  # the values may be addresses or e-mail bodies
            log.exception("job %s failed after %.2f s", job.name, time.monotonic() - started)
            return
    counts = _counts(result)
    level = logging.INFO if any(counts.values()) else logging.DEBUG
    summary = " ".join(f"{name}={value}" for name, value in counts.items())
    log.log(level, "job %s done in %.2f s: %s", job.name, time.monotonic() - started, summary)


def _counts(result: object) -> dict[str, int]:
    """The whole-number fields of a job's result: counts, never addresses or tokens."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return {}
    return {
        field.name: value
        for field in dataclasses.fields(result)
        if isinstance(value := getattr(result, field.name), int) and not isinstance(value, bool)
    }


# A repeated signal within this many seconds is the same request, delivered twice by a wrapper
# (e.g. `timeout`, or a terminal signalling the whole process group); a later one insists.
REPEATED_SIGNAL_SECONDS = 2.0


def every_label(every: dt.timedelta) -> str:
    """An interval as people write it: 15 s, 1 min, 15 min, 1 h, 1 d."""
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def run_scheduler(app: Flask) -> None:
    """Run the jobs until SIGTERM or SIGINT; running jobs finish their current work first."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # missed runs still show
    scheduler = create_scheduler(app, JOBS)
    stopper: threading.Thread | None = None
    first_signal_at = 0.0

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # Only start the shutdown here: the scheduler's own locks may be held by the code
        # this signal interrupted, so another thread pauses it and waits for running jobs.
        nonlocal stopper, first_signal_at
        name = signal.Signals(signum).name
        if stopper is not None:
            if time.monotonic() - first_signal_at < REPEATED_SIGNAL_SECONDS:
                return
            # Asked again: leave now. The batch in progress is rolled back, not lost.
            log.warning("scheduler stopping at once on a repeated %s", name)
            logging.shutdown()
            os._exit(128 + signum)
        first_signal_at = time.monotonic()
        log.info("scheduler stopping on %s: waiting for running jobs", name)
        stopper = threading.Thread(target=_stop, args=(scheduler,), name="scheduler-stop")
        stopper.start()

    # A SIGINT ignored by whoever started us (e.g. `scheduler &` in a script) stays ignored.
    stop_signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        stop_signals.append(signal.SIGINT)
    previous = {sig: signal.signal(sig, request_stop) for sig in stop_signals}
    log.info(
        "scheduler started: %s",
        ", ".join(f"{job.name} every {every_label(job.every)}" for job in JOBS),
    )
    try:
        scheduler.start()  # returns once _stop has shut it down
    finally:
        if stopper is not None:
            stopper.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with app.app_context():
            db.engine.dispose()
    log.info("scheduler stopped")


def _stop(scheduler: BaseScheduler) -> None:
    """Stop starting jobs, wait for the running ones, then end the scheduler's main loop."""
    for _attempt in range(100):  # a signal during start-up: let start() finish first
        if scheduler.running:
            break
        time.sleep(0.05)
    try:
        scheduler.pause()
        scheduler.shutdown(wait=True)
    except SchedulerNotRunningError:
        pass
