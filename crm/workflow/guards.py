"""Built-in guards. Each returns None when it holds, or a sentence saying what to do."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import BaseModel, ConfigDict, Field

from crm.workflow.engine import Facts, GuardContext
from crm.workflow.registry import RECORD_TYPES, guard


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldParams(_Params):
    field: str


class ChecklistParams(_Params):
    state: str | None = None


ContactRoleName = Literal["focal_person", "decision_maker", "workplace_supervisor"]


class ContactRoleParams(_Params):
    role: ContactRoleName


ActivityKindName = Literal["note", "call", "email", "meeting", "visit"]


class ActivityParams(_Params):
    kinds: tuple[ActivityKindName, ...] = Field(
        default=("call", "email", "meeting", "visit"), min_length=1
    )


class DaysParams(_Params):
    days: int = Field(ge=1, le=3650)


class RelatedParams(_Params):
    relation: str
    states: tuple[str, ...] = Field(min_length=1)


class HoursParams(_Params):
    reason_field: str | None = "hours_shortfall_reason"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _field_label(record: str, field: str) -> str:
    label = RECORD_TYPES[record].fields.get(field)
    return str(label) if label is not None else field


@guard("field_filled", FieldParams)
def field_filled(params: FieldParams, facts: Facts, context: GuardContext) -> str | None:
    """A field of the record is filled in."""
    if _blank(facts.fields.get(params.field)):
        return _(
            "Fill in %(field)s before moving to %(state)s.",
            field=_field_label(context.definition.record, params.field),
            state=context.target_label,
        )
    return None


@guard("checklist_done", ChecklistParams)
def checklist_done(params: ChecklistParams, facts: Facts, context: GuardContext) -> str | None:
    """Every checklist item of the current (or the named) state is ticked."""
    state = params.state or facts.state
    ticked = facts.checklist.get(state, frozenset())
    missing = [
        _(item.label)
        for item in context.definition.state(state).checklist
        if item.key not in ticked
    ]
    if missing:
        return _(
            "Tick the checklist before moving to %(state)s: %(items)s.",
            state=context.target_label,
            items="; ".join(missing),
        )
    return None


@guard("contact_with_role", ContactRoleParams, records=frozenset({"partnership", "placement"}))
def contact_with_role(params: ContactRoleParams, facts: Facts, context: GuardContext) -> str | None:
    """The organisation has an active contact with the given role."""
    if params.role in facts.contact_roles:
        return None
    messages = {
        "focal_person": _("Record a focal person before moving to %(state)s."),
        "decision_maker": _("Record a decision maker before moving to %(state)s."),
        "workplace_supervisor": _("Record a workplace supervisor before moving to %(state)s."),
    }
    return messages[params.role] % {"state": context.target_label}


@guard("activity_logged", ActivityParams, records=frozenset({"partnership", "placement"}))
def activity_logged(params: ActivityParams, facts: Facts, context: GuardContext) -> str | None:
    """An activity of one of the kinds was logged since the record entered its state."""
    if facts.activity_kinds_since_entered & set(params.kinds):
        return None
    return _(
        "Log a contact with the employer (%(kinds)s) before moving to %(state)s.",
        kinds=", ".join(_kind_label(k) for k in params.kinds),
        state=context.target_label,
    )


def _kind_label(kind: str) -> str:
    labels = {
        "note": _("note"),
        "call": _("call"),
        "email": _("e-mail"),
        "meeting": _("meeting"),
        "visit": _("visit"),
    }
    return labels[kind]


@guard("no_two_way_contact_for", DaysParams, records=frozenset({"partnership"}))
def no_two_way_contact_for(params: DaysParams, facts: Facts, context: GuardContext) -> str | None:
    """There was no call, meeting or visit for at least the given number of days."""
    last = facts.last_two_way_contact_at
    if last is None or facts.now - last >= dt.timedelta(days=params.days):
        return None
    days = (facts.now - last).days
    if days == 0:
        return _("There was two-way contact today.")
    return ngettext(
        "There was two-way contact %(num)d day ago.",
        "There was two-way contact %(num)d days ago.",
        days,
    )


@guard("related_in_state", RelatedParams, records=frozenset({"placement", "agreement"}))
def related_in_state(params: RelatedParams, facts: Facts, context: GuardContext) -> str | None:
    """A related record (e.g. the placement's partnership) is in one of the given states."""
    state = facts.related_states.get(params.relation)
    if state in params.states:
        return None
    relation_labels = {
        "partnership": _("the partnership with the organisation"),
        "agreement": _("the agreement"),
        "placement": _("the placement"),
    }
    return _(
        "Before moving to %(state)s, %(relation)s must be: %(states)s.",
        state=context.target_label,
        relation=relation_labels.get(params.relation, params.relation),
        states=", ".join(params.states),
    )


@guard("hours_target_met", HoursParams, records=frozenset({"placement"}))
def hours_target_met(params: HoursParams, facts: Facts, context: GuardContext) -> str | None:
    """The hours logged reach the target, or a reason for the shortfall is recorded."""
    target = facts.fields.get("hours_target") or 0
    logged = facts.fields.get("hours_logged") or 0
    if logged >= target:
        return None
    if params.reason_field and not _blank(facts.fields.get(params.reason_field)):
        return None
    return _(
        "Log at least %(target)s hours (%(logged)s so far), or record why the target was not met.",
        target=target,
        logged=logged,
    )


@guard("dates_within_programme_year", records=frozenset({"placement"}))
def dates_within_programme_year(
    params: BaseModel, facts: Facts, context: GuardContext
) -> str | None:
    """The placement's dates lie inside the programme year."""
    start, end = facts.fields.get("start_date"), facts.fields.get("end_date")
    year_start = facts.fields.get("programme_starts_on")
    year_end = facts.fields.get("programme_ends_on")
    if start is None or end is None:
        return _(
            "Set the start and end dates before moving to %(state)s.", state=context.target_label
        )
    if end < start:
        return _("The end date lies before the start date.")
    if year_start and year_end and not (year_start <= start and end <= year_end):
        return _(
            "The dates must lie inside the programme year (%(start)s to %(end)s).",
            start=year_start.isoformat(),
            end=year_end.isoformat(),
        )
    return None


@guard("guardian_consent_if_minor", records=frozenset({"placement"}))
def guardian_consent_if_minor(params: BaseModel, facts: Facts, context: GuardContext) -> str | None:
    """A learner under 18 on the start date needs a guardian's consent recorded."""
    birth, start = facts.fields.get("learner_birth_date"), facts.fields.get("start_date")
    if birth is None or start is None:
        return None
    adult_on = (
        birth.replace(year=birth.year + 18)
        if not (birth.month == 2 and birth.day == 29)
        else dt.date(birth.year + 18, 3, 1)
    )
    if start >= adult_on or not _blank(facts.fields.get("guardian_consent_on")):
        return None
    return _(
        "The learner is under 18 at the start: record the guardian's consent "
        "before moving to %(state)s.",
        state=context.target_label,
    )


@guard("date_passed", FieldParams)
def date_passed(params: FieldParams, facts: Facts, context: GuardContext) -> str | None:
    """A date field of the record lies in the past (e.g. an agreement's expiry date)."""
    value = facts.fields.get(params.field)
    if value is None:
        return _(
            "Fill in %(field)s before moving to %(state)s.",
            field=_field_label(context.definition.record, params.field),
            state=context.target_label,
        )
    day = value.date() if hasattr(value, "date") else value
    if day >= facts.now.date():
        return _(
            "Wait until %(field)s has passed.",
            field=_field_label(context.definition.record, params.field),
        )
    return None
