"""What came of the generated placements: evaluations, agreements and the officers' own
follow-ups (the partnerships' memoranda: crm.demo.generate_memoranda).

Planned with the placements (crm.demo.generate_placements), from a random source of their own
so the placements are the same with or without them, and written with them as bulk inserts
(crm.demo.outcome_rows):

- every evaluated placement has its employer's evaluation, submitted when its `evaluate` step
  fired, with a rating per programme skill (some "not observed"). Satisfaction centres on
  about four out of five, a little lower in earlier years, per programme (PROGRAMME_MOODS) and
  per employer (some are harder to please); each skill is rated near the overall score, the
  programme's weaker skills lower (SKILL_TENDENCIES), so the skills gap shows. "Would you
  host again?" is the employer's capacity pledge as it stands, as the app sets it. Learners
  gave feedback on about half of the evaluated and completed placements, days after the end;
- a placement that reached the agreement stage has its agreement (crm.demo.agreement_stories
  and crm.demo.agreement_rows; the documents are placeholders, crm.demo.placeholder_documents);
- officers make their own follow-ups around the placements under way: a visit during the
  placement (mostly done once due, some overdue), checking the induction of a placement that
  is ready, chasing an evaluation that is late; so every officer has open work, some overdue.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from crm.agreements.document import Signatory
from crm.agreements.models import AgreementKind, SignerParty
from crm.agreements.terms import default_terms
from crm.demo.agreement_rows import (
    AgreementPlanner,
    AgreementRows,
    AgreementWords,
    ProviderSigner,
)
from crm.demo.agreement_stories import placement_agreement
from crm.demo.placeholder_documents import Documents
from crm.demo.placements import PlacementHistory, office_time
from crm.demo.programmes import PROGRAMME_MOODS, ProgrammePlan, skill_tendency
from crm.demo.rows import HostRow, OfficerRow
from crm.demo.stories import (
    EMPLOYER_COMMENTS,
    EMPLOYER_NO_ROOM,
    EVALUATION_CHASES,
    INDUCTION_SUBJECTS,
    LEARNER_COULD_BE_BETTER,
    LEARNER_WENT_WELL,
    VISIT_SUBJECTS,
)
from crm.evaluations.models import EvaluationKind
from crm.followups.models import FollowUpStatus
from crm.learners.service import is_minor
from crm.organisations.models import CapacityPeriod
from crm.workflow.definitions import WorkflowDef

SATISFACTION_MEAN = 3.95
SATISFACTION_SPREAD = 0.85
DRIFT_PER_YEAR = 0.12  # employers were a little less satisfied in earlier years
EMPLOYER_SPREAD = 0.45  # how much employers differ from each other
RATING_SPREAD = 0.6
NOT_OBSERVED_SHARE = 0.08
EMPLOYER_COMMENT_SHARE = 0.6
HOST_AGAIN_FROM_SHARE = 0.35
LEARNER_MEAN = 4.05
FEEDBACK_SHARES = {"evaluated": 0.55, "completed": 0.4}
FEEDBACK_DAYS = (0.2, 12.0)
VISITS_SINCE_DAYS = 120  # placements that started since then have their visit follow-up
VISIT_DONE_SHARE = 0.78  # visits of placements under way done once due (the rest overdue)
VISIT_FORGOTTEN_SHARE = 0.03  # ... of finished placements, left open
CHASE_AFTER_DAYS = (7.0, 12.0)  # an officer chases a late evaluation after this long
CHASED_SHARE = 0.5  # chases done once due (the employer was called; the evaluation may lag)


def _clamp(value: float) -> int:
    """A score from 1 to 5."""
    return min(5, max(1, round(value)))


@dataclass(frozen=True)
class OutcomeContext:
    """What the planning of outcomes needs of the database, looked up once per run."""

    now: dt.datetime
    seed: int
    programme_ids: dict[str, int]
    outcome_ids: dict[str, tuple[int, ...]]  # programme code → its skills' ids, in order
    pledges: dict[int, tuple[int, CapacityPeriod]]  # organisation → its capacity pledge
    decision_makers: dict[int, Signatory]  # organisation → its decision maker with an e-mail
    supervisors: dict[int, tuple[Signatory, str]]  # contact → as a signatory, and language
    languages: frozenset[str]
    provider: ProviderSigner
    workflow: WorkflowDef  # the agreement workflow
    documents: Documents
    words: AgreementWords


@dataclass
class PlacementOutcomes:
    """A placement's evaluations (each with its ratings: skill id, rating), its agreement
    and its officer's own follow-ups; the placement's and learner's ids are set on writing."""

    evaluations: list[tuple[dict[str, Any], list[tuple[int, int | None]]]] = field(
        default_factory=list
    )
    agreement: AgreementRows | None = None
    follow_ups: list[dict[str, Any]] = field(default_factory=list)


