"""The health score, computed from gathered inputs: pure, no database, no Flask.

Each component starts at its weight and loses the points of the most severe step it reaches
(crm.health.config); the score is 100 minus everything lost. A component says why in a
reason a person reads ("no two-way contact for 94 days: -20"). Reasons are kept as a code
and its values, so that the stored breakdown is shown in each reader's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import has_app_context
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.health.config import (
    TOTAL_POINTS,
    AgreementComponent,
    ContactComponent,
    FollowUpsComponent,
    HealthConfig,
    PlacementsComponent,
    ResponsivenessComponent,
    SatisfactionComponent,
    StageComponent,
)
from crm.workflow.definitions import WorkflowDef

MINUS = "\N{MINUS SIGN}"


@dataclass(frozen=True)
class Memorandum:
    """The partnership's memoranda as far as the score cares."""

    signed: bool = False  # a memorandum is signed (agreement state "signed")
    open_ended: bool = False  # ... and one of them has no expiry date
    expires_on: dt.date | None = None  # the latest expiry of the signed ones
    expired_on: dt.date | None = None  # the latest expiry of memoranda that expired
    signed_on: dt.date | None = None  # the date the officer recorded on the partnership


@dataclass(frozen=True)
class HealthInputs:
    """Everything the score of one partnership depends on, gathered beforehand."""

    partnership_id: int
    state: str
    state_entered_at: dt.datetime
    started_at: dt.datetime
    last_two_way_at: dt.datetime | None = None
    memorandum: Memorandum = field(default_factory=Memorandum)
    capacity_pledge: int = 0
    capacity_period: str = "year"
    placements_hosted: int = 0
    evaluations: int = 0
    satisfaction_total: int = 0
    links_answered: int = 0
    answer_days_total: float = 0.0
    links_expired: int = 0
    overdue_follow_ups: int = 0
    oldest_overdue_at: dt.datetime | None = None


