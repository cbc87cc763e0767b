"""Writing the demo's action links, the officers' follow-ups for expired ones, and the
evaluations (planned in `crm.demo.answers`).

A link still open today is issued through the link service at the time it was sent, so its
invitation waits in the outbox (the development mailbox shows it with its link, for anyone
trying the app to answer as the employer); its reminders are counted as sent. Every other link
is written as the service, the link pages and the jobs left it. A link that expired while its
placement still waits for the answer gets the expiry job's own follow-up
(crm.links.purposes.expired_follow_up).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.demo.answers import (
    EXPIRED,
    FIRST_SUPERVISOR,
    LEARNER,
    EvaluationPlan,
    LinkFollowUp,
    LinkPlan,
)
from crm.demo.learners import DemoLearner, DemoLearnerPlan, DemoPlacement
from crm.demo.rows import HostRow
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.followups.jobs import babel_locale
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import ProgrammeOutcome
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink
from crm.placements.models import Placement


@dataclass(frozen=True)
class AnswersSummary:
    """What was written: links, invitations waiting in the outbox, evaluations."""

    links: int = 0
    queued: int = 0
    evaluations: int = 0


@dataclass(frozen=True)
class _Recipient:
    organisation_id: int | None
    contact: Contact | None
    learner_id: int | None
    name: str
    email: str
    language: str
    host: HostRow | None


def load_answers(
    plan: DemoLearnerPlan,
    placement_ids: Sequence[int],
    learner_ids: Sequence[int],
    hosts: dict[int, HostRow],
    users: dict[str, User],
) -> AnswersSummary:
    """Write each placement's links, follow-ups and evaluations; the caller commits."""
    now = utcnow()
    placements = {
        placement.id: placement
        for placement in db.session.scalars(
            sa.select(Placement).where(Placement.id.in_(placement_ids))
        )
    }
    supervisor_ids = {host.supervisor_id for host in hosts.values() if host.supervisor_id}
    contacts = {
        contact.id: contact
        for contact in db.session.scalars(sa.select(Contact).where(Contact.id.in_(supervisor_ids)))
    }
    outcomes: dict[int, list[int]] = defaultdict(list)
    for programme_id, outcome_id in db.session.execute(
        sa.select(ProgrammeOutcome.programme_id, ProgrammeOutcome.id)
        .where(~ProgrammeOutcome.retired)
        .order_by(ProgrammeOutcome.programme_id, ProgrammeOutcome.position)
    ):
        outcomes[programme_id].append(outcome_id)
    written = queued = evaluations = 0
    planned = zip(placement_ids, plan.placements, plan.answers, strict=True)
    for placement_id, item, answers in planned:
        placement = placements[placement_id]
        learner = plan.learners[item.learner]
        officer = users[learner.officer]
        rows: list[ActionLink] = []
        for link_plan in answers.links:
            recipient = _recipient(link_plan, item, hosts, contacts, plan.learners, learner_ids)
            if link_plan.is_open_at(now):
                link = _issue(link_plan, placement, officer)
                queued += 1
            else:
                link = _past_link(link_plan.as_of(now), placement, recipient, officer)
            rows.append(link)
        db.session.flush()
        for link_plan, link in zip(answers.links, rows, strict=True):
            follow_up = link_plan.as_of(now).follow_up
            if follow_up is not None:
                _link_follow_up(link, placement, follow_up, officer)
        for evaluation in answers.evaluations:
            carrier = rows[evaluation.link] if evaluation.link is not None else None
            db.session.add(_evaluation(evaluation, placement, carrier, outcomes, item, hosts))
        written += len(rows)
        evaluations += len(answers.evaluations)
    db.session.flush()
    return AnswersSummary(written, queued, evaluations)


def _recipient(
    link: LinkPlan,
    item: DemoPlacement,
    hosts: dict[int, HostRow],
    contacts: dict[int, Contact],
    learners: Sequence[DemoLearner],
    learner_ids: Sequence[int],
) -> _Recipient:
    """Who the link went to, with the address and language it went to."""
    if link.recipient == LEARNER:
        host = hosts[item.host] if item.host is not None else None
        learner = learners[item.learner]
        return _Recipient(
            host.organisation_id if host else None,
            None,
            learner_ids[item.learner],
            f"{learner.first_name} {learner.last_name}",
            learner.email,
            "en",
            host,
        )
    index = item.first_host if link.recipient == FIRST_SUPERVISOR else item.host
    assert index is not None and hosts[index].supervisor_id is not None
    host = hosts[index]
    contact = contacts[host.supervisor_id]  # type: ignore[index]
    return _Recipient(
        host.organisation_id,
        contact,
        None,
        contact.full_name,
        contact.email,
        contact.preferred_language or "en",
        host,
    )


def _issue(link_plan: LinkPlan, placement: Placement, officer: User) -> ActionLink:
    """An open link, issued as its step did: the invitation is queued in the outbox."""
    link = links.issue(link_plan.purpose, placement, acting=officer, now=link_plan.created_at)
    if link is None:
        raise RuntimeError(f"demo placement {placement.id}: no recipient for {link_plan.purpose}")
    link.reminders_sent = link_plan.reminders_sent
    link.last_sent_at = link_plan.last_sent_at
    return link


