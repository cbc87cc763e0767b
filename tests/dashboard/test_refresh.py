"""Refreshing the dashboard's numbers: idempotent, the page shows the last refresh until the
next, the scheduler's job and the CLI run it, old refresh records go, and two refreshes at
once leave one set of facts."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.core.jobs import JOBS
from crm.dashboard import service
from crm.dashboard.jobs import refresh_dashboard
from crm.dashboard.models import DashboardRefresh, dashboard_facts
from crm.extensions import db
from crm.partnerships.models import Partnership
from crm.workflow.service import forget_verified_snapshots
from tests.dashboard.numbers_support import (
    NOW,
    PERIOD,
    at,
    dashboard,
    partnership,
    placement,
    programme_with_outcomes,
)
from tests.factories import make_learner, make_organisation


def facts() -> Counter[tuple[Any, ...]]:
    """Every fact row, as a multiset."""
    return Counter(tuple(row) for row in db.session.execute(sa.select(dashboard_facts)))


def refreshes() -> list[dt.datetime]:
    return list(
        db.session.scalars(
            sa.select(DashboardRefresh.computed_at).order_by(DashboardRefresh.computed_at)
        )
    )


@pytest.fixture
def numbers_some_records(ctx, officer):
    partnership(officer, at("2026-11-03"), ("identified", "researched"))
    programme = programme_with_outcomes()
    placement(
        make_learner(officer, programme),
        dt.date(2026, 12, 1),
        ("requested", "matched"),
        organisation=make_organisation(officer),
    )
    return officer


def test_refreshing_twice_gives_the_same_facts(numbers_some_records):
    first = service.refresh(NOW)
    once = facts()
    second = service.refresh(NOW + dt.timedelta(minutes=10))
    assert facts() == once
    assert first.facts == second.facts == sum(once.values()) > 0
    assert refreshes() == [NOW, NOW + dt.timedelta(minutes=10)]
    stored = db.session.scalars(sa.select(DashboardRefresh)).all()
    assert {row.facts for row in stored} == {first.facts}
    assert stored[0].stages["partnership"][0] == "identified"
    assert all(row.seconds >= 0 for row in stored)


def test_the_page_shows_the_last_refresh_until_the_next(numbers_some_records):
    officer = numbers_some_records
    before = dashboard()
    partnership(officer, at("2027-01-03"))

    unchanged = service.build_dashboard(PERIOD, NOW + dt.timedelta(minutes=3))
    assert unchanged.partnership_funnel.started == before.partnership_funnel.started == 1
    assert unchanged.computed_at == NOW

    later = NOW + dt.timedelta(minutes=10)
    refreshed = dashboard(now=later)
    assert refreshed.partnership_funnel.started == 2
    assert refreshed.computed_at == later


def test_refresh_forgets_records_that_are_gone(numbers_some_records):
    officer = numbers_some_records
    assert dashboard().partnership_funnel.started == 1
    db.session.execute(sa.delete(Partnership.__table__).where(Partnership.owner_id == officer.id))
    assert dashboard(now=NOW + dt.timedelta(minutes=10)).partnership_funnel.started == 0


def test_old_refresh_records_are_deleted_after_a_week(numbers_some_records):
    service.refresh(NOW - dt.timedelta(days=8))
    service.refresh(NOW - dt.timedelta(days=6))
    service.refresh(NOW)
    assert refreshes() == [NOW - dt.timedelta(days=6), NOW]


def test_the_scheduler_refreshes_every_ten_minutes(numbers_some_records):
    (job,) = [job for job in JOBS if job.name == "dashboard_refresh"]
    assert job.every == dt.timedelta(minutes=10)
    assert job.function is refresh_dashboard

    run = job.function()

    assert run.facts == sum(facts().values()) > 0
    assert run.milliseconds >= 0
    assert len(refreshes()) == 1


def test_the_command_refreshes_and_says_how_much(app, numbers_some_records):
    result = app.test_cli_runner().invoke(args=["crm", "dashboard", "refresh"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Dashboard refreshed: ")
    assert " facts in " in result.output
    assert len(refreshes()) == 1
    assert sum(facts().values()) > 0


def test_the_scheduler_command_runs_the_job_once(app, numbers_some_records):
    result = app.test_cli_runner().invoke(
        args=["crm", "scheduler", "--once", "--job", "dashboard_refresh"]
    )
    assert result.exit_code == 0, result.output
    assert len(refreshes()) == 1


# --- two at once -----------------------------------------------------------------------------


@pytest.fixture
def numbers_committed_records(app: Flask, empty_database: None) -> Iterator[None]:
    with app.test_request_context("/"):
        from tests.factories import make_user

        partnership(make_user(), at("2026-11-03"), ("identified", "researched"))
        db.session.commit()
    yield
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


@pytest.mark.committed
def test_two_refreshes_at_once_leave_one_set_of_facts(app, numbers_committed_records):
    start = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            with app.app_context():
                start.wait()
                outcomes[index] = refresh_dashboard(NOW + dt.timedelta(seconds=index))
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcomes[index] = exc
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
    with app.app_context():
        rows = facts()
        assert sum(rows.values()) == outcomes[0].facts == outcomes[1].facts
        assert len(refreshes()) == 2
        db.session.rollback()
