"""Evaluations given through action links: the employer's (ratings per programme skill,
satisfaction, whether they would host again) and the learner's feedback.

Each submission spends its link first (crm.links.service.spend): of two submissions of one
link, however close, the second changes nothing. The employer's evaluation also updates the
organisation's capacity pledge, moves the placement to evaluated as the employer, and tells
the officer by e-mail; the learner's feedback only tells the officer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from crm.activities.models import ActivityKind
from crm.activities.service import ActivityValues, log_activity
from crm.db import utcnow
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.learners.models import ProgrammeOutcome
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.links.purposes import format_day
from crm.organisations.models import CapacityPeriod, Organisation
from crm.placements.models import Placement
from crm.placements.service import get_placement
from crm.workflow.service import fire

SCALE = range(1, 6)  # every rating: 1 (poor) to 5 (excellent)
HOST_AGAIN_MAX = 50  # learners an employer may pledge at once
COMMENTS_MAX = 5000
# The decisions written on the spent link (crm.links.service.spend).
EMPLOYER_DECISION = "evaluated"
LEARNER_DECISION = "feedback"


class EvaluationError(ValueError):
    """An answer the service refuses; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Evidence:
    """Who sent a decision, as the server saw them."""

    ip: str
    user_agent: str


@dataclass(frozen=True)
class EmployerEvaluationValues:
    """The employer's answers, as the form hands them over."""

    satisfaction: int
    ratings: dict[int, int | None]  # programme outcome id → 1..5, or None for "not observed"
    comments: str
    host_again: bool
    host_again_count: int | None = None
    host_again_period: CapacityPeriod | None = None
    host_again_from: dt.date | None = None


@dataclass(frozen=True)
class LearnerFeedbackValues:
    """The learner's answers, as the form hands them over."""

    satisfaction: int
    objectives: int  # how far the placement helped reach the learning objectives, 1..5
    went_well: str
    could_be_better: str
    recommends: bool


# --- reading ---------------------------------------------------------------------------------


def outcomes_to_rate(programme_id: int) -> list[ProgrammeOutcome]:
    """The programme's skills an employer is asked to rate, in order (retired ones are not)."""
    return list(
        db.session.scalars(
            sa.select(ProgrammeOutcome)
            .where(ProgrammeOutcome.programme_id == programme_id, ~ProgrammeOutcome.retired)
            .order_by(ProgrammeOutcome.position)
        )
    )


def evaluations_of(placement_id: int) -> list[Evaluation]:
    """A placement's evaluations, the employer's first, with their link, ratings and the
    rated skills loaded (two statements, however many ratings)."""
    return list(
        db.session.scalars(
            sa.select(Evaluation)
            .where(Evaluation.placement_id == placement_id)
            .options(
                joinedload(Evaluation.link),
                selectinload(Evaluation.ratings).joinedload(
                    EvaluationRating.outcome, innerjoin=True
                ),
            )
            .order_by(Evaluation.kind, Evaluation.submitted_at, Evaluation.id)
        ).unique()
    )


# --- the employer ----------------------------------------------------------------------------


def submit_employer_evaluation(
    link: ActionLink,
    values: EmployerEvaluationValues,
    evidence: Evidence,
    now: dt.datetime | None = None,
) -> Evaluation | None:
    """Record the employer's evaluation carried by an open link (flush only).

    None if another submission of the link won: nothing is changed then. Otherwise the
    evaluation and its ratings are stored, the organisation's capacity pledge follows the
    "host again" answer, the placement moves to evaluated as the employer, and its officer
    is e-mailed. A placement that moved on meanwhile raises the workflow's error; the caller
    rolls back.
    """
    _check_purpose(link, LinkPurpose.EVALUATE_PLACEMENT)
    now = now or utcnow()
    placement = _placement(link)
    outcomes = outcomes_to_rate(placement.programme_id)
    _check_employer_values(values, outcomes)
    data = {"satisfaction": values.satisfaction, "host_again": values.host_again}
    if not links.spend(
        link,
        EMPLOYER_DECISION,
        ip=evidence.ip,
        user_agent=evidence.user_agent,
        data=data,
        now=now,
    ):
        return None
    supervisor_name = placement.supervisor.full_name if placement.supervisor else ""
    evaluation = Evaluation(
        placement_id=placement.id,
        organisation_id=placement.organisation_id,
        programme_id=placement.programme_id,
        kind=EvaluationKind.EMPLOYER,
        link_id=link.id,
        evaluator_name=(link.recipient_name or supervisor_name)[:200],
        satisfaction=values.satisfaction,
        comments=values.comments.strip(),
        host_again=values.host_again,
        host_again_count=values.host_again_count if values.host_again else None,
        host_again_period=values.host_again_period if values.host_again else None,
        host_again_from=values.host_again_from if values.host_again else None,
        submitted_at=now,
        ratings=[
            EvaluationRating(outcome_id=outcome.id, rating=values.ratings[outcome.id])
            for outcome in outcomes
        ],
    )
    db.session.add(evaluation)
    db.session.flush()
    if placement.organisation is not None:
        _update_pledge(placement.organisation, placement, evaluation, now)
    # Before the transition: firing reloads the placement, its relations perhaps not.
    _tell_officer(placement, evaluation)
    fire(
        placement,
        "evaluate",
        party="employer",
        party_label=supervisor_name or link.recipient_name,
        now=now,
    )
    return evaluation


