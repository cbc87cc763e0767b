"""The placement confirmation page: the supervisor confirms, declines or proposes other dates.

crm.portal.views calls `confirm_page` with an open link only (its row locked for a POST).
Opening the page changes nothing. Each choice is its own form posting `decision` with its own
fields; an invalid one comes back with its errors next to the fields and what was typed
kept (400). A valid one is decided by crm.placements.confirmation, committed here, and the
browser is sent back to the link's address (303), which then shows the answered page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from crm.core.validators import EmailAddress, choices, strip_whitespace
from crm.db import utcnow
from crm.extensions import db
from crm.links.models import ActionLink, LinkPurpose
from crm.placements import confirmation
from crm.placements.confirmation import DECLINE_REASON_LABELS, MAX_TEXT, DeclineReason
from crm.placements.models import Placement
from crm.placements.service import get_placement
from crm.portal.views import client_ip, page, user_agent
from crm.workflow.service import WorkflowError


class ConfirmForm(FlaskForm):
    """Confirm, with the supervisor's details as they should be on record."""

    first_name = StringField(
        _l("First name"), filters=[strip_whitespace], validators=[DataRequired(), Length(max=100)]
    )
    last_name = StringField(
        _l("Last name"), filters=[strip_whitespace], validators=[DataRequired(), Length(max=100)]
    )
    email = EmailField(
        _l("E-mail"),
        filters=[strip_whitespace],
        validators=[DataRequired(), EmailAddress(), Length(max=254)],
    )
    phone = TelField(
        _l("Phone"), filters=[strip_whitespace], validators=[Optional(), Length(max=50)]
    )

    def answer(self) -> confirmation.Confirmation:
        """The plain values for the service."""
        return confirmation.Confirmation(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            email=self.email.data or "",
            phone=self.phone.data or "",
        )


class DeclineForm(FlaskForm):
    """Decline, with a reason from the list and, for "another reason", the reason itself."""

    reason = RadioField(
        _l("Why can you not host the learner?"),
        choices=choices((reason.value, DECLINE_REASON_LABELS[reason]) for reason in DeclineReason),
        validators=[InputRequired(_l("Choose a reason."))],
    )
    details = TextAreaField(
        _l("Anything you would like to add"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=MAX_TEXT)],
    )

    def validate_details(self, field: TextAreaField) -> None:
        if self.reason.data == DeclineReason.OTHER.value and not field.data:
            raise ValidationError(_l("Tell us the reason."))

    def answer(self) -> confirmation.Refusal:
        """The plain values for the service."""
        return confirmation.Refusal(DeclineReason(self.reason.data), self.details.data or "")


class ProposeForm(FlaskForm):
    """Propose other dates: the placement goes back to the officer with the proposal."""

    start_date = DateField(
        _l("First day"), validators=[InputRequired(_l("Enter the first day you propose."))]
    )
    end_date = DateField(
        _l("Last day"), validators=[InputRequired(_l("Enter the last day you propose."))]
    )
    note = TextAreaField(
        _l("Note for the school"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=MAX_TEXT)],
    )

    def validate_start_date(self, field: DateField) -> None:
        if field.data and field.data < utcnow().date():
            raise ValidationError(_l("The start date cannot be in the past."))

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data <= self.start_date.data:
            raise ValidationError(_l("The end date must be after the start date."))

    def answer(self) -> confirmation.DateProposal:
        """The plain values for the service."""
        start, end = self.start_date.data, self.end_date.data
        assert isinstance(start, dt.date) and isinstance(end, dt.date)
        return confirmation.DateProposal(start, end, self.note.data or "")


AnswerForm = ConfirmForm | DeclineForm | ProposeForm
FORMS: dict[str, type[AnswerForm]] = {
    "confirm": ConfirmForm,
    "decline": DeclineForm,
    "propose": ProposeForm,
}


def _thanks(chosen: str, officer: str) -> str:
    """What the answered page says first, once, to the one who just answered."""
    if chosen == "confirm":
        return _(
            "Thank you. The placement is confirmed and %(officer)s has been told.", officer=officer
        )
    if chosen == "decline":
        return _("Thank you for letting us know. %(officer)s has been told.", officer=officer)
    return _(
        "Thank you. %(officer)s will look at the dates you proposed and contact you.",
        officer=officer,
    )


def _blank_forms(placement: Placement) -> dict[str, AnswerForm]:
    """The three forms as first shown: the confirmation prefilled from the supervisor."""
    supervisor = placement.supervisor
    return {
        "confirm": ConfirmForm(
            formdata=None,
            first_name=supervisor.first_name if supervisor else "",
            last_name=supervisor.last_name if supervisor else "",
            email=supervisor.email if supervisor else "",
            phone=supervisor.phone if supervisor else "",
        ),
        "decline": DeclineForm(formdata=None),
        "propose": ProposeForm(formdata=None),
    }


def _render(
    link: ActionLink,
    placement: Placement,
    forms: dict[str, AnswerForm],
    *,
    chosen: str = "",
    problems: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "portal/confirm.html",
            link=link,
            placement=placement,
            learner=placement.learner,
            officer=placement.officer,
            organisation=placement.organisation,
            forms=forms,
            chosen=chosen,
            problems=problems or [],
        ),
        status,
    )


def _after_rollback(link: ActionLink) -> Placement:
    """Undo everything, then read the placement again to show the page with the problem."""
    db.session.rollback()
    placement = get_placement(link.record_id)
    if placement is None:
        abort(404)
    return placement


@page(LinkPurpose.CONFIRM_PLACEMENT)
def confirm_page(link: ActionLink) -> Any:
    """Show the placement and the three answers (GET, HEAD); take one of them (POST)."""
    placement = get_placement(link.record_id)
    if placement is None:  # status() saw it a moment ago; gone since means gone
        abort(404)
    forms = _blank_forms(placement)
    if request.method != "POST":
        return _render(link, placement, forms)
    chosen = request.form.get("decision", "")
    if chosen not in FORMS:
        return _render(
            link, placement, forms, problems=[_("Choose one of the answers below.")], status=400
        )
    form = forms[chosen] = FORMS[chosen]()
    if not form.validate_on_submit():
        return _render(link, placement, forms, chosen=chosen, status=400)
    evidence = confirmation.Evidence(ip=client_ip(), user_agent=user_agent(), at=utcnow())
    try:
        entry = confirmation.decide(link, form.answer(), evidence)
    except confirmation.ConfirmationError as exc:
        placement = _after_rollback(link)
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        return _render(
            link,
            placement,
            forms,
            chosen=chosen,
            problems=[] if field is not None else [str(exc)],
            status=400,
        )
    except WorkflowError as exc:
        placement = _after_rollback(link)
        return _render(link, placement, forms, chosen=chosen, problems=exc.reasons, status=409)
    if entry is None:
        # Another submission of this link won a moment ago: change nothing, show its answer.
        db.session.rollback()
        return render_template("portal/answered.html", link=link)
    officer_name = placement.officer.name  # read before the commit expires the placement
    db.session.commit()
    flash(_thanks(chosen, officer_name), "success")
    return redirect(request.path, code=303)
