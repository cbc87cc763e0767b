"""The employer's evaluation page and the learner's feedback page.

crm.portal.views calls these with an open link only (its row locked for a POST). Opening a
page changes nothing. An invalid answer comes back with its errors next to the fields and
what was typed kept (400). A valid one is recorded by crm.evaluations.service, committed
here, and the browser is sent back to the link's address (303), which then shows the
answered page.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _

from crm.evaluations import service as evaluations
from crm.evaluations.forms import EmployerEvaluationForm, LearnerFeedbackForm
from crm.extensions import db
from crm.links.models import ActionLink, LinkPurpose
from crm.placements.models import Placement
from crm.placements.service import get_placement
from crm.portal.views import client_ip, page, user_agent
from crm.workflow.service import WorkflowError

AnswerForm = EmployerEvaluationForm | LearnerFeedbackForm


def _placement_or_404(link: ActionLink) -> Placement:
    placement = get_placement(link.record_id)
    if placement is None:  # status() saw it a moment ago; gone since means gone
        abort(404)
    return placement


def _evidence() -> evaluations.Evidence:
    return evaluations.Evidence(ip=client_ip(), user_agent=user_agent())


def _record(link: ActionLink, form: AnswerForm, record: Any, render: Any) -> Any:
    """Hand a valid answer to the service, then commit and redirect, or show what went wrong."""
    try:
        evaluation = record(link, form.values(), _evidence())
    except evaluations.EvaluationError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        return render(_placement_or_404(link), [] if field is not None else [str(exc)], 400)
    except WorkflowError as exc:  # the placement moved on since the page was opened
        db.session.rollback()
        return render(_placement_or_404(link), exc.reasons, 409)
    if evaluation is None:
        # Another submission of this link won a moment ago: change nothing, show its answer.
        db.session.rollback()
        return render_template("portal/answered.html", link=link)
    db.session.commit()
    flash(_("Thank you. Your answers have been sent to the school."), "success")
    return redirect(request.path, code=303)


@page(LinkPurpose.EVALUATE_PLACEMENT)
def evaluate_page(link: ActionLink) -> Any:
    """The employer rates the placement and the programme's skills (POST), or sees the form."""
    placement = _placement_or_404(link)
    outcomes = evaluations.outcomes_to_rate(placement.programme_id)
    organisation = placement.organisation
    form = EmployerEvaluationForm.for_outcomes(
        outcomes,
        host_again_period=organisation.capacity_period.value if organisation else None,
    )

    def render(placement: Placement, problems: list[str], status: int) -> Any:
        return (
            render_template(
                "portal/evaluate.html",
                link=link,
                placement=placement,
                learner=placement.learner,
                officer=placement.officer,
                organisation=placement.organisation,
                form=form,
                problems=problems,
            ),
            status,
        )

    if request.method != "POST":
        return render(placement, [], 200)
    if not form.validate():
        return render(placement, [], 400)
    return _record(link, form, evaluations.submit_employer_evaluation, render)


@page(LinkPurpose.LEARNER_FEEDBACK)
def feedback_page(link: ActionLink) -> Any:
    """The learner tells the school how the placement went (POST), or sees the form."""
    placement = _placement_or_404(link)
    form = LearnerFeedbackForm()

    def render(placement: Placement, problems: list[str], status: int) -> Any:
        return (
            render_template(
                "portal/feedback.html",
                link=link,
                placement=placement,
                learner=placement.learner,
                officer=placement.officer,
                organisation=placement.organisation,
                form=form,
                problems=problems,
            ),
            status,
        )

    if request.method != "POST":
        return render(placement, [], 200)
    if not form.validate():
        return render(placement, [], 400)
    return _record(link, form, evaluations.submit_learner_feedback, render)
