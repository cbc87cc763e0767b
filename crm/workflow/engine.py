"""Pure workflow decisions: who may fire what, what blocks it, what is due. No DB, no Flask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flask_babel import gettext as _
from flask_babel import ngettext

from crm.workflow.definitions import TransitionDef, WorkflowDef
from crm.workflow.registry import GUARDS


@dataclass(frozen=True)
class Facts:
    """What the guards may know about one record, gathered by the service beforehand."""

    state: str
    state_entered_at: dt.datetime
    now: dt.datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    checklist: Mapping[str, frozenset[str]] = field(default_factory=dict)
    contact_roles: frozenset[str] = frozenset()
    activity_kinds_since_entered: frozenset[str] = frozenset()
    last_two_way_contact_at: dt.datetime | None = None
    related_states: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def days_in_state(self) -> int:
        return max(0, (self.now - self.state_entered_at).days)


@dataclass(frozen=True)
class Actor:
    """Who wants to fire: a staff member (with role), an employer or learner by link, the system.

    `may_edit` is the object-level permission the service worked out (e.g. an officer on a
    partnership someone else owns may not move it).
    """

    kind: Literal["user", "employer", "learner", "system"]
    role: str | None = None
    may_edit: bool = True

    @property
    def name(self) -> str:
        return self.role if self.kind == "user" and self.role else self.kind


SYSTEM = Actor(kind="system")


@dataclass(frozen=True)
class GuardContext:
    """What a guard needs besides its parameters and the facts: names for its message."""

    definition: WorkflowDef
    transition: TransitionDef

    @property
    def target_label(self) -> str:
        return _(self.definition.state(self.transition.to).label)


@dataclass(frozen=True)
class Option:
    """A transition the actor may fire from the current state, and why it is blocked if so."""

    transition: TransitionDef
    blocked: tuple[str, ...] = ()

    @property
    def is_available(self) -> bool:
        return not self.blocked


def may_fire(transition: TransitionDef, actor: Actor) -> bool:
    """Whether the actor's role or party is named in the transition's `by`."""
    if actor.kind == "user":
        return actor.role in transition.by and actor.may_edit
    return actor.kind in transition.by


def guard_failures(definition: WorkflowDef, transition: TransitionDef, facts: Facts) -> list[str]:
    """The sentence of every guard that does not hold, in the order written."""
    context = GuardContext(definition, transition)
    failures = []
    for call in transition.guards:
        spec = GUARDS[call.name]
        message = spec.check(spec.params.model_validate(call.params), facts, context)
        if message:
            failures.append(message)
    return failures


def blocked_reasons(
    definition: WorkflowDef, transition: TransitionDef, facts: Facts, actor: Actor
) -> list[str]:
    """Everything that stops `actor` firing `transition` now (empty: it may fire)."""
    if facts.state not in definition.from_states_of(transition):
        return [
            _(
                "This cannot be done from the stage %(state)s.",
                state=_(definition.state(facts.state).label),
            )
        ]
    if not may_fire(transition, actor):
        return [_("You are not allowed to do this.")]
    return guard_failures(definition, transition, facts)


def options(definition: WorkflowDef, facts: Facts, actor: Actor) -> list[Option]:
    """Transitions out of the current state the actor could fire, each with its blockers."""
    result = []
    for transition in definition.transitions_from(facts.state):
        if actor.kind == "user" and actor.role not in transition.by:
            continue  # not offered at all to this role
        if actor.kind != "user" and actor.kind not in transition.by:
            continue
        reasons = blocked_reasons(definition, transition, facts, actor)
        result.append(Option(transition=transition, blocked=tuple(reasons)))
    return result


def timer_transitions(definition: WorkflowDef) -> list[tuple[str, TransitionDef]]:
    """(from-state, transition) pairs that fire by timer, for the scheduler to check."""
    pairs: list[tuple[str, TransitionDef]] = []
    for transition in definition.transitions:
        if transition.timer is not None:
            pairs.extend((state, transition) for state in definition.from_states_of(transition))
    return pairs


def timer_due(transition: TransitionDef, state_entered_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether a timer transition's waiting time in the state has passed."""
    if transition.timer is None:
        return False
    return now - state_entered_at >= dt.timedelta(days=transition.timer.after_days)


@dataclass(frozen=True)
class SlaStatus:
    """How long a record has been in its state against the state's SLA, and whose move it is."""

    days_in_state: int
    sla_days: int | None
    waiting_on: str

    @property
    def is_overdue(self) -> bool:
        return self.sla_days is not None and self.days_in_state > self.sla_days

    @property
    def days_over(self) -> int:
        return max(0, self.days_in_state - (self.sla_days or 0)) if self.sla_days else 0


def sla_status(
    definition: WorkflowDef, state: str, entered_at: dt.datetime, now: dt.datetime
) -> SlaStatus:
    """The SLA position of a record in `state` since `entered_at`."""
    state_def = definition.state(state)
    return SlaStatus(
        days_in_state=max(0, (now - entered_at).days),
        sla_days=state_def.sla_days,
        waiting_on=state_def.waiting_on,
    )


def checklist_missing(definition: WorkflowDef, state: str, ticked: frozenset[str]) -> list[str]:
    """Labels of the checklist items of `state` not yet ticked."""
    return [item.label for item in definition.state(state).checklist if item.key not in ticked]


def requirement(definition: WorkflowDef, transition: TransitionDef, call: Any) -> str:
    """A guard as a sentence for the workflow page: what it asks of an empty record."""
    spec = GUARDS[call.name]
    params = spec.params.model_validate(call.params)
    if call.name in REQUIREMENTS:
        return REQUIREMENTS[call.name](params)
    if call.name == "date_passed":
        from crm.workflow.guards import _field_label

        field = str(getattr(params, "field", ""))
        return _("Only once %(field)s has passed.", field=_field_label(definition.record, field))
    empty = Facts(
        state=definition.from_states_of(transition)[0]
        if definition.from_states_of(transition)
        else definition.initial,
        state_entered_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        last_two_way_contact_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    )
    try:
        message = spec.check(params, empty, GuardContext(definition, transition))
    except Exception:  # a guard that needs real facts to word itself
        message = None
    if message:
        return message
    shown = ", ".join(f"{k}: {v}" for k, v in call.params.items())
    return f"{call.name} ({shown})" if shown else call.name


# Guards whose failure message depends on the record, worded as a rule for the workflow page.
REQUIREMENTS: dict[str, Any] = {
    "no_two_way_contact_for": lambda p: ngettext(
        "Only when there was no call, meeting or visit for %(num)d day.",
        "Only when there was no call, meeting or visit for %(num)d days.",
        p.days,
    ),
    "hours_target_met": lambda p: _(
        "The hours logged reach the hours target, or the shortfall is explained."
    ),
    "guardian_consent_if_minor": lambda p: _(
        "A learner under 18 on the start date needs the guardian's consent recorded."
    ),
    "dates_within_programme_year": lambda p: _(
        "The start and end dates lie inside the programme year."
    ),
}
