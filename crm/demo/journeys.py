"""The demo's partnerships: a story per employer, played through the workflow service.

Each story is a path through the partnership workflow (e.g. research, approach, analyse the
needs) with the days spent in every stage. The employer's timeline is written to fit it: the
intro call right before the first approach, the needs-analysis meeting before the needs are
recorded, regular visits while the partnership is active, three months of silence before it
goes dormant. Loading replays timeline and steps in the order they happened, firing every step
through `crm.workflow.service.fire` at its date, so transitions, follow-ups and stage times
are the ones the app writes; checklists, fields and comments are filled as the guards ask.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.activities.service import ActivityValues, log_activity
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.demo.employers import ROLE_ORDER, EmployerMaker, EmployerPlan
from crm.demo.stories import (
    CLOSE_REASONS,
    GUARD_ENTRIES,
    NEEDS_SUMMARIES,
    RENEW_COMMENTS,
    REOPEN_COMMENTS,
    REVIEW_NOTES,
    STATE_ENTRIES,
    Entry,
)
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import PartnershipValues, start_partnership, update_partnership
from crm.workflow.definitions import WorkflowDef
from crm.workflow.service import definition_for, fire, set_checklist_item


@dataclass(frozen=True)
class Scenario:
    """Where a demo partnership is now: the steps that brought it there, and if it is late."""

    path: tuple[str, ...]
    overdue: bool = False


_TO_APPROACHED = ("research", "approach")
_TO_NEEDS = (*_TO_APPROACHED, "analyse_needs")
_TO_AGREEING = (*_TO_NEEDS, "issue_memorandum")
_TO_ACTIVE = (*_TO_AGREEING, "activate")
_REVIEWED = (*_TO_ACTIVE, "start_review")
_RENEWED = (*_REVIEWED, "renew")
_REVIVED = (*_TO_APPROACHED, "go_dormant", "revive")
_REVIVED_TO_ACTIVE = (*_REVIVED, "analyse_needs", "issue_memorandum", "activate")

# The demo's partnerships by their story; each stage holds several, a few are past their SLA.
SCENARIOS: tuple[tuple[int, Scenario], ...] = (
    (4, Scenario(())),
    (1, Scenario((), overdue=True)),
    (1, Scenario((*_TO_APPROACHED, "close", "reopen"))),
    (4, Scenario(("research",))),
    (1, Scenario(("research",), overdue=True)),
    (4, Scenario(_TO_APPROACHED)),
    (1, Scenario(_TO_APPROACHED, overdue=True)),
    (1, Scenario(_REVIVED)),
    (1, Scenario((*_TO_NEEDS, "go_dormant", "revive"))),
    (5, Scenario(_TO_NEEDS)),
    (1, Scenario(_TO_NEEDS, overdue=True)),
    (4, Scenario(_TO_AGREEING)),
    (2, Scenario(_TO_AGREEING, overdue=True)),
    (6, Scenario(_TO_ACTIVE)),
    (3, Scenario(_RENEWED)),
    (1, Scenario(_REVIVED_TO_ACTIVE)),
    (2, Scenario(_REVIEWED)),
    (1, Scenario(_REVIEWED, overdue=True)),
    (1, Scenario((*_RENEWED, "start_review"))),
    (2, Scenario((*_TO_APPROACHED, "go_dormant"))),
    (1, Scenario((*_TO_NEEDS, "go_dormant"), overdue=True)),
    (1, Scenario((*_TO_AGREEING, "go_dormant"))),
    (1, Scenario((*_TO_ACTIVE, "go_dormant"))),
    (1, Scenario(("close",))),
    (1, Scenario((*_TO_APPROACHED, "close"))),
    (1, Scenario((*_TO_APPROACHED, "go_dormant", "close"))),
    (1, Scenario((*_TO_AGREEING, "close"))),
    (1, Scenario((*_REVIEWED, "close"))),
)

# Days in a stage before a step leaves it, where the stage's SLA is no guide.
DWELL_DAYS: dict[tuple[str, str], tuple[int, int]] = {
    ("dormant", "revive"): (15, 50),
    ("dormant", "close"): (30, 55),
    ("closed", "reopen"): (120, 300),
}
CLOSE_DAYS = (5, 25)
OVERDUE_DAYS = (3, 20)
SILENCE_DAYS = 91  # no two-way contact for this long, then the timer makes it dormant
CADENCE_DAYS = (30, 65)  # two-way contact while a partnership is active
SYSTEM_DORMANT_SHARE = 0.6
DRAFT_SHARE = 0.4
EARLY_MINUTE, LATE_MINUTE = 7 * 60 + 30, 16 * 60 + 30
TIMER_MINUTE = 5 * 60  # the nightly scheduler run
TEXTS: dict[str, tuple[str, ...]] = {
    "needs_summary": NEEDS_SUMMARIES,
    "review_notes": REVIEW_NOTES,
}
COMMENTS: dict[str, tuple[str, ...]] = {"renew": RENEW_COMMENTS, "reopen": REOPEN_COMMENTS}


def moment(today: dt.date, days_ago: int, minute_of_day: int) -> dt.datetime:
    """A UTC time `days_ago` days before `today`, `minute_of_day` minutes after midnight."""
    day = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(), dt.UTC)
    return day + dt.timedelta(minutes=minute_of_day)


@dataclass(frozen=True)
class PlannedEntry:
    """A timeline entry to log, dated in days before the day of loading."""

    kind: ActivityKind
    days_ago: int
    minute_of_day: int
    subject: str
    body: str
    contact: int | None
    author: str

    def occurred_at(self, today: dt.date) -> dt.datetime:
        """When it happened, in UTC office hours, never later than yesterday."""
        return moment(today, self.days_ago, self.minute_of_day)


@dataclass(frozen=True)
class PlannedStep:
    """A transition to fire, dated in days before the day of loading."""

    transition: str
    days_ago: int
    minute_of_day: int
    actor: str | None  # the e-mail of the user who fires it; None: the scheduler's timer
    comment: str = ""
    texts: tuple[tuple[str, str], ...] = ()  # fields to fill in first
    dates: tuple[tuple[str, int], ...] = ()  # date fields to fill in first, in days ago

    def occurred_at(self, today: dt.date) -> dt.datetime:
        return moment(today, self.days_ago, self.minute_of_day)


@dataclass(frozen=True)
class PlannedJourney:
    """A demo partnership: when it was opened, its steps, and work in progress now."""

    started_days_ago: int
    started_minute: int
    steps: tuple[PlannedStep, ...]
    ticks_now: int = 0  # checklist items of the current stage ticked already
    drafts: tuple[tuple[str, str], ...] = ()  # fields already written for the next step

    def started_at(self, today: dt.date) -> dt.datetime:
        return moment(today, self.started_days_ago, self.started_minute)


def scenarios(organisations: int, rng: random.Random) -> list[Scenario | None]:
    """One scenario per organisation (None: no partnership), in a seeded order."""
    pool: list[Scenario | None] = [s for count, s in SCENARIOS for _ in range(count)]
    pool = pool[:organisations] + [None] * max(0, organisations - len(pool))
    rng.shuffle(pool)
    return pool


def contacts_needed(workflow: WorkflowDef, scenario: Scenario | None) -> int:
    """How many contacts (in `ROLE_ORDER`) the scenario's guards need at least."""
    needed = 0
    for name in scenario.path if scenario else ():
        for call in workflow.transition(name).guards:
            if call.name == "contact_with_role":
                role = ROLE_ORDER.index(call.params["role"])
                needed = max(needed, role + 1)
    return needed


