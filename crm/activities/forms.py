"""The activity form."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.activities.models import ACTIVITY_KIND_LABELS, ActivityKind
from crm.activities.service import ActivityValues
from crm.core.validators import choices


def _now_local() -> dt.datetime:
    """Now in the user's time zone, to the minute, as the form's default time."""
    now = to_user_timezone(dt.datetime.now(dt.UTC))
    return now.replace(tzinfo=None, second=0, microsecond=0)


class ActivityForm(FlaskForm):
    """Log a note, call, e-mail, meeting or visit; the time is in the user's time zone."""

    kind = SelectField(
        _l("Kind"), choices=choices((k.value, ACTIVITY_KIND_LABELS[k]) for k in ActivityKind)
    )
    occurred_at = DateTimeLocalField(
        _l("When"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[DataRequired()],
        default=_now_local,
    )
    contact_id = SelectField(_l("With"), coerce=int, validators=[Optional()])
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=20000)])

    def values(self) -> ActivityValues:
        """The plain values for the service, with the time converted to UTC."""
        local: dt.datetime = self.occurred_at.data
        return ActivityValues(
            kind=ActivityKind(self.kind.data),
            occurred_at=to_utc(local).replace(tzinfo=dt.UTC),
            subject=self.subject.data or "",
            body=self.body.data or "",
            contact_id=self.contact_id.data or None,
        )
