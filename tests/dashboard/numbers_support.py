"""Builders for the dashboard's number tests: records with their workflow histories, as of a
fixed moment, and the dashboard built from freshly refreshed facts."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from crm.auth.models import User
from crm.dashboard import service
from crm.dashboard.data import Dashboard, Filters
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.learners.models import ProgrammeOutcome
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowTransition
from tests.factories import make_learner, make_organisation, make_placement, make_programme
from tests.workflow.support import make_partnership

# The moment the tests look from: mid-March 2027, in the default cohort (Sept 2026 to July
# 2027). The period: October 2026 to March 2027.
NOW = dt.datetime(2027, 3, 15, 12, 0, tzinfo=dt.UTC)
PERIOD = Filters(period_from=dt.date(2026, 10, 1), period_to=dt.date(2027, 3, 31))
_names = itertools.count(1)


def at(day: str, time: str = "12:00") -> dt.datetime:
    """A UTC moment from "2026-11-03" and "23:30"."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=dt.UTC)


def filters(**changes: Any) -> Filters:
    """PERIOD with other filters."""
    return Filters(**{**PERIOD.__dict__, **changes})


def dashboard(chosen: Filters = PERIOD, now: dt.datetime = NOW) -> Dashboard:
    """Refresh the facts as at `now`, then build the dashboard for `chosen`."""
    service.refresh(now)
    return service.build_dashboard(chosen, now)


def _history(
    record: Any, record_type: str, path: Sequence[str], started: dt.datetime, days: int
) -> None:
    """Transitions along `path` (from its first stage), `days` apart from `started`; the
    record ends in the last stage."""
    wf = workflow.definition_for(record)
    moment = started
    for before, after in itertools.pairwise(path):
        moment += dt.timedelta(days=days)
        db.session.add(
            WorkflowTransition(
                record_type=record_type,
                record_id=record.id,
                organisation_id=getattr(record, "organisation_id", None),
                workflow_name=wf.name,
                workflow_version=wf.version,
                transition=f"to_{after}",
                transition_label=f"To {after}",
                from_state=before,
                to_state=after,
                actor_kind="user",
                occurred_at=moment,
            )
        )
    record.state = path[-1]
    record.state_entered_at = moment
    record.created_at = started
    db.session.commit()


def partnership(
    owner: User,
    started: dt.datetime,
    path: Sequence[str] = ("identified",),
    organisation: Organisation | None = None,
    days: int = 3,
    **fields: Any,
) -> Partnership:
    """A partnership started at `started` that went along `path`, `days` per stage."""
    record = make_partnership(owner, organisation=organisation or make_organisation(owner))
    for name, value in fields.items():
        setattr(record, name, value)
    _history(record, "partnership", ["identified", *path[1:]], started, days)
    return record


def placement(
    learner: Any,
    start: dt.date | None,
    path: Sequence[str] = ("requested",),
    organisation: Organisation | None = None,
    created: dt.datetime | None = None,
    days: int = 2,
) -> Placement:
    """A placement of `learner` starting on `start`, created at `created` (a month before the
    start by default), that went along `path`."""
    record = make_placement(
        learner,
        organisation=organisation,
        start_date=start,
        end_date=start + dt.timedelta(days=30) if start else None,
    )
    if created is None:
        assert start is not None
        created = dt.datetime.combine(start - dt.timedelta(days=30), dt.time(9), dt.UTC)
    if path[-1] == "cancelled":
        record.period_held = False
    _history(record, "placement", ["requested", *path[1:]], created, days)
    return record


def programme_with_outcomes(*outcomes: str, **overrides: Any) -> Any:
    """A programme (with the default cohort) and these skills."""
    return make_programme(outcomes=outcomes or ("Skill A", "Skill B"), **overrides)


def outcomes_of(programme: Any) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(ProgrammeOutcome.id)
            .where(ProgrammeOutcome.programme_id == programme.id)
            .order_by(ProgrammeOutcome.position)
        )
    )


def learner(officer: User, programme: Any, **overrides: Any) -> Any:
    n = next(_names)
    return make_learner(officer, programme, first_name=f"Lea{n}", **overrides)


def evaluation(
    record: Placement,
    submitted: dt.datetime,
    satisfaction: int,
    ratings: dict[int, int | None] | None = None,
    kind: EvaluationKind = EvaluationKind.EMPLOYER,
) -> Evaluation:
    """An evaluation of a placement with these ratings (outcome id: rating or None)."""
    item = Evaluation(
        placement_id=record.id,
        organisation_id=record.organisation_id,
        programme_id=record.programme_id,
        kind=kind,
        satisfaction=satisfaction,
        submitted_at=submitted,
        ratings=[
            EvaluationRating(outcome_id=outcome_id, rating=rating)
            for outcome_id, rating in (ratings or {}).items()
        ],
    )
    db.session.add(item)
    db.session.commit()
    return item


def stages(funnel: Any) -> dict[str, tuple[int, int]]:
    """{stage: (reached, current)} of the stages with any record."""
    return {s.state: (s.reached, s.current) for s in funnel.stages if s.reached or s.current}


def conversions(funnel: Any) -> dict[str, float | None]:
    return {s.state: s.conversion for s in funnel.stages}
