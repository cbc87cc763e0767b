"""The dashboard's numbers counted another way: every record loaded with the ORM and counted
in Python, one record at a time, for comparing with the pre-aggregated facts."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from crm.agreements.models import Agreement
from crm.auth.models import Role, User
from crm.dashboard.data import Filters
from crm.dashboard.inclusion import InclusionCounts
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Cohort, Learner, Programme
from crm.organisations import nace
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowTransition

NOT_PLACED = {"declined", "cancelled"}


def month_of(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.replace(day=1)


def sector_of(organisation: Organisation | None) -> str | None:
    if organisation is None:
        return None
    division = nace.division(organisation.nace_code)
    return division.section if division else None


@dataclass
class Records:
    """Everything the dashboard counts, loaded as objects."""

    organisations: dict[int, Organisation] = field(default_factory=dict)
    partnerships: list[Partnership] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    reached: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)
    ratings: list[EvaluationRating] = field(default_factory=list)
    learners: list[Learner] = field(default_factory=list)
    cohorts: dict[int, Cohort] = field(default_factory=dict)
    programmes: list[Programme] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)

    @classmethod
    def load(cls) -> Records:
        found = cls()

        def every(model: Any) -> list[Any]:
            return list(db.session.scalars(sa.select(model)))

        found.organisations = {o.id: o for o in every(Organisation)}
        found.partnerships = every(Partnership)
        found.placements = every(Placement)
        for kind, records in (("partnership", found.partnerships), ("placement", found.placements)):
            initial = workflow.current_pack().for_record(kind).initial
            for record in records:
                found.reached[(kind, record.id)] = {initial}
        for transition in every(WorkflowTransition):
            key = (transition.record_type, transition.record_id)
            if key in found.reached:
                found.reached[key].add(transition.to_state)
        found.evaluations = every(Evaluation)
        found.ratings = every(EvaluationRating)
        found.learners = every(Learner)
        found.cohorts = {c.id: c for c in every(Cohort)}
        found.programmes = every(Programme)
        found.users = every(User)
        found.follow_ups = every(FollowUp)
        found.agreements = every(Agreement)
        return found

    # --- filters -------------------------------------------------------------------------

    def at(self, organisation_id: int | None, f: Filters) -> bool:
        organisation = self.organisations.get(organisation_id) if organisation_id else None
        if f.sector and sector_of(organisation) != f.sector:
            return False
        return not (f.country and (organisation is None or organisation.country != f.country))

    def placement_matches(self, placement: Placement, f: Filters) -> bool:
        return (
            self.at(placement.organisation_id, f)
            and (not f.officer_id or placement.officer_id == f.officer_id)
            and (not f.programme_id or placement.programme_id == f.programme_id)
        )

    # --- sections ------------------------------------------------------------------------

    def funnel(self, kind: str, f: Filters) -> tuple[int, dict[str, tuple[int, int]]]:
        """Started in the period: (count, {stage: (reached, current)})."""
        reached: Counter[str] = Counter()
        current: Counter[str] = Counter()
        if kind == "partnership":
            chosen = [
                p
                for p in self.partnerships
                if f.period_from <= month_of(p.created_at) <= f.period_to
                and self.at(p.organisation_id, f)
                and (not f.officer_id or p.owner_id == f.officer_id)
            ]
        else:
            chosen = [
                p
                for p in self.placements
                if f.period_from <= month_of(p.start_date or p.created_at) <= f.period_to
                and self.placement_matches(p, f)
            ]
        wf = workflow.current_pack().for_record(kind)
        for record in chosen:
            current[record.state] += 1
            for state in self.reached[(kind, record.id)]:
                if state in wf.states:
                    reached[state] += 1
        stages = {s: (reached[s], current[s]) for s in wf.states if reached[s] or current[s]}
        return len(chosen), stages

    def per_month(self, f: Filters) -> dict[dt.date, int]:
        counts: Counter[dt.date] = Counter()
        for p in self.placements:
            if p.start_date and p.state not in NOT_PLACED and self.placement_matches(p, f):
                counts[month_of(p.start_date)] += 1
        return dict(counts)

    def _employer_evaluations(self, f: Filters) -> list[Evaluation]:
        placements = {p.id: p for p in self.placements}
        return [
            e
            for e in self.evaluations
            if e.kind == EvaluationKind.EMPLOYER
            and f.period_from <= month_of(e.submitted_at) <= f.period_to
            and self.at(e.organisation_id, f)
            and (not f.officer_id or placements[e.placement_id].officer_id == f.officer_id)
            and (not f.programme_id or e.programme_id == f.programme_id)
        ]

    def satisfaction(self, f: Filters) -> dict[dt.date, tuple[int, float]]:
        per_month: dict[dt.date, list[int]] = defaultdict(list)
        for e in self._employer_evaluations(f):
            per_month[month_of(e.submitted_at)].append(e.satisfaction)
        return {m: (len(v), sum(v) / len(v)) for m, v in per_month.items()}

    def skills(self, f: Filters) -> dict[tuple[int, int], tuple[int, float]]:
        chosen = {e.id: e for e in self._employer_evaluations(f)}
        ratings: dict[tuple[int, int], list[int]] = defaultdict(list)
        for r in self.ratings:
            if r.evaluation_id in chosen and r.rating is not None:
                ratings[(chosen[r.evaluation_id].programme_id, r.outcome_id)].append(r.rating)
        return {key: (len(v), sum(v) / len(v)) for key, v in ratings.items()}

    def workload(self, now: dt.datetime) -> dict[int, tuple[int, int, int]]:
        owners = {p.owner_id for p in self.partnerships} | {p.officer_id for p in self.placements}
        owners |= {o.owner_id for o in self.organisations.values()}
        owners |= {learner.officer_id for learner in self.learners}
        open_ones = [f for f in self.follow_ups if f.status == FollowUpStatus.OPEN]
        owners |= {f.assignee_id for f in open_ones}
        late: Counter[int] = Counter()
        for kind, records, owner in (
            ("partnership", self.partnerships, "owner_id"),
            ("placement", self.placements, "officer_id"),
        ):
            wf = workflow.current_pack().for_record(kind)
            for record in records:
                state = wf.states.get(record.state)
                if state is None or state.terminal or not state.sla_days:
                    continue
                if (now - record.state_entered_at).days > state.sla_days:
                    late[getattr(record, owner)] += 1
        result = {}
        for user in self.users:
            if (
                user.id in owners
                and user.is_active_account
                and user.role in (Role.OFFICER, Role.MANAGER)
            ):
                mine = [f for f in open_ones if f.assignee_id == user.id]
                overdue = [f for f in mine if f.due_at < now]
                result[user.id] = (len(mine), len(overdue), late[user.id])
        return result

    def at_risk(self, f: Filters, now: dt.datetime, steady: int) -> list[int]:
        wf = workflow.current_pack().for_record("partnership")
        listed = []
        for p in self.partnerships:
            state = wf.states.get(p.state)
            if state is None or state.terminal:
                continue
            if not self.at(p.organisation_id, f) or (f.officer_id and p.owner_id != f.officer_id):
                continue
            days = (now - p.state_entered_at).days
            late = bool(state.sla_days) and days > (state.sla_days or 0)
            if (p.health_score is not None and p.health_score < steady) or late:
                listed.append(p)
        listed.sort(key=lambda p: (p.health_score is None, p.health_score or 0, p.id))
        return [p.id for p in listed[:20]]

    def expiring(self, f: Filters, today: dt.date, days: int) -> list[int]:
        placements = {p.id: p for p in self.placements}
        chosen = []
        for a in self.agreements:
            if a.state != "signed" or a.expires_on is None:
                continue
            if not today <= a.expires_on <= today + dt.timedelta(days=days):
                continue
            if not self.at(a.organisation_id, f):
                continue
            if f.officer_id and a.officer_id != f.officer_id:
                continue
            if f.programme_id and (
                a.placement_id is None or placements[a.placement_id].programme_id != f.programme_id
            ):
                continue
            chosen.append(a)
        chosen.sort(key=lambda a: (a.expires_on, a.id))
        return [a.id for a in chosen[:20]]

    def inclusion(self, f: Filters) -> dict[int, InclusionCounts]:
        placed_learners = set()
        learners = {learner.id: learner for learner in self.learners}
        for p in self.placements:
            learner = learners[p.learner_id]
            cohort = self.cohorts[learner.cohort_id]
            if (
                p.start_date
                and p.state not in NOT_PLACED
                and f.period_from <= p.start_date <= f.period_to
                and cohort.starts_on <= p.start_date <= cohort.ends_on
            ):
                placed_learners.add(p.learner_id)
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for learner in self.learners:
            cohort = self.cohorts[learner.cohort_id]
            if learner.archived_at is not None:
                continue
            if not (cohort.starts_on <= f.period_to and cohort.ends_on >= f.period_from):
                continue
            if f.officer_id and learner.officer_id != f.officer_id:
                continue
            needs = learner.support_needs != ""
            placed = learner.id in placed_learners
            counts[learner.programme_id].update(
                learners=1, placed=int(placed), needs=int(needs), placed_needs=int(placed and needs)
            )
        return {
            programme_id: InclusionCounts(c["learners"], c["placed"], c["needs"], c["placed_needs"])
            for programme_id, c in counts.items()
        }