class OutcomePlanner:
    """Plans what came of generated placements, from a random source of its own."""

    def __init__(self, context: OutcomeContext):
        self.context = context
        self.rng = random.Random(context.seed)
        self.now = context.now
        self.today = context.now.date()
        self.agreements = AgreementPlanner(
            context.workflow,
            self.rng,
            context.now,
            context.provider,
            context.documents,
            context.words,
        )
        self.terms = default_terms(AgreementKind.PLACEMENT)  # shared: never changed
        self.moods: dict[int, float] = {}

    def plan(
        self,
        *,
        history: PlacementHistory,
        start: dt.date,
        end: dt.date,
        programme: ProgrammePlan,
        host: HostRow | None,
        learner: dict[str, Any],
        officer: OfficerRow,
    ) -> PlacementOutcomes:
        """The outcomes of one placement (`learner` is the learner's row)."""
        outcomes = PlacementOutcomes()
        if host is None:
            return outcomes
        evaluated = history.fired_at("evaluate")
        if history.state == "evaluated" and evaluated is not None:
            outcomes.evaluations.append(self._employer(evaluated, programme, host, learner))
        completed = history.fired_at("complete")
        share = FEEDBACK_SHARES.get(history.state, 0.0)
        if completed is not None and self.rng.random() < share:
            days = self.rng.uniform(*FEEDBACK_DAYS)
            answered = (completed + dt.timedelta(days=days)).replace(microsecond=0)
            if answered < self.now - dt.timedelta(minutes=10):
                outcomes.evaluations.append(self._feedback(answered, programme, host, learner))
        outcomes.agreement = self._agreement(history, start, end, host, learner, officer)
        outcomes.follow_ups = self._follow_ups(history, start, end, host, learner, officer)
        return outcomes

    # --- evaluations ------------------------------------------------------------------------

    def _mood(self, organisation_id: int) -> float:
        """How satisfied this employer tends to be, above or below the others."""
        if organisation_id not in self.moods:
            self.moods[organisation_id] = self.rng.gauss(0.0, EMPLOYER_SPREAD)
        return self.moods[organisation_id]

    def _employer(
        self, at: dt.datetime, programme: ProgrammePlan, host: HostRow, learner: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[int, int | None]]]:
        """The employer's evaluation, with its ratings."""
        rng = self.rng
        years = (self.now - at).days / 365
        mean = (
            SATISFACTION_MEAN
            + PROGRAMME_MOODS.get(programme.code, 0.0)
            + self._mood(host.organisation_id)
            - DRIFT_PER_YEAR * years
        )
        satisfaction = _clamp(rng.gauss(mean, SATISFACTION_SPREAD))
        skills = self.context.outcome_ids.get(programme.code, ())
        ratings: list[tuple[int, int | None]] = [
            (
                skill,
                None
                if rng.random() < NOT_OBSERVED_SHARE
                else _clamp(
                    rng.gauss(satisfaction + skill_tendency(programme.code, n), RATING_SPREAD)
                ),
            )
            for n, skill in enumerate(skills)
        ]
        if ratings and all(rating is None for _, rating in ratings):
            ratings[0] = (ratings[0][0], satisfaction)
        band = "high" if satisfaction >= 4 else "mid" if satisfaction == 3 else "low"
        comments = ""
        if rng.random() < EMPLOYER_COMMENT_SHARE:
            comments = rng.choice(EMPLOYER_COMMENTS[band]).format(name=learner["first_name"])
        count, period = self.context.pledges.get(host.organisation_id, (0, CapacityPeriod.YEAR))
        if not count:
            comments = " ".join(text for text in (comments, rng.choice(EMPLOYER_NO_ROOM)) if text)
        starting = None
        if count and rng.random() < HOST_AGAIN_FROM_SHARE:
            starting = (at.date() + dt.timedelta(days=rng.randint(30, 120))).replace(day=1)
        row = {
            "placement_id": 0,
            "organisation_id": host.organisation_id,
            "programme_id": self.context.programme_ids[programme.code],
            "kind": EvaluationKind.EMPLOYER,
            "link_id": None,
            "evaluator_name": host.supervisor_name[:200],
            "satisfaction": satisfaction,
            "comments": comments,
            "host_again": count > 0,
            "host_again_count": count or None,
            "host_again_period": period if count else None,
            "host_again_from": starting,
            "submitted_at": at,
        }
        return row, ratings

    def _feedback(
        self, at: dt.datetime, programme: ProgrammePlan, host: HostRow, learner: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[int, int | None]]]:
        """The learner's feedback (no ratings)."""
        rng = self.rng
        satisfaction = _clamp(rng.gauss(LEARNER_MEAN + self._mood(host.organisation_id) / 2, 0.8))
        went_well = rng.choice(LEARNER_WENT_WELL) if satisfaction >= 3 else ""
        could_be_better = rng.choice(LEARNER_COULD_BE_BETTER)
        recommends = satisfaction >= 4 or (satisfaction == 3 and rng.random() < 0.5)
        row = {
            "placement_id": 0,
            "organisation_id": host.organisation_id,
            "programme_id": self.context.programme_ids[programme.code],
            "kind": EvaluationKind.LEARNER,
            "link_id": None,
            "evaluator_name": f"{learner['first_name']} {learner['last_name']}"[:200],
            "satisfaction": satisfaction,
            "comments": "\n\n".join(text for text in (went_well, could_be_better) if text),
            "host_again": recommends,
            "host_again_count": None,
            "host_again_period": None,
            "host_again_from": None,
            "submitted_at": at,
        }
        return row, []

    # --- the agreement ----------------------------------------------------------------------

    def _agreement(
        self,
        history: PlacementHistory,
        start: dt.date,
        end: dt.date,
        host: HostRow,
        learner: dict[str, Any],
        officer: OfficerRow,
    ) -> AgreementRows | None:
        """The placement's agreement, if it reached the agreement stage."""
        if not history.fired("send_agreement") or host.supervisor_id is None:
            return None
        context = self.context
        supervisor, language = context.supervisors[host.supervisor_id]
        employer = context.decision_makers.get(host.organisation_id, supervisor)
        name = f"{learner['first_name']} {learner['last_name']}"
        parties = [
            Signatory(SignerParty.PROVIDER, ""),
            employer,
            Signatory(SignerParty.LEARNER, name, learner["email"]),
        ]
        if is_minor(learner["birth_date"], start):
            parties.append(
                Signatory(SignerParty.GUARDIAN, learner["guardian_name"], learner["guardian_email"])
            )
        return placement_agreement(
            self.agreements,
            steps=[(s.transition.name, s.occurred_at, s.comment) for s in history.steps],
            state=history.state,
            start=start,
            end=end,
            organisation_id=host.organisation_id,
            officer=officer,
            language=language if language in context.languages else "en",
            parties=parties,
            terms=self.terms,
        )

    # --- the officer's own follow-ups -------------------------------------------------------

    def _follow_up(
        self,
        subject: str,
        created: dt.datetime,
        due: dt.datetime,
        host: HostRow,
        officer: OfficerRow,
        done: bool,
    ) -> dict[str, Any]:
        """A follow-up the officer made, done soon after it fell due, or still open."""
        rng = self.rng
        latest = self.now - dt.timedelta(minutes=10)
        completed = None
        if done:
            completed = due + dt.timedelta(days=rng.uniform(-2.0, 3.0))
            completed = min(max(completed, created + dt.timedelta(minutes=20)), latest)
            completed = completed.replace(microsecond=0)
        ends = completed or self.now
        reminded = due if due < ends else None  # the reminder job told the officer
        return {
            "subject": subject[:200],
            "due_at": due,
            "assignee_id": officer.id,
            "status": FollowUpStatus.DONE if completed else FollowUpStatus.OPEN,
            "record_type": "placement",
            "record_id": 0,
            "organisation_id": host.organisation_id,
            "created_by_id": officer.id,
            "created_by_rule": "",
            "completed_at": completed,
            "completed_by_id": officer.id if completed else None,
            "notes": "",
            "reminder_sent_at": reminded,
            "created_at": created,
            "updated_at": completed or reminded or created,
        }

    def _follow_ups(
        self,
        history: PlacementHistory,
        start: dt.date,
        end: dt.date,
        host: HostRow,
        learner: dict[str, Any],
        officer: OfficerRow,
    ) -> list[dict[str, Any]]:
        """A visit during the placement, the induction before it, a chase for a late
        evaluation after it."""
        rng = self.rng
        state = history.state
        names = {"learner": learner["first_name"], "supervisor": host.supervisor_name}
        latest = self.now - dt.timedelta(minutes=30)
        rows = []
        started = history.fired_at("start")
        recent = start >= self.today - dt.timedelta(days=VISITS_SINCE_DAYS)
        if started is not None and recent and state in ("in_progress", "completed", "evaluated"):
            span = (end - start).days
            due = office_time(
                start + dt.timedelta(days=round(span * rng.uniform(0.3, 0.6))),
                rng.randint(8 * 60, 15 * 60),
            )
            created = min(started + dt.timedelta(days=rng.uniform(0.5, 4.0)), latest)
            created = min(created, due - dt.timedelta(hours=1)).replace(microsecond=0)
            if state == "in_progress":
                done = due < self.now and rng.random() < VISIT_DONE_SHARE
            else:
                done = rng.random() >= VISIT_FORGOTTEN_SHARE
            subject = rng.choice(VISIT_SUBJECTS).format(**names)
            rows.append(self._follow_up(subject, created, due, host, officer, done))
        if state == "ready":
            created = min(
                history.entered_at + dt.timedelta(days=rng.uniform(0.1, 2.0)), latest
            ).replace(microsecond=0)
            due = office_time(start - dt.timedelta(days=2), rng.randint(8 * 60, 15 * 60))
            due = max(due, created + dt.timedelta(hours=4))
            subject = rng.choice(INDUCTION_SUBJECTS).format(**names)
            rows.append(self._follow_up(subject, created, due, host, officer, False))
        waited = (self.now - history.entered_at).total_seconds() / 86400
        if state == "completed" and waited > CHASE_AFTER_DAYS[1]:
            created = history.entered_at + dt.timedelta(days=rng.uniform(*CHASE_AFTER_DAYS))
            created = created.replace(microsecond=0)
            due = created + dt.timedelta(days=rng.uniform(2.0, 10.0))
            done = due < self.now and rng.random() < CHASED_SHARE  # called; still waiting
            subject = rng.choice(EVALUATION_CHASES).format(**names)
            rows.append(self._follow_up(subject, created, due, host, officer, done))
        return rows
