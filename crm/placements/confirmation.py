"""What an employer decides through the confirmation link: confirm, decline or propose dates.

The link page (crm.portal.confirm) calls `decide` with an open link whose row it has locked.
The decision is recorded once on the link (crm.links.service.spend: of two submissions of one
link exactly one changes it, however close they come); only the winner then corrects the
supervisor's details, fires the workflow transition as the employer's contact and e-mails the
placement's officer. What the officer reads (the history comment, the e-mail) is written in
the officer's language; the employer's own words are kept as typed. Never commits.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.service import contact_search_text
from crm.core.text import fold
from crm.extensions import db
from crm.followups.jobs import babel_locale, local_date, local_datetime, user_zone
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.organisations.models import Organisation
from crm.organisations.service import refresh_search_text
from crm.outbox.service import absolute_url, queue_email
from crm.placements.models import Placement
from crm.placements.service import get_placement
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowTransition

# The longest free text an employer may send with a decision.
MAX_TEXT = 2000


class ConfirmationError(Exception):
    """An answer that cannot be taken as it is; `field` names the form field it concerns."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class DeclineReason(enum.StrEnum):
    """Why an employer declines a placement (the list the page offers)."""

    NO_CAPACITY = "no_capacity"
    DATES = "dates"
    ROLE = "role"
    NO_SUPERVISOR = "no_supervisor"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(DECLINE_REASON_LABELS[self])


DECLINE_REASON_LABELS = {
    DeclineReason.NO_CAPACITY: _l("No capacity at that time"),
    DeclineReason.DATES: _l("The dates do not suit"),
    DeclineReason.ROLE: _l("The role does not fit the learner's programme"),
    DeclineReason.NO_SUPERVISOR: _l("No supervisor available"),
    DeclineReason.OTHER: _l("Another reason"),
}


@dataclass(frozen=True)
class Evidence:
    """Who sent a decision, as the server saw it, and when (UTC)."""

    ip: str
    user_agent: str
    at: dt.datetime


@dataclass(frozen=True)
class Confirmation:
    """The employer confirms, with the supervisor's details as they should be on record."""

    first_name: str
    last_name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class Refusal:
    """The employer declines, with a reason from the list and their own words."""

    reason: DeclineReason
    details: str = ""


@dataclass(frozen=True)
class DateProposal:
    """The employer proposes other dates; the placement goes back to the officer."""

    start_date: dt.date
    end_date: dt.date
    note: str = ""


Answer = Confirmation | Refusal | DateProposal

DECISIONS: dict[type[Any], tuple[str, str]] = {
    # answer type → (the decision kept on the link, the workflow transition it fires)
    Confirmation: ("confirm", "confirm"),
    Refusal: ("decline", "decline"),
    DateProposal: ("propose", "propose_dates"),
}


# --- checking ---------------------------------------------------------------------------------


