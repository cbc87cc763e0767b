"""What the workflow panel posts, for any record page: fire a step, tick a checklist item.

The record's own views find the record (and check who may see it), call one of these, and
redirect back to the record's page. These commit: they are view code.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.extensions import db
from crm.workflow import service as workflow


class TransitionForm(FlaskForm):
    """Fire one transition; the version the user saw travels with the form."""

    transition = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class ChecklistForm(FlaskForm):
    """Tick or untick one checklist item."""

    item = HiddenField(validators=[DataRequired()])
    ticked = HiddenField()


def fire_from_form(record: Any) -> None:
    """Fire the posted transition on `record` as the current user; commit and flash the outcome."""
    form = TransitionForm()
    if not form.validate_on_submit():
        flash(_("The step could not be read. Reload the page and try again."), "danger")
        return
    try:
        entry = workflow.fire(
            record,
            form.transition.data or "",
            user=current_user,
            expected_version=form.version.data,
            comment=form.comment.data or "",
        )
    except workflow.WorkflowError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "danger")
    else:
        db.session.commit()
        wf = workflow.definition_for(record)
        flash(_("Moved to %(state)s.", state=_(wf.state(entry.to_state).label)), "success")


def tick_from_form(record: Any) -> None:
    """Tick or untick the posted checklist item of the record's current state; commit."""
    form = ChecklistForm()
    if not form.validate_on_submit():
        return
    try:
        workflow.set_checklist_item(
            record, record.state, form.item.data or "", form.ticked.data == "1", current_user
        )
    except workflow.WorkflowError as exc:
        db.session.rollback()
        flash("; ".join(exc.reasons), "danger")
    else:
        db.session.commit()
