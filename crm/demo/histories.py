"""Partnership histories for the scale generator: valid walks through the workflow definition.

A history is planned backwards from the stage the partnership is in now: the step into that
stage is drawn from the definition's transitions into it (weighted, e.g. most partnerships
reach `approached` by a first approach, some by being revived), then the step into that step's
from-stage, and so on back to the initial stage. Only transitions the owner (an officer) may
fire are used, and at most `MAX_STEPS` of them. Time spent in each stage follows the stage's
SLA and the transition's timer. The effects the service would run (follow-ups scheduled and
closed), the fields the guards need and the ticked checklists are derived from the same walk,
so the rows look as if the app had written them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from crm.demo.stories import CLOSE_REASONS, NEEDS_SUMMARIES, RENEW_COMMENTS, REVIEW_NOTES
from crm.followups.models import FollowUpStatus
from crm.partnerships.models import Partnership
from crm.workflow.definitions import TransitionDef, WorkflowDef

MAX_STEPS = 8
ACTOR_ROLE = "officer"
# How many partnerships end up in each stage (stages not named here weigh DEFAULT_WEIGHT).
STATE_WEIGHTS: dict[str, float] = {
    "identified": 16,
    "researched": 11,
    "approached": 13,
    "needs_analysed": 9,
    "agreeing": 7,
    "active": 22,
    "under_review": 5,
    "dormant": 8,
    "closed": 9,
}
DEFAULT_WEIGHT = 3.0
# How a stage is usually reached, among the transitions into it.
STEP_WEIGHTS: dict[str, float] = {"approach": 85, "revive": 15, "activate": 65, "renew": 35}
# Where partnerships usually are when they are closed or go quiet.
FROM_WEIGHTS: dict[str, dict[str, float]] = {
    "close": {
        "identified": 3,
        "researched": 1,
        "approached": 3,
        "needs_analysed": 1,
        "agreeing": 1.5,
        "active": 1,
        "under_review": 1,
        "dormant": 4,
    },
    "go_dormant": {"approached": 4, "needs_analysed": 2, "agreeing": 2, "active": 2},
}
OVERDUE_SHARE = 0.15
PARTLY_FILLED_SHARE = 0.4
FOLLOW_UP_DONE_SHARE = 0.5
TEXTS: dict[str, tuple[str, ...]] = {
    "needs_summary": NEEDS_SUMMARIES,
    "review_notes": REVIEW_NOTES,
}


@dataclass(frozen=True)
class Step:
    """One fired transition of a planned history."""

    transition: TransitionDef
    from_state: str
    occurred_at: dt.datetime
    comment: str


@dataclass
class PlannedFollowUp:
    """A follow-up a `schedule_follow_up` effect wrote, and what became of it."""

    subject: str
    rule: str
    created_at: dt.datetime
    due_at: dt.datetime
    status: FollowUpStatus = FollowUpStatus.OPEN
    completed_at: dt.datetime | None = None
    done_by_owner: bool = False  # ticked off by the officer, not closed by a later step
    reminder_sent_at: dt.datetime | None = None


@dataclass
class History:
    """A partnership's planned life: its steps, where it is now, and the rows around it."""

    started_at: dt.datetime
    state: str
    entered_at: dt.datetime
    steps: list[Step]
    fields: dict[str, Any] = field(default_factory=dict)
    checklist: dict[str, list[str]] = field(default_factory=dict)
    follow_ups: list[PlannedFollowUp] = field(default_factory=list)

    @property
    def updated_at(self) -> dt.datetime:
        return self.entered_at


