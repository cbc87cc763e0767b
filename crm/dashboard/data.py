"""What the dashboard shows: plain data, built by crm.dashboard.service, drawn by the views.

Nothing here touches the database. Every number a chart draws is also in one of these
tables, so the page can show it as a table and export it as CSV.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters. `period_from` and `period_to` are whole months: the first day
    of the first month and the last day of the last month (both included)."""

    period_from: dt.date
    period_to: dt.date
    programme_id: int | None = None
    sector: str | None = None  # NACE section letter of the organisation
    country: str | None = None  # ISO 3166-1 alpha-2 of the organisation
    officer_id: int | None = None


@dataclass(frozen=True)
class FunnelStage:
    """One stage of a workflow, in the definition's order (terminal stages last).

    `reached`: records started in the period that ever entered this stage;
    `current`: of those, how many are in it now;
    `conversion`: reached / reached of the previous non-terminal stage (None for the first,
    for terminal stages and when the previous stage has none).
    """

    state: str
    label: str
    terminal: bool
    reached: int
    current: int
    conversion: float | None


@dataclass(frozen=True)
class Funnel:
    workflow: str  # "partnership" or "placement"
    started: int  # records started in the period (and matching the filters)
    stages: list[FunnelStage]


@dataclass(frozen=True)
class AtRiskPartnership:
    """A partnership whose score is below the "steady" band, or past its stage's SLA."""

    partnership_id: int
    organisation_name: str
    owner_name: str
    state_label: str
    score: int | None
    band: str | None  # crm.health.config band key (any band when listed for being past SLA)
    reason: str  # the component that lost most points, as a person reads it
    days_in_state: int
    past_sla: bool


@dataclass(frozen=True)
class OfficerWorkload:
    officer_id: int
    name: str
    open_follow_ups: int
    overdue_follow_ups: int
    past_sla: int  # partnerships and placements of theirs past their stage's SLA


@dataclass(frozen=True)
class MonthCount:
    month: dt.date  # first day of the month
    count: int


@dataclass(frozen=True)
class SatisfactionMonth:
    month: dt.date  # first day of the month
    evaluations: int  # employer evaluations submitted that month
    average: float | None  # mean satisfaction (1 to 5); None when there are none


@dataclass(frozen=True)
class ExpiringAgreement:
    agreement_id: int
    title: str  # what the agreements list calls it (kind and learner or organisation)
    organisation_name: str
    expires_on: dt.date
    days_left: int
    state_label: str


@dataclass(frozen=True)
class SkillRating:
    """Employer ratings of one skill (learning outcome) of a programme, in the period."""

    programme_id: int
    programme_name: str
    outcome_id: int
    outcome_text: str
    average: float  # 1 to 5
    ratings: int


@dataclass(frozen=True)
class InclusionRow:
    """Per programme: learners with support needs against all learners, and how many of each
    had a placement starting in the period. A count below the minimum group size is None
    (shown as "fewer than N"), and so is any rate computed from a hidden count."""

    programme_id: int
    programme_name: str
    learners: int | None
    placed: int | None
    placed_rate: float | None
    learners_with_needs: int | None
    placed_with_needs: int | None
    placed_with_needs_rate: float | None


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    computed_at: dt.datetime  # UTC: when the numbers were aggregated (how fresh they are)
    partnership_funnel: Funnel
    placement_funnel: Funnel
    at_risk: list[AtRiskPartnership]
    workload: list[OfficerWorkload]
    placements_per_month: list[MonthCount]  # the 12 months ending with period_to's month
    satisfaction: list[SatisfactionMonth]  # every month of the period
    expiring_agreements: list[ExpiringAgreement]  # expiring within EXPIRING_DAYS of today
    skills_gap: list[SkillRating]  # worst average first
    inclusion: list[InclusionRow]
    min_group_size: int
    notes: list[str] = field(default_factory=list)  # e.g. which filters a section ignores
