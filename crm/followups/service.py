"""Follow-ups: the record each concerns, who may change them; add, complete, snooze, cancel."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, joinedload

from crm.activities.models import Activity, ActivityKind
from crm.activities.service import ActivityError, ActivityValues, log_activity
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Learner
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow.service import current_pack

# What a record is called in a sentence ("made by partnership step: ...").
RECORD_NOUNS = {
    "organisation": _l("organisation"),
    "contact": _l("contact"),
    "partnership": _l("partnership"),
    "placement": _l("placement"),
    "agreement": _l("agreement"),
}
RECORD_ENDPOINTS = {
    "organisation": ("organisations.show", "organisation_id"),
    "contact": ("contacts.show", "contact_id"),
    "partnership": ("partnerships.show", "partnership_id"),
    "placement": ("placements.show", "placement_id"),
    "agreement": ("agreements.show", "agreement_id"),
}


class FollowUpError(Exception):
    """A rule about follow-ups was broken; the message is fit to show the user."""

    def __init__(self, message: str, field: str = "subject") -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs next to


# --- the record a follow-up concerns --------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """The organisation, contact or partnership a follow-up is about, as far as we need it."""

    type: str
    id: int
    organisation_id: int | None
    owner_id: int | None
    name: str
    organisation_name: str = ""
    contact_id: int | None = None

    def url(self, base_url: str = "") -> str | None:
        """The record's page (absolute when `base_url` is given); None for unknown types."""
        if self.type in RECORD_ENDPOINTS:
            endpoint, argument = RECORD_ENDPOINTS[self.type]
            values: dict[str, Any] = {argument: self.id}
            return base_url + url_for(endpoint, **values)
        if self.organisation_id is not None:
            return base_url + url_for("organisations.show", organisation_id=self.organisation_id)
        return None


def record_of(obj: Organisation | Contact | Partnership | Placement) -> Record:
    """The record behind a page's object (contacts, partnerships and placements loaded with
    their organisation, placements also with their learner)."""
    if isinstance(obj, Organisation):
        return Record("organisation", obj.id, obj.id, obj.owner_id, obj.display_name)
    if isinstance(obj, Contact):
        org = obj.organisation
        return Record(
            "contact", obj.id, org.id, org.owner_id, obj.full_name, org.display_name, obj.id
        )
    if isinstance(obj, Placement):
        org_name = obj.organisation.display_name if obj.organisation else ""
        return Record(
            "placement",
            obj.id,
            obj.organisation_id,
            obj.officer_id,
            _("Placement of %(name)s", name=obj.learner.name),
            org_name,
        )
    org = obj.organisation
    return Record(
        "partnership",
        obj.id,
        org.id,
        obj.owner_id,
        _("Partnership with %(name)s", name=org.display_name),
        org.display_name,
    )


def find_record(record_type: str, record_id: int) -> Record | None:
    """The organisation, contact or partnership of that type and id (None if there is none)."""
    options: dict[str, Any] = {
        "organisation": sa.select(Organisation).where(Organisation.id == record_id),
        "contact": sa.select(Contact)
        .where(Contact.id == record_id)
        .options(joinedload(Contact.organisation, innerjoin=True)),
        "partnership": sa.select(Partnership)
        .where(Partnership.id == record_id)
        .options(joinedload(Partnership.organisation, innerjoin=True)),
        "placement": sa.select(Placement)
        .where(Placement.id == record_id)
        .options(
            joinedload(Placement.learner, innerjoin=True).load_only(
                Learner.first_name, Learner.last_name
            ),
            joinedload(Placement.organisation),
        ),
    }
    if record_type not in options:
        return None
    obj = db.session.scalar(options[record_type])
    return record_of(obj) if obj is not None else None


@dataclass(frozen=True)
class ListedFollowUp:
    """A follow-up with the record it concerns, as pages and the calendar show it."""

    follow_up: FollowUp
    record: Record

    @property
    def subject(self) -> str:
        """Workflow subjects are msgids; what a person typed is shown as typed."""
        f = self.follow_up
        return _(f.subject) if f.created_by_rule else f.subject

    @property
    def made_by(self) -> str:
        """'made by partnership step: Record the first approach', or '' if made by hand."""
        return rule_label(self.follow_up.created_by_rule)

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.follow_up.due_at < now