def _check_employer_values(
    values: EmployerEvaluationValues, outcomes: list[ProgrammeOutcome]
) -> None:
    """The invariants the form also checks, for callers that are not the form."""
    if values.satisfaction not in SCALE:
        raise EvaluationError(_("Choose how satisfied you are, from 1 to 5."), "satisfaction")
    for outcome in outcomes:
        if outcome.id not in values.ratings:
            raise EvaluationError(
                _("Rate every skill, or choose “not observed”."), f"skill_{outcome.id}"
            )
        rating = values.ratings[outcome.id]
        if rating is not None and rating not in SCALE:
            raise EvaluationError(_("A rating lies between 1 and 5."), f"skill_{outcome.id}")
    if values.host_again:
        count = values.host_again_count
        if count is None or not 1 <= count <= HOST_AGAIN_MAX:
            raise EvaluationError(
                _("Enter how many learners you could host, from 1 to %(max)d.", max=HOST_AGAIN_MAX),
                "host_again_count",
            )
        if values.host_again_period is None:
            raise EvaluationError(_("Choose per term or per school year."), "host_again_period")
    if len(values.comments) > COMMENTS_MAX:
        raise EvaluationError(_("The comments are too long."), "comments")


def _update_pledge(
    organisation: Organisation, placement: Placement, evaluation: Evaluation, now: dt.datetime
) -> None:
    """Make the organisation's capacity pledge the employer's answer; a change is noted on its
    timeline, in the officer's language (the employer answered in theirs)."""
    before = (organisation.capacity_pledge, organisation.capacity_period)
    if evaluation.host_again:
        assert evaluation.host_again_count is not None and evaluation.host_again_period
        after = (evaluation.host_again_count, evaluation.host_again_period)
    else:
        after = (0, organisation.capacity_period)
    if after == before:
        return
    organisation.capacity_pledge, organisation.capacity_period = after
    officer = placement.officer
    language = officer.locale
    with force_locale(_babel_locale(language)):
        body = _(
            "%(name)s answered in the evaluation of %(learner)s's placement: %(after)s "
            "(the pledge was %(before)s).",
            name=evaluation.evaluator_name,
            learner=placement.learner.name,
            after=_pledge_text(
                *after, starting=evaluation.host_again_from, language=officer.locale
            ),
            before=_pledge_text(*before, starting=None, language=officer.locale),
        )
        subject = _("Capacity pledge changed by the employer's evaluation")
    supervisor = placement.supervisor
    log_activity(
        organisation,
        ActivityValues(
            kind=ActivityKind.NOTE,
            occurred_at=now,
            subject=subject,
            body=body,
            contact_id=supervisor.id
            if supervisor is not None and supervisor.organisation_id == organisation.id
            else None,
        ),
        author=None,
    )


def _pledge_text(
    count: int, period: CapacityPeriod, *, starting: dt.date | None, language: str
) -> str:
    """A pledge in words ("2 learners per term from 1 September 2027", "no learners")."""
    if count == 0:
        return _("no learners")
    if period == CapacityPeriod.TERM:
        text = ngettext("%(num)d learner per term", "%(num)d learners per term", count)
    else:
        text = ngettext(
            "%(num)d learner per school year", "%(num)d learners per school year", count
        )
    if starting is not None:
        text = _("%(pledge)s from %(date)s", pledge=text, date=format_day(starting, language))
    return text


