"""The demo's agreements and its officers' own follow-ups, written after its placements.

Read back from what the demo's services and loaders wrote (the partnerships' and placements'
transition rows, learners, contacts), and written as rows (crm.demo.agreement_rows: the
documents are placeholders that say so). The choices a person counts on the dashboard are
fixed, whatever the day of loading:

- every placement that reached the agreement stage has its agreement: out for signature
  while the placement is in agreement_out, signed from ready on (expired once its period is
  over), terminated when the placement was cancelled while under way;
- every partnership that issued a memorandum has it. Of the signed memoranda of partnerships
  active or under review, that of the active partnership that issued first has lapsed (and
  its owner's reminder to renew it is three weeks overdue: the partnership is clearly at
  risk), the `EXPIRING_MEMORANDA` issued first of the others expire within the next 90 days
  (10 to about 40 days from the day of loading), and every other runs for 24, 36, 48 or 60
  months, the shortest that ends more than `QUIET_DAYS` days ahead;
- the officer of every placement under way has planned a visit half-way through it: done
  once due, except the `OVERDUE_VISITS` latest due, still open.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.agreements.adapter import definition as agreement_definition
from crm.agreements.document import Signatory
from crm.agreements.models import SignerParty
from crm.agreements.service import add_months
from crm.auth.models import User
from crm.contacts.models import Contact, ContactRole
from crm.demo.agreement_rows import (
    SIGNED,
    AgreementCounts,
    AgreementPlanner,
    AgreementRows,
    ProviderSigner,
    english_words,
    insert_agreements,
)
from crm.demo.agreement_stories import (
    StepTuple,
    memorandum_issued_at,
    partnership_memorandum,
    placement_agreement,
)
from crm.demo.outcome_rows import employer_signatories
from crm.demo.placeholder_documents import placeholder_documents
from crm.demo.placements import office_time
from crm.demo.rows import OfficerRow, insert_rows
from crm.demo.stories import VISIT_SUBJECTS
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Learner
from crm.learners.service import is_minor
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import ensure_snapshot

AGREEMENT_SEED = 1414
DOCUMENTS_SOURCE = "crm demo"
EXPIRING_MEMORANDA = 3
RENEWAL_OVERDUE_DAYS = 21
RENEWAL_SUBJECT = "Send the new memorandum: the old one has lapsed"
EXPIRING_FROM_DAYS = 10
QUIET_DAYS = 120  # other memoranda end later than this
RUNNING = ("active", "under_review")  # partnerships whose memoranda the dashboard watches
OVERDUE_VISITS = 2


@dataclass(frozen=True)
class DemoOutcomes:
    """What was written: agreements (and how many memoranda expire within 90 days), and the
    officers' own follow-ups."""

    agreements: AgreementCounts
    memoranda: int
    memoranda_expiring: int
    visits: int


