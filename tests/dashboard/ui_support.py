"""Helpers for the dashboard page, export and report tests: a dashboard with hand-picked
numbers, a stand-in for build_dashboard that records the filters it was asked for, and
fixtures shared by those test modules (imported by each, as tests/health/conftest.py does)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from crm.core import jobs
from crm.dashboard import service
from crm.dashboard.data import (
    AtRiskPartnership,
    Dashboard,
    ExpiringAgreement,
    Filters,
    Funnel,
    FunnelStage,
    InclusionRow,
    MonthCount,
    OfficerWorkload,
    SatisfactionMonth,
    SkillRating,
)
from crm.workflow import service as workflow

PERIOD = Filters(period_from=dt.date(2025, 1, 1), period_to=dt.date(2025, 12, 31))
# 06:40 UTC is 07:40 in Brussels (winter time), the test users' time zone.
COMPUTED_AT = dt.datetime(2026, 1, 5, 6, 40, tzinfo=dt.UTC)
HOSTILE = "<script>alert(1)</script> & Co"


def months(year: int = 2025) -> list[dt.date]:
    return [dt.date(year, month, 1) for month in range(1, 13)]


def sample_dashboard(filters: Filters = PERIOD, **changes: Any) -> Dashboard:
    """A dashboard with distinctive numbers in every section."""
    dashboard = Dashboard(
        filters=filters,
        computed_at=COMPUTED_AT,
        partnership_funnel=Funnel(
            "partnership",
            41,
            [
                FunnelStage("identified", "Identified", False, 41, 6, None),
                FunnelStage("researched", "Researched", False, 32, 7, 32 / 41),
                FunnelStage("approached", "Approached", False, 24, 5, 0.75),
                FunnelStage("active", "Active", False, 18, 17, 0.75),
                FunnelStage("closed", "Closed", True, 4, 4, None),
            ],
        ),
        placement_funnel=Funnel(
            "placement",
            27,
            [
                FunnelStage("requested", "Requested", False, 27, 3, None),
                FunnelStage("matched", "Matched", False, 23, 2, 23 / 27),
                FunnelStage("in_progress", "In progress", False, 19, 11, 19 / 23),
                FunnelStage("completed", "Completed", True, 8, 8, None),
            ],
        ),
        at_risk=[
            AtRiskPartnership(
                partnership_id=701,
                organisation_name=HOSTILE,
                owner_name="Olga Officer",
                state_label="Active",
                score=38,
                band="stalling",
                reason="no two-way contact for 94 days",
                days_in_state=123,
                past_sla=True,
            ),
            AtRiskPartnership(
                partnership_id=702,
                organisation_name="Padaria Lusitana, Lda.",
                owner_name="Piet Officer",
                state_label="Approached",
                score=55,
                band="at_risk",
                reason="memorandum expires in 20 days",
                days_in_state=12,
                past_sla=False,
            ),
        ],
        workload=[
            OfficerWorkload(31, "Olga Officer", 14, 3, 2),
            OfficerWorkload(32, "Piet <b>Officer</b>", 9, 0, 5),
        ],
        placements_per_month=[
            MonthCount(month, count)
            for month, count in zip(months(), [3, 0, 5, 8, 13, 21, 34, 2, 1, 7, 6, 4], strict=True)
        ],
        satisfaction=[
            SatisfactionMonth(month, count, average)
            for month, count, average in zip(
                months(),
                [0, 2, 3, 0, 1, 4, 0, 0, 6, 2, 1, 3],
                [None, 4.5, 3.6666667, None, 2.0, 4.25, None, None, 3.5, 5.0, 1.0, 4.0],
                strict=True,
            )
        ],
        expiring_agreements=[
            ExpiringAgreement(
                agreement_id=811,
                title="Placement agreement: Ana Lima",
                organisation_name="Feinmechanik Rheinland GmbH",
                expires_on=dt.date(2026, 2, 1),
                days_left=27,
                state_label="Signed",
            )
        ],
        skills_gap=[
            SkillRating(5, "Mechatronics (MEC3)", 51, "Read technical drawings", 2.26, 8),
            SkillRating(6, "Bakery (BAK2)", 61, "Food hygiene", 3.875, 16),
        ],
        inclusion=[
            InclusionRow(5, "Mechatronics (MEC3)", 40, 30, 0.75, 12, 6, 0.5),
            InclusionRow(6, "Bakery (BAK2)", 22, 17, 17 / 22, None, None, None),
        ],
        min_group_size=5,
        notes=["The partnership funnel, the at-risk list and the workload ignore the programme."],
    )
    return dataclasses.replace(dashboard, **changes)


class Recorder:
    """Stands in for service.build_dashboard: returns `dashboard` and records the filters."""

    def __init__(self, dashboard: Dashboard | None = None) -> None:
        self.dashboard = dashboard
        self.filters: list[Filters] = []

    def __call__(self, filters: Filters, now: dt.datetime | None = None) -> Dashboard:
        self.filters.append(filters)
        base = self.dashboard or sample_dashboard()
        return dataclasses.replace(base, filters=filters)

    @property
    def last(self) -> Filters:
        assert self.filters, "build_dashboard was not called"
        return self.filters[-1]


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The dashboard pages show the sample dashboard; `shown.last` is the filters asked for."""
    recorder = Recorder()
    monkeypatch.setattr(service, "build_dashboard", recorder)
    return recorder


@pytest.fixture
def refreshed_every_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler job refreshes the figures every 10 minutes (as the real one does)."""
    job = jobs.ScheduledJob("dashboard_refresh", service.refresh, dt.timedelta(minutes=10))
    others = [j for j in jobs.JOBS if not j.function.__module__.startswith("crm.dashboard")]
    monkeypatch.setattr(jobs, "JOBS", [*others, job])


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); rolled-back tests store them anew."""
    monkeypatch.setattr(workflow, "_snapshot_cache", {})