# --- the learner -----------------------------------------------------------------------------


def submit_learner_feedback(
    link: ActionLink,
    values: LearnerFeedbackValues,
    evidence: Evidence,
    now: dt.datetime | None = None,
) -> Evaluation | None:
    """Record the learner's feedback carried by an open link (flush only).

    None if another submission of the link won. The placement does not move; its officer
    is e-mailed. The whole answer is also the link's decision (see crm.evaluations.models).
    """
    _check_purpose(link, LinkPurpose.LEARNER_FEEDBACK)
    now = now or utcnow()
    if values.satisfaction not in SCALE:
        raise EvaluationError(_("Choose how satisfied you are, from 1 to 5."), "satisfaction")
    if values.objectives not in SCALE:
        raise EvaluationError(_("Choose an answer from 1 to 5."), "objectives")
    went_well, could_be_better = values.went_well.strip(), values.could_be_better.strip()
    if len(went_well) > COMMENTS_MAX or len(could_be_better) > COMMENTS_MAX:
        raise EvaluationError(_("The comments are too long."), "went_well")
    placement = _placement(link)
    data = {
        "satisfaction": values.satisfaction,
        "objectives": values.objectives,
        "went_well": went_well,
        "could_be_better": could_be_better,
        "recommends": values.recommends,
    }
    if not links.spend(
        link, LEARNER_DECISION, ip=evidence.ip, user_agent=evidence.user_agent, data=data, now=now
    ):
        return None
    evaluation = Evaluation(
        placement_id=placement.id,
        organisation_id=placement.organisation_id,
        programme_id=placement.programme_id,
        kind=EvaluationKind.LEARNER,
        link_id=link.id,
        evaluator_name=(link.recipient_name or placement.learner.name)[:200],
        satisfaction=values.satisfaction,
        comments="\n\n".join(text for text in (went_well, could_be_better) if text),
        host_again=values.recommends,
        submitted_at=now,
        ratings=[],
    )
    db.session.add(evaluation)
    db.session.flush()
    _tell_officer(placement, evaluation)
    return evaluation


# --- shared ----------------------------------------------------------------------------------


def _check_purpose(link: ActionLink, purpose: LinkPurpose) -> None:
    # A programming error, not the recipient's: the page of each purpose calls its own.
    if link.purpose != purpose or link.record_type != "placement":
        raise ValueError(f"a {link.purpose} link cannot carry a {purpose} answer")


def _placement(link: ActionLink) -> Placement:
    placement = get_placement(link.record_id)
    if placement is None:  # the link's status said open: the placement exists
        raise EvaluationError(_("This placement no longer exists."))
    return placement


def _babel_locale(language: str) -> str:
    # English means British formats, as on the pages and in e-mails.
    return "en_GB" if language == "en" else language


def _tell_officer(placement: Placement, evaluation: Evaluation) -> None:
    """Queue the `evaluation_received` e-mail to the placement's officer, in their language."""
    from crm.outbox.service import absolute_url, queue_email

    officer = placement.officer
    if not officer.is_active_account:
        return  # the evaluation waits on the placement page for whoever takes it over
    organisation = placement.organisation
    queue_email(
        kind="evaluation_received",
        to_email=officer.email,
        to_name=officer.name,
        language=officer.locale,
        context={
            "kind": evaluation.kind.value,
            "evaluator_name": evaluation.evaluator_name,
            "learner_name": placement.learner.name,
            "organisation_name": organisation.display_name if organisation else "",
            "satisfaction": evaluation.satisfaction,
            "host_again": evaluation.host_again,
            "host_again_count": evaluation.host_again_count,
            "host_again_period": (
                evaluation.host_again_period.value if evaluation.host_again_period else None
            ),
            "host_again_from": format_day(evaluation.host_again_from, officer.locale),
            "url": absolute_url("placements.show", placement_id=placement.id) + "#evaluations",
        },
        record_type="placement",
        record_id=placement.id,
        organisation_id=placement.organisation_id,
        user_id=officer.id,
    )