def load_outcomes(manager: User, now: dt.datetime | None = None) -> DemoOutcomes:
    """Write the demo's agreements and visits (the caller commits)."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    workflow = agreement_definition()
    ensure_snapshot(workflow)
    planner = AgreementPlanner(
        workflow,
        random.Random(AGREEMENT_SEED),
        now,
        ProviderSigner(manager.id, manager.name),
        placeholder_documents(DOCUMENTS_SOURCE),
        english_words(),
    )
    officers = {
        row.id: OfficerRow(row.id, row.name)
        for row in db.session.execute(sa.select(User.id, User.name))
    }
    languages = frozenset(current_app.config["CRM_LANGUAGES"])
    placements = _placement_agreements(planner, officers, languages)
    memoranda = _memoranda(planner, officers, languages)
    counts = insert_agreements(placements + memoranda)
    soon = planner.today + dt.timedelta(days=90)
    expiring = sum(
        1
        for rows in memoranda
        if rows.state == SIGNED and planner.today <= rows.agreement["expires_on"] <= soon
    )
    visits = _visits(now, officers)
    db.session.flush()
    return DemoOutcomes(counts, len(memoranda), expiring, visits)


def _steps(record_type: str) -> dict[int, list[StepTuple]]:
    """The transition history of every record of the type, oldest first."""
    steps: dict[int, list[StepTuple]] = defaultdict(list)
    for record_id, name, at, comment in db.session.execute(
        sa.select(
            WorkflowTransition.record_id,
            WorkflowTransition.transition,
            WorkflowTransition.occurred_at,
            WorkflowTransition.comment,
        )
        .where(WorkflowTransition.record_type == record_type)
        .order_by(WorkflowTransition.occurred_at, WorkflowTransition.id)
    ):
        steps[record_id].append((name, at, comment))
    return steps


def _placement_agreements(
    planner: AgreementPlanner, officers: dict[int, OfficerRow], languages: frozenset[str]
) -> list[AgreementRows]:
    """The agreements of the placements that reached the agreement stage."""
    steps = _steps("placement")
    placements = [
        p
        for p in db.session.scalars(sa.select(Placement).order_by(Placement.id))
        if any(name == "send_agreement" for name, _at, _c in steps[p.id])
    ]
    learners = {
        learner.id: learner
        for learner in db.session.scalars(
            sa.select(Learner).where(Learner.id.in_({p.learner_id for p in placements}))
        )
    }
    organisations = {p.organisation_id for p in placements if p.organisation_id}
    decision_makers = employer_signatories(organisations, (ContactRole.DECISION_MAKER,))
    supervisors = {
        contact.id: contact
        for contact in db.session.scalars(
            sa.select(Contact).where(Contact.id.in_({p.supervisor_id for p in placements}))
        )
    }
    planned = []
    for placement in placements:
        assert placement.organisation_id is not None and placement.supervisor_id is not None
        learner = learners[placement.learner_id]
        supervisor = supervisors[placement.supervisor_id]
        employer = decision_makers.get(placement.organisation_id, (None, ""))[0] or Signatory(
            SignerParty.EMPLOYER,
            supervisor.full_name,
            supervisor.email,
            supervisor.job_title,
            contact_id=supervisor.id,
        )
        parties = [
            Signatory(SignerParty.PROVIDER, ""),
            employer,
            Signatory(SignerParty.LEARNER, learner.name, learner.email, learner_id=learner.id),
        ]
        assert placement.start_date is not None and placement.end_date is not None
        if is_minor(learner.birth_date, placement.start_date):
            parties.append(
                Signatory(
                    SignerParty.GUARDIAN,
                    learner.guardian_name,
                    learner.guardian_email,
                    learner_id=learner.id,
                )
            )
        language = supervisor.preferred_language
        rows = placement_agreement(
            planner,
            steps=steps[placement.id],
            state=placement.state,
            start=placement.start_date,
            end=placement.end_date,
            organisation_id=placement.organisation_id,
            officer=officers[placement.officer_id],
            language=language if language in languages else "en",
            parties=parties,
        )
        assert rows is not None
        rows.agreement["placement_id"] = placement.id
        planned.append(rows)
    return planned


def _months_after(start: dt.date, day: dt.date) -> int:
    """The fewest whole months from `start` that end on or after `day` (at least one)."""
    months = max(1, (day.year - start.year) * 12 + day.month - start.month)
    while add_months(start, months) < day:
        months += 1
    while months > 1 and add_months(start, months - 1) >= day:
        months -= 1
    return months


def _durations(
    partnerships: list[Partnership], steps: dict[int, list[StepTuple]], today: dt.date
) -> tuple[dict[int, int], Partnership | None]:
    """Each memorandum's duration in months (one lapsed, a few expiring soon, the rest
    quiet), and the active partnership whose memorandum lapsed."""
    issued = {
        p.id: at.date()
        for p in partnerships
        if (at := memorandum_issued_at(steps[p.id])) is not None
    }
    watched = sorted(
        (
            p
            for p in partnerships
            if p.id in issued and p.state in RUNNING and p.memorandum_signed_on is not None
        ),
        key=lambda p: (issued[p.id], p.id),
    )
    quiet = today + dt.timedelta(days=QUIET_DAYS)
    durations = {
        p_id: next(m for m in (24, 36, 48, 60) if add_months(day, m) > quiet)
        for p_id, day in issued.items()
    }
    lapsed = next((p for p in watched if p.state == "active"), None)
    if lapsed is not None:  # ended over a week ago: the timer has expired it
        ended = today - dt.timedelta(days=7)
        durations[lapsed.id] = max(1, _months_after(issued[lapsed.id], ended) - 1)
    soon = today + dt.timedelta(days=EXPIRING_FROM_DAYS)
    for partnership in [p for p in watched if p is not lapsed][:EXPIRING_MEMORANDA]:
        durations[partnership.id] = _months_after(issued[partnership.id], soon)
    return durations, lapsed


def _memoranda(
    planner: AgreementPlanner, officers: dict[int, OfficerRow], languages: frozenset[str]
) -> list[AgreementRows]:
    """The memoranda of the partnerships that issued one (or drafted one)."""
    steps = _steps("partnership")
    partnerships = list(db.session.scalars(sa.select(Partnership).order_by(Partnership.id)))
    durations, lapsed = _durations(partnerships, steps, planner.today)
    if lapsed is not None:
        _renewal_follow_up(lapsed, planner.now)
    roles = (ContactRole.DECISION_MAKER, ContactRole.FOCAL_PERSON)
    signatories = employer_signatories({p.organisation_id for p in partnerships}, roles)
    planned = []
    for partnership in partnerships:
        signatory, language = signatories.get(partnership.organisation_id, (None, "en"))
        rows = partnership_memorandum(
            planner,
            steps=steps[partnership.id],
            state=partnership.state,
            entered_at=partnership.state_entered_at,
            signed_on=partnership.memorandum_signed_on,
            organisation_id=partnership.organisation_id,
            owner=officers[partnership.owner_id],
            signatory=signatory,
            language=language if language in languages else "en",
            duration_months=durations.get(partnership.id, 24),
        )
        if rows is not None:
            rows.agreement["partnership_id"] = partnership.id
            planned.append(rows)
    return planned


def _renewal_follow_up(partnership: Partnership, now: dt.datetime) -> None:
    """The owner's own reminder to renew the lapsed memorandum, three weeks overdue."""
    due = now - dt.timedelta(days=RENEWAL_OVERDUE_DAYS)
    created = due - dt.timedelta(days=14)
    insert_rows(
        FollowUp.__table__,
        [
            {
                "subject": RENEWAL_SUBJECT,
                "due_at": due,
                "assignee_id": partnership.owner_id,
                "status": FollowUpStatus.OPEN,
                "record_type": "partnership",
                "record_id": partnership.id,
                "organisation_id": partnership.organisation_id,
                "created_by_id": partnership.owner_id,
                "created_by_rule": "",
                "completed_at": None,
                "completed_by_id": None,
                "notes": "",
                "reminder_sent_at": due,  # the reminder job told the owner
                "created_at": created,
                "updated_at": due,
            }
        ],
    )


