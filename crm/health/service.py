"""Health scores: gather the inputs of many partnerships at once, score them, write them.

`recompute` is set-based whatever the number of partnerships: one statement for the
partnerships and one GROUP BY per kind of input (activities, memoranda, placements,
evaluations, links, follow-ups), scoring in Python (crm.health.score), then one executemany
UPDATE of the partnerships and one executemany upsert of today's history rows. It never
commits: the jobs, the CLI and the demo do.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from crm.activities.models import Activity, ActivityKind
from crm.agreements.models import Agreement, AgreementKind
from crm.db import utcnow
from crm.evaluations.models import Evaluation, EvaluationKind
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.health.chart import TrendChart, trend_chart
from crm.health.config import BAND_NAMES, HealthConfig
from crm.health.models import PartnershipHealthDay
from crm.health.score import (
    ComponentScore,
    Health,
    HealthInputs,
    Memorandum,
    band_label,
    score_partnership,
)
from crm.links.models import ActionLink, LinkPurpose
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from crm.workflow.definitions import WorkflowDef

TWO_WAY_KINDS = [k.value for k in ActivityKind if k.is_two_way]
# A placement "hosted" a learner once the learner was there: these placement stages.
HOSTED_STATES = ("in_progress", "completed", "evaluated")
MEMORANDUM_SIGNED = "signed"
MEMORANDUM_EXPIRED = "expired"
TREND_DAYS = 365  # the partnership page's trend: the last 12 months
WRITE_BATCH = 2_000


def current_config() -> HealthConfig:
    """The health configuration the application loaded at start-up."""
    config: HealthConfig = current_app.extensions["crm_health"].config
    return config


def provider_today(now: dt.datetime) -> dt.date:
    """The provider's date at `now` (the display time zone): the day a history row is for."""
    zone = ZoneInfo(str(current_app.config.get("CRM_DISPLAY_TIMEZONE") or "UTC"))
    return now.astimezone(zone).date()


# --- gathering ---------------------------------------------------------------------------------

