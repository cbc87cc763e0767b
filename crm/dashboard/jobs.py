"""The scheduler's job: aggregate the dashboard's numbers again, every 10 minutes.

A catch-up job like the others: it takes no arguments, rebuilds every fact as at now and
commits, so running it late, twice, or from two schedulers at once does no harm (a second
rebuild waits for the first: see crm.dashboard.facts).
"""

from __future__ import annotations

import datetime as dt

from crm.dashboard.facts import RefreshRun
from crm.dashboard.service import refresh
from crm.db import utcnow
from crm.extensions import db


def refresh_dashboard(now: dt.datetime | None = None) -> RefreshRun:
    """Rebuild the dashboard's facts, commit, then tidy the table up."""
    run = refresh(now or utcnow())
    db.session.commit()
    tidy_facts()
    return run


def tidy_facts() -> None:
    """PostgreSQL: vacuum and analyze the facts just rewritten.

    Every refresh leaves the previous facts behind as dead rows: vacuumed at once, they do
    not pile up between autovacuum's visits (readers would step over them in the indexes),
    and the planner knows the new table. Outside any transaction, as VACUUM must be; a table
    another refresh is writing is skipped (its own job tidies up after it).
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (SKIP_LOCKED, ANALYZE) dashboard_facts")