class HistoryMaker:
    """Plans histories on one workflow definition from one seeded random source."""

    def __init__(self, definition: WorkflowDef, rng: random.Random, role: str = ACTOR_ROLE):
        self.definition = definition
        self.rng = rng
        self.allowed = [t for t in definition.transitions if role in t.by]
        self.incoming: dict[str, list[tuple[TransitionDef, str]]] = {
            s: [] for s in definition.states
        }
        for transition in self.allowed:
            for state in definition.from_states_of(transition):
                self.incoming[transition.to].append((transition, state))
        self.distance = self._distances()
        self.targets = [s for s in definition.states if s in self.distance]
        self.target_weights = [STATE_WEIGHTS.get(s, DEFAULT_WEIGHT) for s in self.targets]
        self.terminal = [s for s in self.targets if definition.states[s].terminal]

    def _distances(self) -> dict[str, int]:
        """Fewest steps from the initial stage to each stage the role can reach."""
        distance = {self.definition.initial: 0}
        queue = deque([self.definition.initial])
        while queue:
            state = queue.popleft()
            for transition in self.allowed:
                if state in self.definition.from_states_of(transition):
                    if transition.to not in distance:
                        distance[transition.to] = distance[state] + 1
                        queue.append(transition.to)
        return distance

    # --- the walk -----------------------------------------------------------------------------

    def path(self, target: str, budget: int = MAX_STEPS) -> list[tuple[TransitionDef, str]]:
        """(transition, from-stage) pairs leading from the initial stage to `target`."""
        steps: list[tuple[TransitionDef, str]] = []
        state = target
        while state != self.definition.initial:
            options = [
                (t, source)
                for t, source in self.incoming[state]
                if source in self.distance and self.distance[source] + 1 <= budget
            ]
            weights = [
                STEP_WEIGHTS.get(t.name, 10) * FROM_WEIGHTS.get(t.name, {}).get(source, 1)
                for t, source in options
            ]
            transition, state = self.rng.choices(options, weights=weights)[0]
            steps.append((transition, state))
            budget -= 1
        steps.reverse()
        return steps

    def _dwell(self, state: str, transition: TransitionDef) -> float:
        """Days spent in `state` before `transition` left it."""
        rng = self.rng
        if transition.timer is not None:
            after = transition.timer.after_days
            # A guarded timer (no contact for 90 days) fires when due; a review starts on the
            # officer's reminder shortly before the year is out.
            return after + rng.uniform(0.1, 5) if transition.guards else after * rng.uniform(0.9, 1)
        sla = self.definition.states[state].sla_days
        if sla:
            late = rng.random() < OVERDUE_SHARE
            return max(0.1, sla * (rng.uniform(1.0, 1.8) if late else rng.uniform(0.15, 1.0)))
        return rng.uniform(7, 60)

    def _current_dwell(self, state: str) -> float:
        """Days the partnership has been in its current stage: mostly within the SLA."""
        rng = self.rng
        spec = self.definition.states[state]
        if spec.terminal:
            return rng.uniform(1, 400)
        if spec.sla_days:
            late = rng.random() < OVERDUE_SHARE
            days = spec.sla_days * (rng.uniform(1.02, 2.0) if late else rng.uniform(0.05, 0.95))
        else:
            days = rng.uniform(3, 90)
        timers = [
            t.timer.after_days
            for t in self.definition.transitions_from(state)
            if t.timer is not None
        ]
        if timers:  # the scheduler would have fired the timer already
            days = min(days, min(timers) - 1)
        return max(days, 2 / 24)

    def history(self, earliest: dt.datetime, latest: dt.datetime, closed: bool = False) -> History:
        """A history between `earliest` (the organisation's creation) and `latest` (now)."""
        rng = self.rng
        available = (latest - earliest).total_seconds() / 86400 - 1 / 24
        for _ in range(3):
            target = (
                rng.choice(self.terminal)
                if closed and self.terminal
                else rng.choices(self.targets, weights=self.target_weights)[0]
            )
            path = self.path(target)
            dwells = [self._dwell(source, t) for t, source in path]
            current = self._current_dwell(target)
            if sum(dwells) + current <= available:
                break
        total = sum(dwells) + current
        if total > available:  # a young organisation: the same story, told faster
            scale = max(available, 0.0) / total
            dwells = [d * scale for d in dwells]
            current *= scale
        started = latest - dt.timedelta(days=sum(dwells) + current)
        started = max(started, earliest).replace(microsecond=0)
        steps: list[Step] = []
        moment = started
        for (transition, source), dwell in zip(path, dwells, strict=True):
            moment = max(
                moment + dt.timedelta(minutes=1),
                (moment + dt.timedelta(days=dwell)).replace(microsecond=0),
            )
            steps.append(Step(transition, source, moment, self._comment(transition, source)))
        history = History(
            started_at=started,
            state=path[-1][0].to if path else self.definition.initial,
            entered_at=moment,
            steps=steps,
        )
        self._fill(history, dwells)
        self._follow_ups(history, latest)
        return history

    # --- what the walk implies ------------------------------------------------------------

    def _comment(self, transition: TransitionDef, source: str) -> str:
        if transition.comment != "required":
            return ""
        if transition.name == "close":
            return self.rng.choice(CLOSE_REASONS.get(source, ("No longer pursued.",)))
        if transition.name == "renew":
            return self.rng.choice(RENEW_COMMENTS)
        return transition.label

    def _value(self, name: str, moment: dt.datetime, dwell: float) -> Any:
        """A value for a field a guard asks for, as the officer would have filled it in."""
        column = Partnership.__table__.c[name]
        if isinstance(column.type, sa.Date):
            return (moment - dt.timedelta(days=self.rng.uniform(0, min(dwell, 2)))).date()
        pool = TEXTS.get(name)
        text = self.rng.choice(pool) if pool else "Recorded."
        return text.format(n=self.rng.randint(2, 4))

    def _fill(self, history: History, dwells: list[float]) -> None:
        """Fields and checklists the guards of the history's steps needed, ticked and filled."""
        for step, dwell in zip(history.steps, dwells, strict=True):
            for call in step.transition.guards:
                if call.name == "field_filled":
                    name = call.params["field"]
                    history.fields[name] = self._value(name, step.occurred_at, dwell)
                elif call.name == "checklist_done":
                    state = call.params.get("state") or step.from_state
                    items = [i.key for i in self.definition.states[state].checklist]
                    if items:
                        history.checklist[state] = sorted(items)
        # Work in progress in the current stage: a few items ticked, a text drafted.
        items = [i.key for i in self.definition.states[history.state].checklist]
        if items and history.state not in history.checklist and self.rng.random() < 0.3:
            ticked = self.rng.sample(items, self.rng.randint(1, len(items)))
            history.checklist[history.state] = sorted(ticked)
        for transition in self.definition.transitions_from(history.state):
            for call in transition.guards:
                name = call.params.get("field") if call.name == "field_filled" else None
                if (
                    name
                    and name not in history.fields
                    and name in TEXTS
                    and self.rng.random() < PARTLY_FILLED_SHARE
                ):
                    history.fields[name] = self._value(name, history.entered_at, 0)

    def _follow_ups(self, history: History, latest: dt.datetime) -> None:
        """The follow-ups the steps' effects wrote and closed; some done by the officer."""
        history.follow_ups = planned_follow_ups(self.definition, history.steps, latest, self.rng)