Scope = sa.ColumnElement[bool] | None


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp from an aggregate (SQLite may give a naive datetime or a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _in_scope(column: Any, scope: Scope) -> list[sa.ColumnElement[bool]]:
    """`column` (an organisation id) belongs to a partnership in scope (no test for all)."""
    if scope is None:
        return []
    return [column.in_(sa.select(Partnership.organisation_id).where(scope))]


def _days_between(later: Any, earlier: Any) -> sa.ColumnElement[Any]:
    """Days (fractional) from `earlier` to `later`, in SQL, on either database."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.extract("epoch", later - earlier) / 86400.0


def gather_inputs(
    config: HealthConfig, now: dt.datetime, today: dt.date, scope: Scope = None
) -> list[tuple[HealthInputs, tuple[str, int]]]:
    """The inputs of every partnership in `scope` (all when None), with its workflow."""
    components = config.components
    rows = db.session.execute(
        sa.select(
            Partnership.id,
            Partnership.organisation_id,
            Partnership.workflow_name,
            Partnership.workflow_version,
            Partnership.state,
            Partnership.state_entered_at,
            Partnership.created_at,
            Partnership.memorandum_signed_on,
            Organisation.capacity_pledge,
            Organisation.capacity_period,
        )
        .join(Organisation, Organisation.id == Partnership.organisation_id)
        .where(*([scope] if scope is not None else []))
        .order_by(Partnership.id)
    ).all()
    if not rows:
        return []

    last_contact = {
        organisation_id: _aware(at)
        for organisation_id, at in db.session.execute(
            sa.select(Activity.organisation_id, sa.func.max(Activity.occurred_at))
            .where(
                Activity.kind.in_(TWO_WAY_KINDS),
                Activity.occurred_at <= now,
                *_in_scope(Activity.organisation_id, scope),
            )
            .group_by(Activity.organisation_id)
        )
    }

    memoranda: dict[int, dict[str, tuple[dt.date | None, int]]] = defaultdict(dict)
    for partnership_id, state, latest, open_ended in db.session.execute(
        sa.select(
            Agreement.partnership_id,
            Agreement.state,
            sa.func.max(Agreement.expires_on),
            sa.func.sum(sa.case((Agreement.expires_on.is_(None), 1), else_=0)),
        )
        .where(
            Agreement.kind == AgreementKind.PARTNERSHIP,
            Agreement.state.in_([MEMORANDUM_SIGNED, MEMORANDUM_EXPIRED]),
            *(
                [Agreement.partnership_id.in_(sa.select(Partnership.id).where(scope))]
                if scope is not None
                else []
            ),
        )
        .group_by(Agreement.partnership_id, Agreement.state)
    ):
        memoranda[partnership_id][state] = (_date(latest), int(open_ended or 0))

    hosted_since = today - dt.timedelta(days=round(components.placements.months * 365 / 12))
    hosted = dict(
        db.session.execute(
            sa.select(Placement.organisation_id, sa.func.count())
            .where(
                Placement.organisation_id.is_not(None),
                Placement.start_date <= today,
                Placement.end_date >= hosted_since,
                Placement.state.in_(HOSTED_STATES),
                *_in_scope(Placement.organisation_id, scope),
            )
            .group_by(Placement.organisation_id)
        ).all()
    )

    rated_since = now - dt.timedelta(days=round(components.satisfaction.months * 365 / 12))
    satisfaction = {
        organisation_id: (int(count), int(total or 0))
        for organisation_id, count, total in db.session.execute(
            sa.select(
                Evaluation.organisation_id, sa.func.count(), sa.func.sum(Evaluation.satisfaction)
            )
            .where(
                Evaluation.kind == EvaluationKind.EMPLOYER,
                Evaluation.organisation_id.is_not(None),
                Evaluation.submitted_at >= rated_since,
                Evaluation.submitted_at <= now,
                *_in_scope(Evaluation.organisation_id, scope),
            )
            .group_by(Evaluation.organisation_id)
        )
    }

    sent_since = now - dt.timedelta(days=round(components.responsiveness.months * 365 / 12))
    answered = ActionLink.spent_at.is_not(None)
    expired = sa.and_(
        ActionLink.spent_at.is_(None), ActionLink.ended_at.is_(None), ActionLink.expires_at < now
    )
    links = {
        organisation_id: (int(n_answered or 0), float(days or 0), int(n_expired or 0))
        for organisation_id, n_answered, days, n_expired in db.session.execute(
            sa.select(
                ActionLink.organisation_id,
                sa.func.sum(sa.case((answered, 1), else_=0)),
                sa.func.sum(
                    sa.case(
                        (answered, _days_between(ActionLink.spent_at, ActionLink.created_at)),
                        else_=0,
                    )
                ),
                sa.func.sum(sa.case((expired, 1), else_=0)),
            )
            .where(
                ActionLink.organisation_id.is_not(None),
                # Links to the employer's people, not to learners or their guardians.
                ActionLink.learner_id.is_(None),
                ActionLink.purpose != LinkPurpose.LEARNER_FEEDBACK,
                ActionLink.created_at >= sent_since,
                ActionLink.created_at <= now,
                *_in_scope(ActionLink.organisation_id, scope),
            )
            .group_by(ActionLink.organisation_id)
        )
    }

    overdue = {
        organisation_id: (int(count), _aware(oldest))
        for organisation_id, count, oldest in db.session.execute(
            sa.select(FollowUp.organisation_id, sa.func.count(), sa.func.min(FollowUp.due_at))
            .where(
                FollowUp.status == FollowUpStatus.OPEN,
                FollowUp.due_at < now,
                FollowUp.organisation_id.is_not(None),
                *_in_scope(FollowUp.organisation_id, scope),
            )
            .group_by(FollowUp.organisation_id)
        )
    }

    gathered = []
    for row in rows:
        organisation_id = row.organisation_id
        signed = memoranda.get(row.id, {}).get(MEMORANDUM_SIGNED)
        lapsed = memoranda.get(row.id, {}).get(MEMORANDUM_EXPIRED)
        evaluations, satisfaction_total = satisfaction.get(organisation_id, (0, 0))
        links_answered, answer_days, links_expired = links.get(organisation_id, (0, 0.0, 0))
        overdue_count, oldest_overdue = overdue.get(organisation_id, (0, None))
        period = row.capacity_period
        inputs = HealthInputs(
            partnership_id=row.id,
            state=row.state,
            state_entered_at=row.state_entered_at,
            started_at=row.created_at,
            last_two_way_at=last_contact.get(organisation_id),
            memorandum=Memorandum(
                signed=signed is not None,
                open_ended=bool(signed and signed[1]),
                expires_on=signed[0] if signed else None,
                expired_on=lapsed[0] if lapsed else None,
                signed_on=row.memorandum_signed_on,
            ),
            capacity_pledge=row.capacity_pledge or 0,
            capacity_period=str(getattr(period, "value", period)),
            placements_hosted=int(hosted.get(organisation_id, 0)),
            evaluations=evaluations,
            satisfaction_total=satisfaction_total,
            links_answered=links_answered,
            answer_days_total=answer_days,
            links_expired=links_expired,
            overdue_follow_ups=overdue_count,
            oldest_overdue_at=oldest_overdue,
        )
        gathered.append((inputs, (row.workflow_name, row.workflow_version)))
    return gathered


def _definitions(keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], WorkflowDef]:
    pack = workflow.current_pack()
    found = {}
    for name, version in set(keys):
        current = pack.definitions.get(name)
        found[(name, version)] = (
            current
            if current is not None and current.version == version
            else workflow.stored_definition(name, version)
        )
    return found


# --- recomputing -------------------------------------------------------------------------------


@dataclass
class RecomputeRun:
    """What one recomputation did (counts only, for the scheduler's log)."""

    scored: int = 0  # partnerships with a score
    unscored: int = 0  # partnerships in a final stage: no score
    history_rows: int = 0
    milliseconds: int = 0


def recompute(
    scope: Scope = None,
    now: dt.datetime | None = None,
    config: HealthConfig | None = None,
    stale_before: dt.datetime | None = None,
) -> RecomputeRun:
    """Recompute the scores of the partnerships in `scope` (all when None) and record today's.

    A partnership marked stale before `stale_before` (default: now) is no longer stale; one
    marked later, by a change made while this ran, stays stale for the next run.
    """
    started = time.perf_counter()
    now = now or utcnow()
    config = config or current_config()
    today = provider_today(now)
    gathered = gather_inputs(config, now, today, scope)
    results = score_all(gathered, config, now, today)
    run = write_scores(results, now, today, stale_before or now)
    run.milliseconds = round((time.perf_counter() - started) * 1000)
    return run


def score_all(
    gathered: list[tuple[HealthInputs, tuple[str, int]]],
    config: HealthConfig,
    now: dt.datetime,
    today: dt.date,
) -> list[tuple[int, Health]]:
    """Score gathered partnerships, each against the workflow version it runs on."""
    definitions = _definitions(key for _inputs, key in gathered)
    return [
        (inputs.partnership_id, score_partnership(inputs, config, definitions[key], now, today))
        for inputs, key in gathered
    ]


def write_scores(
    results: list[tuple[int, Health]], now: dt.datetime, today: dt.date, stale_before: dt.datetime
) -> RecomputeRun:
    """Store scores and breakdowns, clear stale marks, and upsert today's history rows."""
    table = Partnership.__table__
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("pid"))
        .values(
            health_score=sa.bindparam("score"),
            health_components=sa.bindparam("components"),
            health_computed_at=now,
            health_stale_at=sa.case(
                (table.c.health_stale_at <= stale_before, None), else_=table.c.health_stale_at
            ),
            # The score is not an edit of the partnership: keep updated_at as it was.
            updated_at=table.c.updated_at,
        )
    )
    run = RecomputeRun()
    rows = []
    days = []
    for partnership_id, health in results:
        rows.append(
            {
                "pid": partnership_id,
                "score": health.score,
                "components": health.as_json() if health.score is not None else None,
            }
        )
        if health.score is None:
            run.unscored += 1
        else:
            run.scored += 1
            days.append({"partnership_id": partnership_id, "day": today, "score": health.score})
    for start in range(0, len(rows), WRITE_BATCH):
        db.session.execute(update, rows[start : start + WRITE_BATCH])
    for start in range(0, len(days), WRITE_BATCH):
        db.session.execute(_upsert_day(), days[start : start + WRITE_BATCH])
    run.history_rows = len(days)
    return run


