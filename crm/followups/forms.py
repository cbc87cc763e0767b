"""Follow-up forms: add one, and the small forms to complete, snooze, reassign or cancel it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.activities.models import ACTIVITY_KIND_LABELS, ActivityKind
from crm.core.validators import choices
from crm.followups.service import CompletionActivity, FollowUpValues

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
# The add form's prefix: the record pages also carry the activity form, with the same names.
PREFIX = "follow_up"


def local_to_utc(local: dt.datetime) -> dt.datetime:
    """A time typed in the user's time zone, as an aware UTC datetime."""
    return to_utc(local).replace(tzinfo=dt.UTC)


def _tomorrow_morning() -> dt.datetime:
    """Tomorrow at nine in the user's time zone: the add form's default due time."""
    now = to_user_timezone(dt.datetime.now(dt.UTC))
    return (now + dt.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None
    )


class FollowUpForm(FlaskForm):
    """Plan something to do about a record; the due time is in the user's time zone."""

    subject = StringField(_l("What needs to be done"), validators=[DataRequired(), Length(max=200)])
    due_at = DateTimeLocalField(
        _l("Due"), format=DATETIME_FORMATS, validators=[DataRequired()], default=_tomorrow_morning
    )
    assignee_id = SelectField(_l("Assigned to"), coerce=int, validators=[DataRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def values(self) -> FollowUpValues:
        """The plain values for the service, with the due time converted to UTC."""
        return FollowUpValues(
            subject=self.subject.data or "",
            due_at=local_to_utc(self.due_at.data),
            assignee_id=self.assignee_id.data,
            notes=self.notes.data or "",
        )


class ActionForm(FlaskForm):
    """The CSRF token and the page to return to, which every follow-up action carries."""

    next = HiddenField()


class CompleteForm(ActionForm):
    """Mark done, optionally logging what happened as an activity."""

    kind = SelectField(
        _l("Log it as"),
        choices=choices(
            [("", _l("Do not log an activity"))]
            + [(k.value, ACTIVITY_KIND_LABELS[k]) for k in ActivityKind]
        ),
        validators=[Optional()],
    )
    text = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=20000)])

    def activity(self) -> CompletionActivity | None:
        """The activity to log with the completion, or None."""
        if not self.kind.data:
            return None
        return CompletionActivity(kind=ActivityKind(self.kind.data), text=self.text.data or "")


class SnoozeForm(ActionForm):
    """Move the due time by a day, a week, or to a chosen time (in the user's time zone)."""

    by = SelectField(choices=choices((by, by) for by in ("day", "week", "until")))
    until = DateTimeLocalField(_l("Snooze until"), format=DATETIME_FORMATS, validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        """A chosen time is needed when snoozing "until" (Optional stops field validators)."""
        if not super().validate(extra_validators):
            return False
        if self.by.data == "until" and self.until.data is None:
            self.until.errors = [_l("Choose the date and time to snooze until.")]
            return False
        return True

    def until_utc(self) -> dt.datetime | None:
        """The chosen time in UTC when snoozing "until", else None."""
        if self.by.data != "until" or self.until.data is None:
            return None
        return local_to_utc(self.until.data)


class ReassignForm(ActionForm):
    """Give the follow-up to someone else."""

    assignee_id = SelectField(_l("Assign to"), coerce=int, validators=[DataRequired()])