# --- planning --------------------------------------------------------------------------------


@dataclass
class _Phase:
    """A stay in one stage, from the day it was entered to the step that left it (if any)."""

    state: str
    entered: int  # days ago
    entered_minute: int
    left: PlannedStep | None

    @property
    def left_day(self) -> int:
        return self.left.days_ago if self.left else 0


class JourneyPlanner:
    """Plans a scenario's steps and the timeline around them, from the demo's random source."""

    def __init__(self, maker: EmployerMaker, workflow: WorkflowDef):
        self.maker = maker
        self.rng = maker.rng
        self.workflow = workflow
        # Stages a guarded timer (no contact for N days) watches: keep in touch there.
        self.watched = {
            state
            for t in workflow.transitions
            if t.timer is not None and t.guards
            for state in workflow.from_states_of(t)
        }

    def plan(
        self,
        scenario: Scenario,
        employer: EmployerPlan,
        owner: str,
        colleagues: list[str],
        manager: str,
    ) -> tuple[PlannedJourney, list[PlannedEntry]]:
        """The journey, and the employer's timeline written around it."""
        rng = self.rng
        states = [self.workflow.initial]
        for name in scenario.path:
            transition = self.workflow.transition(name)
            if states[-1] not in self.workflow.from_states_of(transition):
                raise ValueError(f"demo scenario {scenario.path}: no {name} from {states[-1]}")
            states.append(transition.to)
        dwells = [self._dwell(s, t) for s, t in zip(states, scenario.path, strict=False)]
        start = sum(days for days, _ in dwells) + self._current_dwell(states[-1], scenario.overdue)
        day, steps = start, []
        for index, name in enumerate(scenario.path):
            day -= dwells[index][0]
            by_timer = name == "go_dormant" and rng.random() < SYSTEM_DORMANT_SHARE
            actor = self._actor(name, owner, manager, by_timer)
            minute = TIMER_MINUTE if actor is None else rng.randint(10 * 60, 16 * 60)
            steps.append(PlannedStep(name, day, minute, actor, self._comment(name, states[index])))
        phases = [
            _Phase(
                state,
                steps[i - 1].days_ago if i else start,
                steps[i - 1].minute_of_day if i else rng.randint(8 * 60, 10 * 60),
                steps[i] if i < len(steps) else None,
            )
            for i, state in enumerate(states)
        ]
        writer = _TimelineWriter(self, employer, owner, colleagues)
        planned_steps = []
        for index, phase in enumerate(phases):
            silence = dwells[index][1] if index < len(dwells) else None
            step = writer.phase(phase, silence, is_first=index == 0)
            if step is not None:
                planned_steps.append(step)
        journey = PlannedJourney(
            started_days_ago=start,
            started_minute=phases[0].entered_minute,
            steps=tuple(planned_steps),
            ticks_now=self._ticks_now(states, scenario.path),
            drafts=self._drafts(states[-1]),
        )
        return journey, sorted(writer.timeline, key=lambda e: (-e.days_ago, e.minute_of_day))

    def _ticks_now(self, states: list[str], path: tuple[str, ...]) -> int:
        """Checklist items of the current stage ticked already (none if ticked on a past visit)."""
        checklist = self.workflow.states[states[-1]].checklist
        ticked_before = any(
            call.name == "checklist_done" and (call.params.get("state") or source) == states[-1]
            for source, name in zip(states, path, strict=False)
            for call in self.workflow.transition(name).guards
        )
        return 0 if ticked_before or not checklist else self.rng.randint(0, len(checklist) - 1)

    def _drafts(self, state: str) -> tuple[tuple[str, str], ...]:
        """Texts the next steps ask for, some already drafted."""
        drafts = []
        for transition in self.workflow.transitions_from(state):
            for call in transition.guards:
                field = call.params.get("field") if call.name == "field_filled" else None
                if field in TEXTS and self.rng.random() < DRAFT_SHARE:
                    drafts.append((str(field), self._text(str(field))))
        return tuple(drafts)

    def _dwell(self, state: str, name: str) -> tuple[int, int | None]:
        """Days in `state` before step `name`; for a step that waits for silence (going
        dormant), also how many of those days passed without two-way contact."""
        rng = self.rng
        transition = self.workflow.transition(name)
        sla = self.workflow.states[state].sla_days
        if transition.timer is not None and transition.guards:  # goes quiet, then dormant
            contact = rng.randint(3, min(40, sla)) if sla and sla <= 90 else rng.randint(60, 200)
            return contact + SILENCE_DAYS, SILENCE_DAYS
        if transition.timer is not None:  # the yearly review, started on the reminder
            after = transition.timer.after_days
            return rng.randint(int(after * 0.92), after - 1), None
        if (state, name) in DWELL_DAYS:
            return rng.randint(*DWELL_DAYS[(state, name)]), None
        if name == "close":
            return rng.randint(*CLOSE_DAYS), None
        if sla:
            return rng.randint(max(1, sla // 4), sla - 1), None
        return rng.randint(5, 25), None

    def _current_dwell(self, state: str, overdue: bool) -> int:
        """Days since the partnership entered its current stage."""
        spec = self.workflow.states[state]
        if spec.terminal:
            return self.rng.randint(10, 150)
        if not spec.sla_days:
            return self.rng.randint(3, 30)
        if overdue:
            return spec.sla_days + self.rng.randint(*OVERDUE_DAYS)
        return self.rng.randint(1, max(1, spec.sla_days * 4 // 5))

    def _actor(self, name: str, owner: str, manager: str, by_timer: bool) -> str | None:
        transition = self.workflow.transition(name)
        if by_timer and transition.by_system:
            return None
        return owner if "officer" in transition.by or owner == manager else manager

    def _comment(self, name: str, source: str) -> str:
        transition = self.workflow.transition(name)
        if transition.comment != "required":
            return ""
        if name == "close":
            return self.rng.choice(CLOSE_REASONS.get(source, ("No longer pursued.",)))
        return self.rng.choice(COMMENTS.get(name, (transition.label,)))

    def _text(self, field: str) -> str:
        return self.rng.choice(TEXTS.get(field, ("Recorded.",))).format(n=self.rng.randint(2, 4))


class _TimelineWriter:
    """Writes the timeline entries of one journey, phase by phase."""

    def __init__(
        self,
        planner: JourneyPlanner,
        employer: EmployerPlan,
        owner: str,
        colleagues: list[str],
    ):
        self.planner = planner
        self.rng = planner.rng
        self.workflow = planner.workflow
        self.employer = employer
        self.owner = owner
        self.colleagues = colleagues
        self.timeline: list[PlannedEntry] = []

    def add(self, day: int, minute: int, entry: Entry, author: str | None = None) -> None:
        rng = self.rng
        kind, subject, body = entry
        contact: int | None = None
        if kind is not ActivityKind.NOTE or rng.random() < 0.3:
            wants_decision_maker = "memorandum" in subject.lower() or "review" in subject.lower()
            if wants_decision_maker and len(self.employer.contacts) > 1:
                contact = 1
            else:
                contact = 0 if rng.random() < 0.6 else rng.randrange(len(self.employer.contacts))
        if author is None:
            author = self.owner if rng.random() < 0.8 else rng.choice(self.colleagues)
        first_name = self.employer.contacts[contact].first_name if contact is not None else None
        self.timeline.append(
            PlannedEntry(
                kind=kind,
                days_ago=day,
                minute_of_day=minute,
                subject=subject,
                body=self.planner.maker.wording(body, first_name),
                contact=contact,
                author=author,
            )
        )

    def pool(self, state: str, two_way: bool | None = None) -> tuple[Entry, ...]:
        entries = STATE_ENTRIES.get(state, ())
        if two_way is not None:
            entries = tuple(e for e in entries if e[0].is_two_way == two_way)
        return entries

    def inside(
        self, phase: _Phase, first: int, last: int, count: int, two_way: bool | None
    ) -> None:
        """`count` entries of the phase's stage on days strictly between `first` and `last`."""
        pool = self.pool(phase.state, two_way)
        if not pool or first - last < 2:
            return
        for _ in range(count):
            day = self.rng.randint(last + 1, first - 1)
            self.add(day, self.rng.randint(EARLY_MINUTE, LATE_MINUTE), self.rng.choice(pool))

    def phase(self, phase: _Phase, silence: int | None, is_first: bool) -> PlannedStep | None:
        """Entries for one stay in a stage; the step that ends it, with the fields it needs."""
        rng = self.rng
        entered, left = phase.entered, phase.left_day
        if is_first:
            minute = min(LATE_MINUTE, phase.entered_minute + rng.randint(5, 60))
            self.add(
                entered, minute, rng.choice(self.pool(phase.state) or STATE_ENTRIES["identified"])
            )
        spec = self.workflow.states[phase.state]
        if spec.terminal:
            return phase.left
        quiet_until = left + silence if silence else left  # two-way contact ends here
        if silence:
            last_contact = rng.choice(self.pool(phase.state, True) or (GUARD_ENTRIES["revive"],))
            self.add(quiet_until, rng.randint(9 * 60, LATE_MINUTE), last_contact, self.owner)
            self.inside(phase, quiet_until, left, rng.randint(0, 2), False)
        length = entered - quiet_until
        if phase.state in self.planner.watched and length > 60:
            day = entered
            while day - CADENCE_DAYS[1] > quiet_until:  # never 90 days without two-way contact
                day -= rng.randint(*CADENCE_DAYS)
                self.add(
                    day,
                    rng.randint(EARLY_MINUTE, LATE_MINUTE),
                    rng.choice(self.pool(phase.state, True)),
                )
            self.inside(phase, entered, quiet_until, length // 120, False)
        else:
            self.inside(phase, entered, quiet_until, rng.randint(0, 2), None)
        if phase.left is None:
            return None
        return self._before_step(phase)

    def _before_step(self, phase: _Phase) -> PlannedStep:
        """The contact a step's guard asks for, logged just before; the fields filled in."""
        rng = self.rng
        step = phase.left
        assert step is not None
        transition = self.workflow.transition(step.transition)
        room = phase.entered - step.days_ago - 1  # whole days strictly inside the stay
        texts, dates = [], []
        entry_day = step.days_ago
        if step.transition in ("analyse_needs", "renew") and room > 0:
            entry_day = step.days_ago + rng.randint(1, min(4, room))
        for call in transition.guards:
            if call.name != "field_filled":
                continue
            field = call.params["field"]
            if isinstance(Partnership.__table__.c[field].type, sa.Date):
                entry_day = step.days_ago + rng.randint(0, min(2, max(room, 0)))
                dates.append((field, entry_day))
            else:
                texts.append((field, self.planner._text(field)))
        entry = GUARD_ENTRIES.get(step.transition)
        if entry is not None:
            minute = (
                step.minute_of_day - rng.randint(15, 90)
                if entry_day == step.days_ago
                else rng.randint(EARLY_MINUTE, LATE_MINUTE)
            )
            self.add(entry_day, minute, entry, step.actor or self.owner)
        return dataclasses.replace(step, texts=tuple(texts), dates=tuple(dates))


# --- loading ---------------------------------------------------------------------------------


def log_entry(
    entry: PlannedEntry,
    organisation: Organisation,
    people: list[Contact],
    users: dict[str, User],
    today: dt.date,
) -> None:
    """Log a planned timeline entry through the activity service."""
    values = ActivityValues(
        kind=entry.kind,
        occurred_at=entry.occurred_at(today),
        subject=entry.subject,
        body=entry.body,
        contact_id=people[entry.contact].id if entry.contact is not None else None,
    )
    log_activity(organisation, values, users[entry.author])


def play_journey(
    journey: PlannedJourney,
    entries: tuple[PlannedEntry, ...],
    organisation: Organisation,
    people: list[Contact],
    users: dict[str, User],
    today: dt.date,
) -> Partnership:
    """Open the partnership, then log the timeline and fire the steps in the order they happened."""
    owner = users_by_id(users)[organisation.owner_id]
    partnership = start_partnership(organisation, owner)
    partnership.state_entered_at = partnership.created_at = journey.started_at(today)
    db.session.flush()
    events: list[tuple[dt.datetime, int, PlannedEntry | PlannedStep]] = [
        (entry.occurred_at(today), 0, entry) for entry in entries
    ]
    events.extend((step.occurred_at(today), 1, step) for step in journey.steps)
    for _, _, item in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(item, PlannedEntry):
            log_entry(item, organisation, people, users, today)
        else:
            _fire(partnership, item, users, owner, today)
    state = definition_for(partnership).states[partnership.state]
    for checklist_item in state.checklist[: journey.ticks_now]:
        set_checklist_item(partnership, partnership.state, checklist_item.key, True, owner)
    if journey.drafts:
        _fill(partnership, dict(journey.drafts), {}, owner, today)
    _settle_times(partnership, journey, today)
    return partnership


def users_by_id(users: dict[str, User]) -> dict[int, User]:
    return {user.id: user for user in users.values()}


def _fire(
    partnership: Partnership, step: PlannedStep, users: dict[str, User], owner: User, today: dt.date
) -> None:
    """Tick what the step's guards check, fill its fields, fire it at its date."""
    when = step.occurred_at(today)
    definition = definition_for(partnership)
    transition = definition.transition(step.transition)
    ticked = dict(partnership.checklist)
    for call in transition.guards:
        if call.name == "checklist_done":
            state = call.params.get("state") or partnership.state
            ticked[state] = sorted(item.key for item in definition.states[state].checklist)
    if ticked != partnership.checklist:  # as the owner's ticks on the page would leave it
        partnership.checklist = ticked
    _fill(partnership, dict(step.texts), dict(step.dates), owner, today)
    if step.actor is None:
        fire(partnership, step.transition, party="system", comment=step.comment, now=when)
    else:
        actor = users[step.actor]
        fire(partnership, step.transition, user=actor, comment=step.comment, now=when)
    if any(call.name == "schedule_follow_up" for call in transition.effects):
        # The effect stamps its follow-up with the real clock; the app would have used `when`.
        db.session.execute(
            sa.update(FollowUp)
            .where(
                FollowUp.record_type == "partnership",
                FollowUp.record_id == partnership.id,
                FollowUp.created_at > when,
            )
            .values(created_at=when)
            .execution_options(synchronize_session=False)
        )


def _fill(
    partnership: Partnership,
    texts: dict[str, str],
    dates: dict[str, int],
    owner: User,
    today: dt.date,
) -> None:
    """Write fields through the service, as the owner would on the partnership's page."""
    changes: dict[str, Any] = {**texts}
    changes.update({name: today - dt.timedelta(days=days) for name, days in dates.items()})
    known = {f.name for f in dataclasses.fields(PartnershipValues)}
    if changes.keys() & known:
        values = PartnershipValues(
            title=partnership.title,
            needs_summary=partnership.needs_summary,
            memorandum_signed_on=partnership.memorandum_signed_on,
            review_notes=partnership.review_notes,
        )
        values = dataclasses.replace(values, **{k: v for k, v in changes.items() if k in known})
        update_partnership(partnership, values, owner)
    for name, value in changes.items():
        if name not in known:
            setattr(partnership, name, value)
    db.session.flush()  # `fire` reloads the record: what is not flushed would be lost


def _settle_times(partnership: Partnership, journey: PlannedJourney, today: dt.date) -> None:
    """Bookkeeping times as of the last step, not the moment of loading.

    Follow-ups that fell due while open had their reminder queued then by the reminder job.
    """
    last = journey.steps[-1].occurred_at(today) if journey.steps else journey.started_at(today)
    partnership.updated_at = last
    db.session.flush()
    ended = sa.func.coalesce(FollowUp.completed_at, utcnow())
    reminded = sa.case((FollowUp.due_at < ended, FollowUp.due_at), else_=None)
    db.session.execute(
        sa.update(FollowUp)
        .where(FollowUp.record_type == "partnership", FollowUp.record_id == partnership.id)
        .values(
            reminder_sent_at=reminded,
            updated_at=sa.func.coalesce(FollowUp.completed_at, reminded, FollowUp.created_at),
        )
        .execution_options(synchronize_session=False)
    )