def normalised_email(address: str) -> str:
    """The address as it will be kept (lower case), or ConfirmationError if it is no address.

    Only the syntax is checked: no DNS lookups.
    """
    try:
        validate_email(address.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise ConfirmationError(_("Enter a valid e-mail address."), "email") from None
    return address.strip().lower()


def check(answer: Answer, today: dt.date) -> None:
    """Refuse an answer a form should not have let through (ConfirmationError)."""
    if isinstance(answer, Confirmation):
        if not answer.first_name.strip():
            raise ConfirmationError(_("Enter the supervisor's first name."), "first_name")
        if not answer.last_name.strip():
            raise ConfirmationError(_("Enter the supervisor's last name."), "last_name")
        normalised_email(answer.email)
    elif isinstance(answer, Refusal):
        if answer.reason == DeclineReason.OTHER and not answer.details.strip():
            raise ConfirmationError(_("Tell us the reason."), "details")
    else:
        if answer.end_date <= answer.start_date:
            raise ConfirmationError(_("The end date must be after the start date."), "end_date")
        if answer.start_date < today:
            raise ConfirmationError(_("The start date cannot be in the past."), "start_date")


# --- deciding ---------------------------------------------------------------------------------


def decide(link: ActionLink, answer: Answer, evidence: Evidence) -> WorkflowTransition | None:
    """Take the employer's answer to a confirmation link; None if another submission won.

    Raises ConfirmationError for an answer that cannot be taken, and the workflow's
    WorkflowError if the transition is blocked; the caller then rolls back.
    """
    if link.purpose != LinkPurpose.CONFIRM_PLACEMENT:
        raise ValueError(f"{link!r} does not confirm a placement")
    check(answer, evidence.at.date())
    placement = get_placement(link.record_id)
    if placement is None:
        raise ConfirmationError(_("This placement no longer exists."))
    decision, transition = DECISIONS[type(answer)]
    changed = _corrections(placement.supervisor, answer)
    data = _decision_data(answer, changed)
    if not links.spend(
        link, decision, ip=evidence.ip, user_agent=evidence.user_agent, data=data, now=evidence.at
    ):
        return None
    if isinstance(answer, Confirmation) and placement.supervisor is not None and changed:
        _correct_supervisor(placement.supervisor, answer)
    answered_by = _answered_by(placement, link, answer)
    officer = placement.officer
    with force_locale(babel_locale(officer.locale)):
        comment = _comment(answer, changed)
        entry = workflow.fire(
            placement,
            transition,
            party="employer",
            party_label=answered_by[:200],
            comment=comment,
            now=evidence.at,
        )
        if officer.is_active_account:
            _tell_officer(placement, officer, decision, answered_by, answer, changed, evidence)
    return entry


def _corrections(supervisor: Contact | None, answer: Answer) -> dict[str, list[str]]:
    """The supervisor's details the answer changes: field → [as on record, as answered]."""
    if not isinstance(answer, Confirmation) or supervisor is None:
        return {}
    answered = {
        "first_name": answer.first_name.strip(),
        "last_name": answer.last_name.strip(),
        "email": normalised_email(answer.email),
        "phone": answer.phone.strip(),
    }
    return {
        field: [getattr(supervisor, field), value]
        for field, value in answered.items()
        if getattr(supervisor, field) != value
    }


def _decision_data(answer: Answer, changed: dict[str, list[str]]) -> dict[str, Any]:
    """What the link keeps of the answer (JSON)."""
    if isinstance(answer, Confirmation):
        return {
            "first_name": answer.first_name.strip(),
            "last_name": answer.last_name.strip(),
            "email": normalised_email(answer.email),
            "phone": answer.phone.strip(),
            "changed": changed,
        }
    if isinstance(answer, Refusal):
        return {"reason": answer.reason.value, "details": answer.details.strip()}
    return {
        "start_date": answer.start_date.isoformat(),
        "end_date": answer.end_date.isoformat(),
        "note": answer.note.strip(),
    }


def _correct_supervisor(contact: Contact, answer: Confirmation) -> None:
    """Keep the supervisor's details as the employer gave them (and the searches in step)."""
    contact.first_name = answer.first_name.strip()[:100]
    contact.last_name = answer.last_name.strip()[:100]
    contact.email = normalised_email(answer.email)[:254]
    contact.phone = answer.phone.strip()[:50]
    contact.sort_name = fold(f"{contact.last_name} {contact.first_name}")
    organisation = db.session.get(Organisation, contact.organisation_id)
    assert organisation is not None
    contact.search_text = contact_search_text(contact, organisation)
    db.session.flush()
    names = db.session.execute(
        sa.select(Contact.first_name, Contact.last_name).where(
            Contact.organisation_id == organisation.id, Contact.archived_at.is_(None)
        )
    )
    refresh_search_text(organisation, [f"{first} {last}" for first, last in names])
    db.session.flush()


def _answered_by(placement: Placement, link: ActionLink, answer: Answer) -> str:
    """The name the history shows for the employer's side."""
    if isinstance(answer, Confirmation):
        return f"{answer.first_name.strip()} {answer.last_name.strip()}".strip()
    if placement.supervisor is not None:
        return placement.supervisor.full_name
    return link.recipient_name


FIELD_LABELS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
}


def _comment(answer: Answer, changed: dict[str, list[str]]) -> str:
    """The history's comment, in the current (the officer's) language."""
    if isinstance(answer, Confirmation):
        if not changed:
            return ""
        return _(
            "Supervisor's details corrected: %(changes)s",
            changes="; ".join(
                f"{FIELD_LABELS[field]}: {old or '—'} → {new or '—'}"
                for field, (old, new) in changed.items()
            ),
        )
    if isinstance(answer, Refusal):
        details = answer.details.strip()
        return f"{answer.reason.label}: {details}" if details else answer.reason.label
    dates = _(
        "Proposed dates: %(start)s – %(end)s",
        start=local_date(answer.start_date),
        end=local_date(answer.end_date),
    )
    note = answer.note.strip()
    return f"{dates}\n{note}" if note else dates


def _details(answer: Answer, changed: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(label, value) lines for the officer's e-mail, in the current language."""
    if isinstance(answer, Confirmation):
        answered = _decision_data(answer, changed)
        lines = []
        for field, label in FIELD_LABELS.items():
            value = answered[field] or "—"
            if field in changed:
                value = _("%(new)s (was %(old)s)", new=value, old=changed[field][0] or "—")
            lines.append((str(label), value))
        return lines
    if isinstance(answer, Refusal):
        lines = [(_("Reason"), answer.reason.label)]
        if answer.details.strip():
            lines.append((_("In their words"), answer.details.strip()))
        return lines
    lines = [
        (_("Proposed start"), local_date(answer.start_date)),
        (_("Proposed end"), local_date(answer.end_date)),
    ]
    if answer.note.strip():
        lines.append((_("Note"), answer.note.strip()))
    return lines


def _tell_officer(
    placement: Placement,
    officer: User,
    decision: str,
    answered_by: str,
    answer: Answer,
    changed: dict[str, list[str]],
    evidence: Evidence,
) -> None:
    """Queue the officer's e-mail saying what the employer answered (in the current locale)."""
    organisation = placement.organisation
    queue_email(
        kind="link_answered",
        to_email=officer.email,
        to_name=officer.name,
        language=officer.locale,
        context={
            "decision": decision,
            "answered_by": answered_by,
            "learner_name": placement.learner.name,
            "organisation_name": organisation.display_name if organisation else "",
            "answered_at": local_datetime(evidence.at, user_zone(officer.timezone)),
            "details": _details(answer, changed),
            "url": absolute_url("placements.show", placement_id=placement.id),
        },
        record_type="placement",
        record_id=placement.id,
        organisation_id=placement.organisation_id,
        user_id=officer.id,
    )
