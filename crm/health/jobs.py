"""Scheduler jobs: recompute stale scores every minute, and every score once a day.

Both claim their partnerships (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock
the transaction began with), recompute them in batches and commit each batch, so a second
scheduler does no harm and no lock is held for long. Being catch-up jobs over due rows, they
can run at start-up and on any interval: "nightly" is "every partnership whose score was last
computed before today began (the provider's day)", checked every hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from crm.db import utcnow
from crm.extensions import db
from crm.health.service import RecomputeRun, provider_today, recompute, recompute_ids
from crm.partnerships.models import Partnership

STALE_BATCH = 500
NIGHTLY_BATCH = 2_000
# A run stops after this many batches; the next run (a minute later) goes on.
MAX_STALE_BATCHES = 20


@dataclass
class HealthRun:
    """What a job did (counts only, for the scheduler's log)."""

    scored: int = 0
    unscored: int = 0
    history_rows: int = 0
    batches: int = 0

    def add(self, run: RecomputeRun) -> None:
        self.scored += run.scored
        self.unscored += run.unscored
        self.history_rows += run.history_rows
        self.batches += 1


def _claim(condition: sa.ColumnElement[bool], order: Any, limit: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Partnership.id)
            .where(condition)
            .order_by(order, Partnership.id)
            .limit(limit)
            # PostgreSQL: rows another scheduler holds are skipped, not waited for. SQLite has
            # no row locks: this transaction began IMMEDIATE and holds the write lock.
            .with_for_update(skip_locked=True)
        )
    )


def recompute_stale(now: dt.datetime | None = None) -> HealthRun:
    """Recompute the partnerships a change marked stale, a batch per transaction."""
    total = HealthRun()
    for _batch in range(MAX_STALE_BATCHES):
        started = now or utcnow()
        ids = _claim(
            Partnership.health_stale_at <= started, Partnership.health_stale_at, STALE_BATCH
        )
        if ids:
            total.add(recompute_ids(ids, now=started, stale_before=started))
        db.session.commit()
        if len(ids) < STALE_BATCH:
            break
    return total


def start_of_provider_day(now: dt.datetime) -> dt.datetime:
    """When the provider's current day began, in UTC."""
    zone = ZoneInfo(str(current_app.config.get("CRM_DISPLAY_TIMEZONE") or "UTC"))
    midnight = dt.datetime.combine(provider_today(now), dt.time(0), zone)
    return midnight.astimezone(dt.UTC)


def recompute_nightly(now: dt.datetime | None = None) -> HealthRun:
    """Recompute every score not yet computed today, a batch per transaction.

    Time alone changes scores (days without contact, days past an SLA, a memorandum
    nearing its expiry), and each run records the day's score in the history.
    """
    total = HealthRun()
    while True:
        moment = now or utcnow()
        due = sa.or_(
            Partnership.health_computed_at.is_(None),
            Partnership.health_computed_at < start_of_provider_day(moment),
        )
        ids = _claim(due, Partnership.id, NIGHTLY_BATCH)
        if ids:
            total.add(recompute_ids(ids, now=moment))
        db.session.commit()
        if len(ids) < NIGHTLY_BATCH:
            return total


def recompute_all(now: dt.datetime | None = None) -> HealthRun:
    """Recompute every partnership's score in one pass (the CLI and the demo), uncommitted."""
    total = HealthRun()
    total.add(recompute(now=now))
    return total