class TimedStep(Protocol):
    """A fired transition and when: what `planned_follow_ups` needs of a step."""

    @property
    def transition(self) -> TransitionDef: ...

    @property
    def occurred_at(self) -> dt.datetime: ...


def planned_follow_ups(
    definition: WorkflowDef, steps: Sequence[TimedStep], latest: dt.datetime, rng: random.Random
) -> list[PlannedFollowUp]:
    """The follow-ups a history's effects wrote and closed; some ticked off by the officer.

    `latest` is now (or when the record stopped changing); a follow-up that fell due while
    open had its reminder queued then by the reminder job.
    """
    rule_prefix = f"{definition.name}."
    follow_ups: list[PlannedFollowUp] = []
    times = [s.occurred_at for s in steps[1:]] + [latest]
    for step, next_event in zip(steps, times, strict=False):
        for call in step.transition.effects:
            if call.name == "close_follow_ups":
                for item in follow_ups:
                    if item.status is FollowUpStatus.OPEN:
                        item.status = FollowUpStatus.DONE
                        item.completed_at = step.occurred_at
            elif call.name == "schedule_follow_up":
                due = step.occurred_at + dt.timedelta(days=int(call.params["days"]))
                item = PlannedFollowUp(
                    subject=str(call.params["subject"]),
                    rule=rule_prefix + step.transition.name,
                    created_at=step.occurred_at,
                    due_at=due,
                )
                done_at = due + dt.timedelta(hours=rng.uniform(-48, 72))
                if done_at < next_event and rng.random() < FOLLOW_UP_DONE_SHARE:
                    item.status = FollowUpStatus.DONE
                    item.completed_at = max(done_at, step.occurred_at)
                    item.done_by_owner = True
                follow_ups.append(item)
    for item in follow_ups:  # the reminder job queued a reminder when each fell due
        if item.due_at < (item.completed_at or latest):
            item.reminder_sent_at = item.due_at
    return follow_ups