# Follow-ups made about action links (crm.links.purposes, crm.portal.fresh) carry the record's
# workflow name (so the record's next step closes them) with one of these in place of a step.
LINK_RULES = {
    "link_expired": _l("made because an e-mailed link expired unanswered"),
    "link_fresh_requested": _l("made because the recipient asked for a new link"),
}


def rule_label(rule: str) -> str:
    """The workflow step that made a follow-up, in words."""
    if not rule:
        return ""
    workflow_name, _sep, transition_name = rule.partition(".")
    if transition_name in LINK_RULES:
        return str(LINK_RULES[transition_name])
    if workflow_name == "link":
        return _("made because no e-mail link could be sent")
    definition = current_pack().definitions.get(workflow_name)
    noun: Any = workflow_name
    step = transition_name
    if definition is not None:
        noun = RECORD_NOUNS.get(definition.record, definition.record)
        with contextlib.suppress(KeyError):
            step = _(definition.transition(transition_name).label)
    return _("made by %(workflow)s step: %(step)s", workflow=noun, step=step)


def listing() -> sa.Select:
    """Follow-ups with their assignee and what is needed to name and link their record.

    One statement: the organisation through the follow-up's own key, the contact or
    partnership by an outer join on the record's type.
    """
    return (
        sa.select(
            FollowUp,
            Organisation.legal_name,
            Organisation.trading_name,
            Organisation.owner_id,
            Contact.first_name,
            Contact.last_name,
            Partnership.owner_id,
        )
        .join(FollowUp.assignee)
        .outerjoin(Organisation, Organisation.id == FollowUp.organisation_id)
        .outerjoin(
            Contact, sa.and_(FollowUp.record_type == "contact", Contact.id == FollowUp.record_id)
        )
        .outerjoin(
            Partnership,
            sa.and_(FollowUp.record_type == "partnership", Partnership.id == FollowUp.record_id),
        )
        .options(contains_eager(FollowUp.assignee))
    )


def _listed(row: Any) -> ListedFollowUp:
    f, legal, trading, org_owner, first, last, partnership_owner = row
    organisation_name = trading or legal or ""
    owner, contact_id = org_owner, None
    name = organisation_name
    if f.record_type == "contact" and first is not None:
        name, contact_id = f"{first} {last}".strip(), f.record_id
    elif f.record_type == "partnership" and partnership_owner is not None:
        owner = partnership_owner
        name = _("Partnership with %(name)s", name=organisation_name)
    record = Record(
        f.record_type, f.record_id, f.organisation_id, owner, name, organisation_name, contact_id
    )
    return ListedFollowUp(f, record)


def listed_rows(query: sa.Select) -> list[ListedFollowUp]:
    """Run a `listing()` query and pair each follow-up with its record."""
    return [_listed(row) for row in db.session.execute(query)]


def get_listed(follow_up_id: int, for_update: bool = False) -> ListedFollowUp | None:
    """One follow-up with its record; `for_update` locks the follow-up's row for a change."""
    query = listing().where(FollowUp.id == follow_up_id)
    if for_update:
        query = query.with_for_update(of=FollowUp)
    row = db.session.execute(query).first()
    return _listed(row) if row is not None else None


def open_follow_ups_for(record_type: str, record_id: int) -> list[FollowUp]:
    """The open follow-ups about one record, soonest first."""
    return list(
        db.session.scalars(
            sa.select(FollowUp)
            .where(
                FollowUp.record_type == record_type,
                FollowUp.record_id == record_id,
                FollowUp.status == FollowUpStatus.OPEN,
            )
            .options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.due_at, FollowUp.id)
        )
    )


def listed_for(record: Record, follow_ups: list[FollowUp] | None = None) -> list[ListedFollowUp]:
    """The record's open follow-ups (as already loaded by its page, or read now)."""
    if follow_ups is None:
        follow_ups = open_follow_ups_for(record.type, record.id)
    return [ListedFollowUp(f, record) for f in follow_ups]


def default_assignee(record: Record, user: User, candidates: list[User]) -> int:
    """Whom a new follow-up goes to unless changed: the record's owner, else the user."""
    if record.owner_id is not None and any(u.id == record.owner_id for u in candidates):
        return record.owner_id
    return user.id


