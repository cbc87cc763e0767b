"""Placement forms: a new request, the details, matching to an organisation."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from crm.placements.service import PlacementValues


def _optional_id(value: object) -> int | None:
    """A select's id, where "" or 0 means none."""
    if value in (None, "", "0", 0):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


class PlacementRequestForm(FlaskForm):
    """Ask for a placement: the period wished for and the hours (the rest comes with a match)."""

    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    hours_target = IntegerField(
        _l("Hours target"), default=0, validators=[Optional(), NumberRange(min=0, max=5000)]
    )
    officer_id = SelectField(_l("Officer"), coerce=int, validators=[Optional()])

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date lies before the start date."))

    def values(self) -> PlacementValues:
        """The plain values for the service."""
        officer = getattr(self, "officer_id", None)
        return PlacementValues(
            start_date=self.start_date.data,
            end_date=self.end_date.data,
            hours_target=self.hours_target.data or 0,
            officer_id=officer.data if officer is not None else None,
        )


class PlacementForm(PlacementRequestForm):
    """The details of a placement the officer keeps and the guards check."""

    organisation_id = SelectField(_l("Organisation"), coerce=_optional_id, validate_choice=False)
    supervisor_id = SelectField(
        _l("Workplace supervisor"),
        coerce=_optional_id,
        validate_choice=False,
        description=_l(
            "A contact of the organisation, with an e-mail address: they confirm the placement."
        ),
    )
    hours_logged = DecimalField(
        _l("Hours logged"),
        places=1,
        default=Decimal(0),
        validators=[Optional(), NumberRange(min=0, max=99999)],
    )
    workplace_address = TextAreaField(
        _l("Workplace address"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Left empty, the organisation's address is used."),
    )
    role_description = TextAreaField(
        _l("Role description"), validators=[Optional(), Length(max=20000)]
    )
    learning_objectives = TextAreaField(
        _l("Learning objectives"), validators=[Optional(), Length(max=20000)]
    )
    guardian_consent_on = DateField(
        _l("Guardian's consent given on"),
        validators=[Optional()],
        description=_l("Needed before the agreement when the learner is under 18 at the start."),
    )
    hours_shortfall_reason = TextAreaField(
        _l("Why the hours target was not met"), validators=[Optional(), Length(max=5000)]
    )

    def values(self) -> PlacementValues:
        """The plain values for the service."""
        officer = getattr(self, "officer_id", None)
        return PlacementValues(
            organisation_id=self.organisation_id.data,
            supervisor_id=self.supervisor_id.data,
            start_date=self.start_date.data,
            end_date=self.end_date.data,
            hours_target=self.hours_target.data or 0,
            hours_logged=self.hours_logged.data or Decimal(0),
            workplace_address=self.workplace_address.data or "",
            role_description=self.role_description.data or "",
            learning_objectives=self.learning_objectives.data or "",
            guardian_consent_on=self.guardian_consent_on.data,
            hours_shortfall_reason=self.hours_shortfall_reason.data or "",
            officer_id=officer.data if officer is not None else None,
        )


class MatchForm(FlaskForm):
    """Match a learner's placement request (or a new one) to an organisation."""

    organisation_id = IntegerField(validators=[DataRequired()])
    placement_id = HiddenField()
    start_date = HiddenField()
    end_date = HiddenField()