@dataclass(frozen=True)
class ComponentScore:
    """One line of the breakdown: points lost of the weight, and why."""

    key: str
    weight: int
    lost: int
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """The points kept."""
        return self.weight - self.lost

    @property
    def lost_text(self) -> str:
        """The points lost as shown: "\N{MINUS SIGN}20", or "0"."""
        return points_lost(self.lost)

    @property
    def label(self) -> str:
        """The component's name, translated."""
        return str(COMPONENT_LABELS[self.key])

    @property
    def text(self) -> str:
        """The reason in the reader's language, e.g. "no two-way contact for 94 days"."""
        return reason_text(self.reason, self.params)

    @property
    def text_with_points(self) -> str:
        """The reason followed by the points lost: "no two-way contact for 94 days: -20"."""
        return _("%(reason)s: %(points)s", reason=self.text, points=points_lost(self.lost))

    def as_json(self) -> dict[str, Any]:
        """The stored form (partnerships.health_components)."""
        return {
            "key": self.key,
            "weight": self.weight,
            "lost": self.lost,
            "reason": self.reason,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComponentScore:
        """Read the stored form back."""
        return cls(
            key=str(data["key"]),
            weight=int(data["weight"]),
            lost=int(data["lost"]),
            reason=str(data["reason"]),
            params=dict(data.get("params") or {}),
        )


@dataclass(frozen=True)
class Health:
    """A partnership's score and its breakdown (no score in a final stage)."""

    score: int | None
    components: tuple[ComponentScore, ...] = ()

    def as_json(self) -> list[dict[str, Any]]:
        return [c.as_json() for c in self.components]


def points_lost(lost: int) -> str:
    """Points lost as shown: "\N{MINUS SIGN}20", or "0"."""
    return f"{MINUS}{lost}" if lost else "0"


# --- scoring -----------------------------------------------------------------------------------


def score_partnership(
    inputs: HealthInputs,
    config: HealthConfig,
    definition: WorkflowDef,
    now: dt.datetime,
    today: dt.date,
) -> Health:
    """Score one partnership; `today` is the provider's date (for expiry and windows)."""
    state = definition.states.get(inputs.state)
    if state is None or state.terminal:
        return Health(None)
    stage_label = state.label
    scored: list[ComponentScore] = []
    for key, component in config.components.items():
        if component.weight <= 0:
            continue
        if component.states is not None and inputs.state not in component.states:
            scored.append(
                ComponentScore(key, component.weight, 0, "not_counted", {"stage": stage_label})
            )
            continue
        scored.append(COMPONENT_RULES[key](inputs, component, definition, now, today))
    lost = sum(c.lost for c in scored)
    return Health(max(0, min(TOTAL_POINTS, TOTAL_POINTS - lost)), tuple(scored))


def reached(steps: Sequence[Any], hit: Callable[[Any], bool]) -> int:
    """The points of the most severe step `hit` (steps run mildest first), else 0."""
    lost = 0
    for step in steps:
        if hit(step):
            lost = step.points
    return lost


def _days(later: dt.datetime, earlier: dt.datetime) -> int:
    return max(0, (later - earlier).days)


def _contact(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: ContactComponent = c
    if inputs.last_two_way_at is None:
        days = _days(now, inputs.started_at)
        lost = reached(component.steps, lambda s: days > s.after_days)
        return ComponentScore("contact", component.weight, lost, "contact_never", {"days": days})
    days = _days(now, inputs.last_two_way_at)
    lost = reached(component.steps, lambda s: days > s.after_days)
    reason = "contact_none_for" if lost else "contact_last"
    return ComponentScore("contact", component.weight, lost, reason, {"days": days})


def _stage(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: StageComponent = c
    state = definition.state(inputs.state)
    params: dict[str, Any] = {"stage": state.label}
    if not state.sla_days:
        return ComponentScore("stage", component.weight, 0, "stage_no_sla", params)
    days = _days(now, inputs.state_entered_at)
    over = days - state.sla_days
    params.update(days=days, sla=state.sla_days, over=max(0, over))
    if over <= 0:
        return ComponentScore("stage", component.weight, 0, "stage_within", params)
    lost = reached(component.steps, lambda s: over > s.after_days)
    return ComponentScore("stage", component.weight, lost, "stage_over", params)


def _agreement(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: AgreementComponent = c
    memo = inputs.memorandum
    weight = component.weight
    if memo.signed and memo.open_ended:
        return ComponentScore("agreement", weight, 0, "agreement_open_ended")
    if memo.signed and memo.expires_on is not None and memo.expires_on >= today:
        left = (memo.expires_on - today).days
        lost = reached(component.steps, lambda s: left <= s.within_days)
        params = {"date": memo.expires_on.isoformat(), "days": left}
        reason = "agreement_expiring" if lost else "agreement_valid"
        return ComponentScore("agreement", weight, lost, reason, params)
    expired = [d for d in (memo.expired_on, memo.expires_on) if d is not None and d < today]
    if expired:
        params = {"date": max(expired).isoformat()}
        return ComponentScore("agreement", weight, weight, "agreement_expired", params)
    if memo.signed_on is not None:
        params = {"date": memo.signed_on.isoformat()}
        return ComponentScore("agreement", weight, 0, "agreement_signed_on", params)
    return ComponentScore("agreement", weight, weight, "agreement_missing")


def pledged_in(component: PlacementsComponent, pledge: int, period: str) -> int:
    """The placements a pledge promises over the component's months (at least one)."""
    per_year = pledge * (component.terms_per_year if period == "term" else 1)
    return max(1, round(per_year * component.months / 12))


def _placements(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: PlacementsComponent = c
    if inputs.capacity_pledge <= 0:
        return ComponentScore("placements", component.weight, 0, "placements_no_pledge")
    expected = pledged_in(component, inputs.capacity_pledge, inputs.capacity_period)
    percent = inputs.placements_hosted * 100 / expected
    lost = reached(component.steps, lambda s: percent < s.below_percent)
    params = {"hosted": inputs.placements_hosted, "expected": expected, "months": component.months}
    return ComponentScore("placements", component.weight, lost, "placements_hosted", params)


def _satisfaction(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: SatisfactionComponent = c
    if inputs.evaluations <= 0:
        none = {"months": component.months}
        return ComponentScore("satisfaction", component.weight, 0, "satisfaction_none", none)
    # Compared as shown, to one decimal: "3.95" shows as 4.0 and does not lose "below 4".
    average = round(inputs.satisfaction_total / inputs.evaluations, 1)
    lost = reached(component.steps, lambda s: average < s.below)
    params: dict[str, Any] = {"average": average, "count": inputs.evaluations}
    return ComponentScore("satisfaction", component.weight, lost, "satisfaction", params)


def _responsiveness(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: ResponsivenessComponent = c
    answered, expired = inputs.links_answered, inputs.links_expired
    if not answered and not expired:
        params = {"months": component.months}
        return ComponentScore("responsiveness", component.weight, 0, "links_none", params)
    average = round(inputs.answer_days_total / answered, 1) if answered else 0.0
    lost = reached(component.steps, lambda s: average > s.after_days) if answered else 0
    lost = min(component.weight, lost + expired * component.points_per_expired_link)
    params_: dict[str, Any] = {"answered": answered, "days": average, "expired": expired}
    return ComponentScore("responsiveness", component.weight, lost, "links", params_)


def _follow_ups(
    inputs: HealthInputs, c: Any, definition: WorkflowDef, now: dt.datetime, today: dt.date
) -> ComponentScore:
    component: FollowUpsComponent = c
    count = inputs.overdue_follow_ups
    if count <= 0 or inputs.oldest_overdue_at is None:
        return ComponentScore("follow_ups", component.weight, 0, "follow_ups_none")
    lost = reached(component.steps, lambda s: count >= s.at_least)
    params = {"count": count, "date": inputs.oldest_overdue_at.date().isoformat()}
    return ComponentScore("follow_ups", component.weight, lost, "follow_ups_overdue", params)


Rule = Callable[[HealthInputs, Any, WorkflowDef, dt.datetime, dt.date], ComponentScore]
COMPONENT_RULES: dict[str, Rule] = {
    "contact": _contact,
    "stage": _stage,
    "agreement": _agreement,
    "placements": _placements,
    "satisfaction": _satisfaction,
    "responsiveness": _responsiveness,
    "follow_ups": _follow_ups,
}

COMPONENT_LABELS = {
    "contact": _l("Two-way contact"),
    "stage": _l("Stage progress"),
    "agreement": _l("Memorandum"),
    "placements": _l("Placements hosted"),
    "satisfaction": _l("Employer satisfaction"),
    "responsiveness": _l("Answers to links"),
    "follow_ups": _l("Overdue follow-ups"),
}


# --- reasons -----------------------------------------------------------------------------------


def _date(value: str) -> str:
    day = dt.date.fromisoformat(value)
    return format_date(day, "medium") if has_app_context() else day.isoformat()


def _decimal(value: float) -> str:
    return format_decimal(value, "0.0") if has_app_context() else f"{value:.1f}"


def _links(p: Mapping[str, Any]) -> str:
    parts = []
    if p["answered"]:
        parts.append(
            ngettext(
                "%(num)d link answered, after %(days)s days on average",
                "%(num)d links answered, after %(days)s days on average",
                p["answered"],
                days=_decimal(p["days"]),
            )
        )
    if p["expired"]:
        parts.append(
            ngettext("%(num)d expired unanswered", "%(num)d expired unanswered", p["expired"])
        )
    return "; ".join(parts)


REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_counted": lambda p: _("not counted in the “%(stage)s” stage", stage=_(p["stage"])),
    "contact_never": lambda p: ngettext(
        "no two-way contact since the partnership started %(num)d day ago",
        "no two-way contact since the partnership started %(num)d days ago",
        p["days"],
    ),
    "contact_none_for": lambda p: ngettext(
        "no two-way contact for %(num)d day", "no two-way contact for %(num)d days", p["days"]
    ),
    "contact_last": lambda p: (
        _("two-way contact today")
        if p["days"] == 0
        else ngettext(
            "last two-way contact %(num)d day ago",
            "last two-way contact %(num)d days ago",
            p["days"],
        )
    ),
    "stage_no_sla": lambda p: _("no time limit in the “%(stage)s” stage", stage=_(p["stage"])),
    "stage_within": lambda p: _(
        "day %(days)d of %(sla)d in the “%(stage)s” stage",
        days=p["days"],
        sla=p["sla"],
        stage=_(p["stage"]),
    ),
    "stage_over": lambda p: ngettext(
        "%(num)d day over the %(sla)d-day limit of the “%(stage)s” stage",
        "%(num)d days over the %(sla)d-day limit of the “%(stage)s” stage",
        p["over"],
        sla=p["sla"],
        stage=_(p["stage"]),
    ),
    "agreement_open_ended": lambda p: _("memorandum signed, with no expiry date"),
    "agreement_valid": lambda p: _("memorandum valid until %(date)s", date=_date(p["date"])),
    "agreement_expiring": lambda p: (
        _("memorandum expires today")
        if p["days"] == 0
        else ngettext(
            "memorandum expires in %(num)d day, on %(date)s",
            "memorandum expires in %(num)d days, on %(date)s",
            p["days"],
            date=_date(p["date"]),
        )
    ),
    "agreement_expired": lambda p: _("memorandum expired on %(date)s", date=_date(p["date"])),
    "agreement_signed_on": lambda p: _(
        "memorandum signed on %(date)s, no expiry date recorded", date=_date(p["date"])
    ),
    "agreement_missing": lambda p: _("no signed memorandum"),
    "placements_no_pledge": lambda p: _("no capacity pledge recorded"),
    "placements_hosted": lambda p: ngettext(
        "%(hosted)d of %(num)d pledged placement hosted in the last %(months)d months",
        "%(hosted)d of %(num)d pledged placements hosted in the last %(months)d months",
        p["expected"],
        hosted=p["hosted"],
        months=p["months"],
    ),
    "satisfaction_none": lambda p: _(
        "no employer evaluations in the last %(months)d months", months=p["months"]
    ),
    "satisfaction": lambda p: ngettext(
        "average employer satisfaction %(average)s of 5 from %(num)d evaluation",
        "average employer satisfaction %(average)s of 5 from %(num)d evaluations",
        p["count"],
        average=_decimal(p["average"]),
    ),
    "links_none": lambda p: _(
        "no links answered or expired in the last %(months)d months", months=p["months"]
    ),
    "links": _links,
    "follow_ups_none": lambda p: _("no overdue follow-ups"),
    "follow_ups_overdue": lambda p: ngettext(
        "%(num)d overdue follow-up, due %(date)s",
        "%(num)d overdue follow-ups, the oldest due %(date)s",
        p["count"],
        date=_date(p["date"]),
    ),
}


def reason_text(reason: str, params: Mapping[str, Any]) -> str:
    """A stored reason as a sentence in the reader's language."""
    render = REASONS.get(reason)
    if render is None:
        return reason  # written by a newer version of the application
    return render(params)


# --- bands -------------------------------------------------------------------------------------

BAND_LABELS = {
    "thriving": _l("thriving"),
    "steady": _l("steady"),
    "at_risk": _l("at risk"),
    "stalling": _l("stalling"),
}


def band_label(band: str | None) -> str:
    """A band in words ("not scored" without one)."""
    return str(BAND_LABELS[band]) if band else _("not scored")