def _visits(now: dt.datetime, officers: dict[int, OfficerRow]) -> int:
    """A visit half-way through each placement under way; the latest due still open."""
    placements = list(
        db.session.scalars(
            sa.select(Placement).where(Placement.state == "in_progress").order_by(Placement.id)
        )
    )
    names = dict(
        db.session.execute(
            sa.select(Learner.id, Learner.first_name).where(
                Learner.id.in_({p.learner_id for p in placements})
            )
        ).all()
    )
    supervisors = dict(
        db.session.execute(
            sa.select(Contact.id, Contact.first_name + " " + Contact.last_name).where(
                Contact.id.in_({p.supervisor_id for p in placements})
            )
        ).all()
    )
    planned: list[tuple[Placement, dt.datetime]] = []
    for placement in placements:
        assert placement.start_date is not None and placement.end_date is not None
        middle = placement.start_date + (placement.end_date - placement.start_date) / 2
        planned.append((placement, office_time(middle, 10 * 60)))
    due_already = sorted((due, p.id) for p, due in planned if due < now)
    overdue = {placement_id for _due, placement_id in due_already[-OVERDUE_VISITS:]}
    rows: list[dict[str, Any]] = []
    for position, (placement, due) in enumerate(planned):
        officer = officers[placement.officer_id]
        created = placement.state_entered_at + dt.timedelta(hours=2)
        done = due < now and placement.id not in overdue
        completed = min(due + dt.timedelta(hours=3), now - dt.timedelta(hours=1)) if done else None
        subject = VISIT_SUBJECTS[position % len(VISIT_SUBJECTS)].format(
            learner=names[placement.learner_id],
            supervisor=supervisors.get(placement.supervisor_id or 0, ""),
        )
        reminded = due if due < (completed or now) else None
        rows.append(
            {
                "subject": subject[:200],
                "due_at": due,
                "assignee_id": officer.id,
                "status": FollowUpStatus.DONE if done else FollowUpStatus.OPEN,
                "record_type": "placement",
                "record_id": placement.id,
                "organisation_id": placement.organisation_id,
                "created_by_id": officer.id,
                "created_by_rule": "",
                "completed_at": completed,
                "completed_by_id": officer.id if done else None,
                "notes": "",
                "reminder_sent_at": reminded,
                "created_at": min(created, due - dt.timedelta(hours=1)),
                "updated_at": completed or reminded or created,
            }
        )
    insert_rows(FollowUp.__table__, rows)
    return len(rows)
