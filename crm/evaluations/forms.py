"""The employer's evaluation form (one rating per programme skill) and the learner's feedback
form. Radio answers arrive as strings and are checked against their choices here; the forms
hand the service plain values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, Form, IntegerField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional, StopValidation

from crm.core.validators import choices
from crm.db import utcnow
from crm.evaluations.service import (
    COMMENTS_MAX,
    HOST_AGAIN_MAX,
    EmployerEvaluationValues,
    LearnerFeedbackValues,
)
from crm.learners.models import ProgrammeOutcome
from crm.organisations.models import CapacityPeriod

NOT_OBSERVED = "none"
SCALE_CHOICES = choices((str(n), str(n)) for n in range(1, 6))
SKILL_CHOICES = [*SCALE_CHOICES, *choices([(NOT_OBSERVED, _l("Not observed"))])]
YES_NO = choices([("yes", _l("Yes")), ("no", _l("No"))])
PERIOD_CHOICES = choices(
    [
        (CapacityPeriod.TERM.value, _l("per term")),
        (CapacityPeriod.YEAR.value, _l("per school year")),
    ]
)
_COMMENTS_TOO_LONG = _l("Please keep this under %(max)d characters.", max=COMMENTS_MAX)


def _scale(label: Any, message: Any, options: list[SelectChoice] | None = None) -> RadioField:
    """A required radio scale whose only error, when nothing or something odd is chosen,
    is `message`."""
    return RadioField(label, choices=options or SCALE_CHOICES, invalid_choice_message=message)


class _OnlyIfHostingAgain:
    """Leave the field alone (and forget its errors) unless "host again" was answered yes."""

    def __call__(self, form: Form, field: Field) -> None:
        if form.host_again.data != "yes":
            field.errors[:] = []
            raise StopValidation()


class _HowMany:
    """A whole number of learners from 1 to HOST_AGAIN_MAX, with one plain message."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.process_errors or field.data is None or not 1 <= field.data <= HOST_AGAIN_MAX:
            field.errors[:] = []
            raise StopValidation(
                _l("Enter how many learners you could host, from 1 to %(max)d.", max=HOST_AGAIN_MAX)
            )


class _FromDate:
    """A real date, not in the past (a day's slack for time zones)."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.process_errors or field.data is None:
            field.errors[:] = []
            raise StopValidation(_l("Enter a valid date, or leave it empty."))
        if field.data < utcnow().date() - dt.timedelta(days=1):
            raise StopValidation(_l("This date has passed: enter a date from today on."))


class EmployerEvaluationForm(FlaskForm):
    """The employer's evaluation; `for_outcomes` adds one `skill_<id>` field per skill."""

    satisfaction = _scale(
        _l("Overall, how satisfied are you with the placement?"),
        _l("Choose how satisfied you are, from 1 to 5."),
    )
    comments = TextAreaField(
        _l("Comments"),
        validators=[Length(max=COMMENTS_MAX, message=_COMMENTS_TOO_LONG)],
        description=_l("What did the learner do well? What should they work on next?"),
    )
    host_again = RadioField(
        _l("Would you host a learner again?"),
        choices=YES_NO,
        invalid_choice_message=_l("Answer yes or no."),
    )
    host_again_count = IntegerField(
        _l("How many learners?"),
        validators=[_OnlyIfHostingAgain(), _HowMany()],
        description=_l("From 1 to %(max)d.", max=HOST_AGAIN_MAX),
    )
    host_again_period = RadioField(
        _l("Over which period?"),
        choices=PERIOD_CHOICES,
        validators=[_OnlyIfHostingAgain()],
        invalid_choice_message=_l("Choose per term or per school year."),
    )
    host_again_from = DateField(
        _l("From when?"),
        validators=[_OnlyIfHostingAgain(), Optional(), _FromDate()],
    )

    outcomes: Sequence[ProgrammeOutcome] = ()

    @classmethod
    def for_outcomes(
        cls, outcomes: Sequence[ProgrammeOutcome], **defaults: Any
    ) -> EmployerEvaluationForm:
        """The form asking for a rating of each of `outcomes` (in order)."""
        fields = {
            f"skill_{outcome.id}": _scale(
                outcome.text, _l("Rate this skill, or choose “not observed”."), SKILL_CHOICES
            )
            for outcome in outcomes
        }
        form_class = type("EmployerEvaluationForm", (cls,), {**fields, "outcomes": tuple(outcomes)})
        return form_class(**defaults)

    def skill_fields(self) -> list[tuple[ProgrammeOutcome, RadioField]]:
        """Each skill with its field, in the programme's order."""
        return [(outcome, self[f"skill_{outcome.id}"]) for outcome in self.outcomes]

    def in_page_order(self) -> list[Field]:
        """The answers in the order the page asks them (for the list of problems)."""
        return [
            self.satisfaction,
            *(field for _outcome, field in self.skill_fields()),
            self.comments,
            self.host_again,
            self.host_again_count,
            self.host_again_period,
            self.host_again_from,
        ]

    def values(self) -> EmployerEvaluationValues:
        """The plain values for the service (call after `validate`)."""
        host_again = self.host_again.data == "yes"
        return EmployerEvaluationValues(
            satisfaction=int(self.satisfaction.data),
            ratings={
                outcome.id: None if field.data == NOT_OBSERVED else int(field.data)
                for outcome, field in self.skill_fields()
            },
            comments=(self.comments.data or "").strip(),
            host_again=host_again,
            host_again_count=self.host_again_count.data if host_again else None,
            host_again_period=CapacityPeriod(self.host_again_period.data) if host_again else None,
            host_again_from=self.host_again_from.data if host_again else None,
        )


class LearnerFeedbackForm(FlaskForm):
    """The learner's feedback on their placement."""

    satisfaction = _scale(
        _l("Overall, how satisfied are you with your placement?"),
        _l("Choose how satisfied you are, from 1 to 5."),
    )
    objectives = _scale(
        _l("Did the placement help you reach the learning objectives?"),
        _l("Choose an answer from 1 to 5."),
    )
    went_well = TextAreaField(
        _l("What went well?"), validators=[Length(max=COMMENTS_MAX, message=_COMMENTS_TOO_LONG)]
    )
    could_be_better = TextAreaField(
        _l("What could be better?"),
        validators=[Length(max=COMMENTS_MAX, message=_COMMENTS_TOO_LONG)],
    )
    recommends = RadioField(
        _l("Would you recommend this workplace to another learner?"),
        choices=YES_NO,
        invalid_choice_message=_l("Answer yes or no."),
    )

    def in_page_order(self) -> list[Field]:
        """The answers in the order the page asks them (for the list of problems)."""
        return [
            self.satisfaction,
            self.objectives,
            self.went_well,
            self.could_be_better,
            self.recommends,
        ]

    def values(self) -> LearnerFeedbackValues:
        """The plain values for the service (call after `validate`)."""
        return LearnerFeedbackValues(
            satisfaction=int(self.satisfaction.data),
            objectives=int(self.objectives.data),
            went_well=(self.went_well.data or "").strip(),
            could_be_better=(self.could_be_better.data or "").strip(),
            recommends=self.recommends.data == "yes",
        )
