"""Writing the demo's programmes, learners and placements (planned in `crm.demo.learners`).

The employers and partnerships are already in the session; supervisors an employer lacks are
added through the contact service, the rest goes in as rows (`crm.demo.rows`): placements
with their transition history and follow-ups as the placement workflow would have left them,
then their action links and evaluations (`crm.demo.answers_load`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.service import ContactValues, create_contact
from crm.demo.answers_load import load_answers
from crm.demo.employers import ContactPlan
from crm.demo.learners import DemoLearnerPlan
from crm.demo.rows import (
    HostRow,
    OfficerRow,
    ensure_programmes,
    history_rows,
    insert_histories,
    insert_returning_ids,
    learner_row,
    placement_row,
)
from crm.learners.models import Learner
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.placements.service import organisation_address
from crm.workflow.definitions import WorkflowDef
from crm.workflow.service import ensure_snapshot


@dataclass(frozen=True)
class LearnersSummary:
    """What the demo's learner part created."""

    programmes: int = 0
    learners: int = 0
    placements: int = 0
    supervisors_added: int = 0
    links: int = 0
    links_queued: int = 0  # invitations waiting in the outbox
    evaluations: int = 0
    support_needs: int = 0  # learners with support needs


def load_learners(
    plan: DemoLearnerPlan,
    workflow: WorkflowDef,
    organisations: list[Organisation],
    people: list[list[Contact]],
    partnerships: dict[int, Partnership],
    users: dict[str, User],
    manager: User,
) -> LearnersSummary:
    """Write the plan's programmes, learners and placements; the caller commits."""
    enrolled = [learner.created_at for learner in plan.learners if learner.created_at]
    opened = min(enrolled) - dt.timedelta(days=60)
    programme_ids, cohort_ids = ensure_programmes(plan.programmes, plan.years, opened)
    hosts = {
        index: _host(
            organisations[index], partnerships.get(index), supervisor, people[index], manager
        )
        for index, supervisor in plan.supervisors.items()
    }
    learner_ids = insert_returning_ids(
        Learner.__table__,
        [
            learner_row(
                learner.first_name,
                learner.last_name,
                learner.email,
                programme_ids[learner.programme],
                cohort_ids[(learner.programme, learner.year.name)],
                users[learner.officer].id,
                learner.created_at or opened,
                birth_date=learner.birth_date,
                consent_basis=learner.consent_basis,
                guardian_name=learner.guardian_name,
                guardian_email=learner.guardian_email,
                support_needs=learner.support_needs,
            )
            for learner in plan.learners
        ],
    )
    officers = {
        email: OfficerRow(user.id, user.name)
        for email, user in users.items()
        if email in {learner.officer for learner in plan.learners}
    }
    ensure_snapshot(workflow)
    rows = [
        placement_row(
            item.history,
            workflow,
            learner_ids[item.learner],
            programme_ids[item.programme],
            officers[plan.learners[item.learner].officer].id,
            item.start,
            item.end,
            hosts[item.host] if item.host is not None else None,
        )
        for item in plan.placements
    ]
    placement_ids = insert_returning_ids(Placement.__table__, rows)
    transitions, follow_ups = [], []
    for placement_id, item in zip(placement_ids, plan.placements, strict=True):
        steps, tasks = history_rows(
            item.history,
            workflow,
            placement_id,
            officers[plan.learners[item.learner].officer],
            hosts[item.host] if item.host is not None else None,
            hosts[item.first_host] if item.first_host is not None else None,
        )
        transitions += steps
        follow_ups += tasks
    insert_histories(transitions, follow_ups)
    answers = load_answers(plan, placement_ids, learner_ids, hosts, users)
    added = sum(1 for supervisor in plan.supervisors.values() if not isinstance(supervisor, int))
    return LearnersSummary(
        len(programme_ids),
        len(learner_ids),
        len(placement_ids),
        added,
        answers.links,
        answers.queued,
        answers.evaluations,
        sum(1 for learner in plan.learners if learner.support_needs),
    )


def _host(
    organisation: Organisation,
    partnership: Partnership | None,
    supervisor: int | ContactPlan,
    people: list[Contact],
    manager: User,
) -> HostRow:
    """The employer as its placements see it, with its supervisor (added when missing)."""
    if isinstance(supervisor, int):
        contact = people[supervisor]
    else:
        values = ContactValues(
            first_name=supervisor.first_name,
            last_name=supervisor.last_name,
            role=supervisor.role,
            job_title=supervisor.job_title,
            email=supervisor.email,
            phone=supervisor.phone,
            preferred_language=supervisor.preferred_language,
            consent_basis=supervisor.consent_basis,
            consent_date=supervisor.consent_date,
        )
        contact = create_contact(organisation, values, manager)
        contact.created_at = organisation.created_at
    return HostRow(
        organisation_id=organisation.id,
        partnership_id=partnership.id if partnership is not None else None,
        supervisor_id=contact.id,
        supervisor_name=f"{contact.first_name} {contact.last_name}".strip(),
        address=organisation_address(organisation),
    )