def assignable_users() -> list[User]:
    """Active accounts a follow-up may be given to."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.is_active_account.is_(True)).order_by(User.name, User.id)
        )
    )


# --- permissions ----------------------------------------------------------------------------


def may_change(user: User, follow_up: FollowUp, record: Record) -> bool:
    """Completing, snoozing, reassigning, cancelling: the assignee, the creator, the record's
    owner, managers and admins. Anyone who can see the record may add a follow-up."""
    if user.sees_everything:
        return True
    return user.id in {follow_up.assignee_id, follow_up.created_by_id, record.owner_id}


def _check_may_change(user: User, listed: ListedFollowUp) -> FollowUp:
    if not may_change(user, listed.follow_up, listed.record):
        raise PermissionError("not allowed")
    follow_up = listed.follow_up
    if follow_up.status != FollowUpStatus.OPEN:
        raise FollowUpError(_("This follow-up is no longer open."))
    return follow_up


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpValues:
    """What a form hands the service to add a follow-up."""

    subject: str
    due_at: dt.datetime
    assignee_id: int
    notes: str = ""


@dataclass(frozen=True)
class CompletionActivity:
    """The activity logged in the same step as completing a follow-up."""

    kind: ActivityKind
    text: str = ""


def _active_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active_account:
        raise FollowUpError(_("Choose someone with an active account."), "assignee_id")
    return user


def add_follow_up(record: Record, values: FollowUpValues, created_by: User) -> FollowUp:
    """Add a follow-up to a record; whoever may see the record may (the register is shared)."""
    subject = values.subject.strip()
    if not subject:
        raise FollowUpError(_("Say what needs to be done."))
    assignee = _active_user(values.assignee_id)
    follow_up = FollowUp(
        subject=subject,
        due_at=values.due_at,
        assignee_id=assignee.id,
        record_type=record.type,
        record_id=record.id,
        organisation_id=record.organisation_id,
        created_by_id=created_by.id,
        notes=values.notes.strip(),
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def complete_follow_up(
    listed: ListedFollowUp,
    user: User,
    activity: CompletionActivity | None = None,
    now: dt.datetime | None = None,
) -> Activity | None:
    """Mark a follow-up done, logging what happened on the record's timeline if given."""
    follow_up = _check_may_change(user, listed)
    now = now or utcnow()
    logged = None
    if activity is not None:
        organisation = (
            db.session.get(Organisation, listed.record.organisation_id)
            if listed.record.organisation_id is not None
            else None
        )
        if organisation is None:
            raise FollowUpError(_("There is no organisation to log the activity on."), "kind")
        values = ActivityValues(
            kind=activity.kind,
            occurred_at=now,
            subject=listed.subject,
            body=activity.text,
            contact_id=listed.record.contact_id,
        )
        try:
            logged = log_activity(organisation, values, user)
        except ActivityError as exc:
            raise FollowUpError(str(exc), "text") from exc
    follow_up.status = FollowUpStatus.DONE
    follow_up.completed_at = now
    follow_up.completed_by_id = user.id
    db.session.flush()
    return logged


def snooze_target(follow_up: FollowUp, by: str, now: dt.datetime) -> dt.datetime:
    """When "+1 day" or "+1 week" moves a follow-up to: from its due time, or from now if late."""
    delta = {"day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1)}[by]
    return max(follow_up.due_at, now) + delta


def snooze_follow_up(
    listed: ListedFollowUp, user: User, until: dt.datetime, now: dt.datetime | None = None
) -> None:
    """Move a follow-up later; it will be reminded again when the new time comes."""
    follow_up = _check_may_change(user, listed)
    if until <= (now or utcnow()):
        raise FollowUpError(_("Choose a time in the future."), "until")
    follow_up.due_at = until
    follow_up.reminder_sent_at = None
    db.session.flush()


def reassign_follow_up(listed: ListedFollowUp, user: User, assignee_id: int) -> User:
    """Give a follow-up to someone else, who will be reminded of it."""
    follow_up = _check_may_change(user, listed)
    assignee = _active_user(assignee_id)
    follow_up.assignee_id = assignee.id
    follow_up.reminder_sent_at = None
    db.session.flush()
    return assignee


def cancel_follow_up(listed: ListedFollowUp, user: User, now: dt.datetime | None = None) -> None:
    """Drop a follow-up that is no longer needed; it stays in the database as cancelled."""
    follow_up = _check_may_change(user, listed)
    follow_up.status = FollowUpStatus.CANCELLED
    follow_up.completed_at = now or utcnow()
    follow_up.completed_by_id = user.id
    db.session.flush()