def _past_link(
    link_plan: LinkPlan, placement: Placement, recipient: _Recipient, officer: User
) -> ActionLink:
    """A link as the service, the link pages and the jobs left it."""
    spec = purposes.spec(link_plan.purpose)
    asked = placement
    if recipient.host is not None and recipient.host.organisation_id != placement.organisation_id:
        # A link to an employer that declined before the placement was matched again.
        asked = _as_with(placement, recipient.host)
    link = ActionLink(
        nonce=secrets.token_hex(32),
        purpose=link_plan.purpose,
        record_type=spec.record_type,
        record_id=placement.id,
        organisation_id=recipient.organisation_id,
        contact_id=recipient.contact.id if recipient.contact else None,
        learner_id=recipient.learner_id,
        recipient_name=recipient.name[:200],
        recipient_email=recipient.email,
        language=recipient.language,
        fingerprint=spec.fingerprint(asked),
        created_at=link_plan.created_at,
        created_by_id=officer.id if link_plan.sent_by_officer else None,
        expires_at=link_plan.expires_at,
        reminders_sent=link_plan.reminders_sent,
        last_sent_at=link_plan.last_sent_at,
        expiry_handled_at=link_plan.expiry_handled_at,
        ended_at=link_plan.ended_at,
        end_reason=link_plan.end_reason,
        spent_at=link_plan.spent_at,
        decision=link_plan.decision,
        decision_data=_decision_data(link_plan, recipient.contact),
        decided_ip=link_plan.ip,
        decided_user_agent=link_plan.user_agent,
        fresh_requested_at=link_plan.fresh_requested_at,
    )
    link.token_hash = links.hash_token(links.token_for(link))
    db.session.add(link)
    return link


def _as_with(placement: Placement, host: HostRow) -> Any:
    """What a link to another employer asked: the placement as it was with that employer."""
    return SimpleNamespace(
        organisation_id=host.organisation_id,
        supervisor_id=host.supervisor_id,
        start_date=placement.start_date,
        end_date=placement.end_date,
        hours_target=placement.hours_target,
        workplace_address=host.address,
        role_description=placement.role_description,
        learning_objectives=placement.learning_objectives,
    )


def _decision_data(link: LinkPlan, contact: Contact | None) -> dict[str, Any] | None:
    """What the link page kept of the answer; a confirmation keeps the supervisor's details."""
    if link.spent_at is None:
        return None
    if link.decision == "confirm" and contact is not None:
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "phone": contact.phone,
            "changed": {},
        }
    return link.answer


def _link_follow_up(
    link: ActionLink, placement: Placement, plan: LinkFollowUp, officer: User
) -> None:
    """The follow-up a link gave the officer, and what became of it."""
    spec = purposes.spec(link.purpose)
    follow_up: FollowUp | None = None
    if plan.reason == EXPIRED and link.ended_at is None and placement.state in spec.open_states:
        follow_up = purposes.expired_follow_up(link, now=plan.created_at)
    if follow_up is None:  # written as the expiry job or the fresh-link page wrote it
        follow_up = FollowUp(
            subject=_subject(spec, link, plan.reason)[:200],
            assignee_id=officer.id,
            record_type=spec.record_type,
            record_id=placement.id,
            organisation_id=link.organisation_id,
            created_by_rule=f"{placement.workflow_name}.{plan.reason}",
        )
        db.session.add(follow_up)
    moment = plan.created_at
    follow_up.due_at = follow_up.created_at = moment
    # The reminder job told the officer when it fell due (as for the workflow's follow-ups).
    follow_up.reminder_sent_at = moment
    follow_up.updated_at = plan.completed_at or moment
    if plan.completed_at is not None:
        follow_up.status = FollowUpStatus.DONE
        follow_up.completed_at = plan.completed_at
        follow_up.completed_by_id = officer.id if plan.done_by_owner else None


def _subject(spec: purposes.PurposeSpec, link: ActionLink, reason: str) -> str:
    """The follow-up's subject, in the officer's language (the demo's officers read English)."""
    if reason == EXPIRED:
        return spec.expired_subject()
    with force_locale(babel_locale("en")):  # as crm.portal.fresh words it
        return _(
            "%(name)s asked for a fresh link: a new one was sent to %(recipient)s",
            name=link.recipient_name,
            recipient=link.recipient_name,
        )


def _evaluation(
    plan: EvaluationPlan,
    placement: Placement,
    link: ActionLink | None,
    outcomes: dict[int, list[int]],
    item: DemoPlacement,
    hosts: dict[int, HostRow],
) -> Evaluation:
    """An evaluation as the link page stored it (or as the officer entered the employer's)."""
    if link is not None:
        evaluator = link.recipient_name
    elif plan.kind is EvaluationKind.EMPLOYER and item.host is not None:
        evaluator = hosts[item.host].supervisor_name
    else:
        evaluator = ""
    ratings = []
    if plan.kind is EvaluationKind.EMPLOYER:
        ratings = [
            EvaluationRating(
                outcome_id=outcome_id,
                rating=plan.ratings[position] if position < len(plan.ratings) else None,
            )
            for position, outcome_id in enumerate(outcomes[placement.programme_id])
        ]
    return Evaluation(
        placement_id=placement.id,
        organisation_id=placement.organisation_id,
        programme_id=placement.programme_id,
        kind=plan.kind,
        link_id=link.id if link is not None else None,
        evaluator_name=evaluator[:200],
        satisfaction=plan.satisfaction,
        comments=plan.comments,
        host_again=plan.host_again,
        host_again_count=plan.host_again_count,
        host_again_period=plan.host_again_period,
        host_again_from=plan.host_again_from,
        submitted_at=plan.submitted_at,
        ratings=ratings,
    )