def _upsert_day() -> Any:
    """INSERT a history row, or replace the score of the row already there for that day."""
    table = PartnershipHealthDay.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.partnership_id, table.c.day],
        set_={"score": statement.excluded.score},
    )


def recompute_ids(ids: Collection[int], **kwargs: Any) -> RecomputeRun:
    """Recompute these partnerships only."""
    if not ids:
        return RecomputeRun()
    return recompute(Partnership.id.in_(sorted(ids)), **kwargs)


# --- reading, for the pages ------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """A day's score."""

    day: dt.date
    score: int


@dataclass(frozen=True)
class HealthView:
    """What the partnership page shows: score, band, breakdown, when, and the trend."""

    score: int | None
    band: str | None
    components: tuple[ComponentScore, ...]
    computed_at: dt.datetime | None
    is_stale: bool
    trend: tuple[TrendPoint, ...]
    chart: TrendChart

    @property
    def band_label(self) -> str:
        return band_label(self.band)


def health_view(partnership: Partnership, now: dt.datetime | None = None) -> HealthView:
    """The partnership's health with its last 12 months of history (one statement)."""
    now = now or utcnow()
    today = provider_today(now)
    since = today - dt.timedelta(days=TREND_DAYS)
    trend = tuple(
        TrendPoint(day, score)
        for day, score in db.session.execute(
            sa.select(PartnershipHealthDay.day, PartnershipHealthDay.score)
            .where(
                PartnershipHealthDay.partnership_id == partnership.id,
                PartnershipHealthDay.day > since,
            )
            .order_by(PartnershipHealthDay.day)
        )
    )
    components = tuple(
        ComponentScore.from_json(item) for item in (partnership.health_components or [])
    )
    config = current_config()
    return HealthView(
        score=partnership.health_score,
        band=config.band_of(partnership.health_score),
        components=components,
        computed_at=partnership.health_computed_at,
        is_stale=partnership.health_stale_at is not None,
        trend=trend,
        chart=trend_chart([(p.day, p.score) for p in trend], today, config, TREND_DAYS),
    )


def band_choices() -> list[tuple[str, str]]:
    """(band, label with its scores) for the lists' filter, best first."""
    config = current_config()
    choices = []
    for band in BAND_NAMES:
        low, high = config.band_range(band)
        choices.append((band, f"{band_label(band)} ({low}–{high})"))
    return choices


def band_condition(band: str, config: HealthConfig | None = None) -> sa.ColumnElement[bool]:
    """Partnerships whose score is in `band` (thriving, steady, at_risk, stalling)."""
    low, high = (config or current_config()).band_range(band)
    return Partnership.health_score.between(low, high)
