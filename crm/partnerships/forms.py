"""Partnership forms: details, firing a transition, ticking the checklist, bulk moves."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.partnerships.service import PartnershipValues
from crm.workflow.actions import ChecklistForm, TransitionForm

__all__ = [
    "BulkMoveForm",
    "ChecklistForm",
    "PartnershipForm",
    "TransitionForm",
]


class PartnershipForm(FlaskForm):
    """The details the officer keeps and the guards check."""

    title = StringField(
        _l("Title"),
        validators=[Optional(), Length(max=200)],
        description=_l("Optional, e.g. the programme or site it concerns."),
    )
    needs_summary = TextAreaField(
        _l("Skill needs and engagement interests"),
        validators=[Optional(), Length(max=20000)],
        description=_l(
            "What the employer needs and how they want to engage: hosting learners, "
            "co-designing curricula, guest teaching, recruitment."
        ),
    )
    memorandum_signed_on = DateField(_l("Memorandum signed on"), validators=[Optional()])
    review_notes = TextAreaField(_l("Review notes"), validators=[Optional(), Length(max=20000)])
    owner_id = SelectField(_l("Owner"), coerce=int, validators=[Optional()])

    def values(self) -> PartnershipValues:
        """The plain values for the service."""
        owner = getattr(self, "owner_id", None)
        return PartnershipValues(
            title=self.title.data or "",
            needs_summary=self.needs_summary.data or "",
            memorandum_signed_on=self.memorandum_signed_on.data,
            review_notes=self.review_notes.data or "",
            owner_id=owner.data if owner is not None else None,
        )


class BulkMoveForm(FlaskForm):
    """Fire one transition on the selected partnerships."""

    transition = SelectField(_l("Move the selected partnerships"), validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])
