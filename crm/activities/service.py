"""Logging activities and reading timelines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from crm.activities.models import Activity, ActivityKind
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import Organisation

# A little slack for clocks that differ between the user's device and the server.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


class ActivityError(Exception):
    """A rule about activities was broken; the message is fit to show the user."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs next to


@dataclass(frozen=True)
class ActivityValues:
    """What a form hands the service to log an activity."""

    kind: ActivityKind
    occurred_at: dt.datetime
    subject: str = ""
    body: str = ""
    contact_id: int | None = None


def log_activity(
    organisation: Organisation, values: ActivityValues, author: User | None
) -> Activity:
    """Add an activity to an organisation's timeline (and to one contact's, if given).

    Every account may log contact with any employer in the shared register, so that
    colleagues see who called whom.
    """
    now = utcnow()
    if values.occurred_at > now + FUTURE_TOLERANCE:
        raise ActivityError(
            _("An activity cannot lie in the future; plan it as a follow-up."), "occurred_at"
        )
    if not values.subject.strip() and not values.body.strip():
        raise ActivityError(_("Write a subject or a few words about what happened."))
    contact = None
    if values.contact_id is not None:
        contact = db.session.get(Contact, values.contact_id)
        if contact is None or contact.organisation_id != organisation.id:
            raise ActivityError(
                _("This contact does not belong to the organisation."), "contact_id"
            )
    activity = Activity(
        kind=values.kind,
        occurred_at=values.occurred_at,
        subject=values.subject.strip(),
        body=values.body.strip(),
        organisation_id=organisation.id,
        contact_id=contact.id if contact else None,
        author_id=author.id if author else None,
    )
    db.session.add(activity)
    if organisation.last_activity_at is None or organisation.last_activity_at < values.occurred_at:
        organisation.last_activity_at = values.occurred_at
    if contact is not None and (
        contact.last_activity_at is None or contact.last_activity_at < values.occurred_at
    ):
        contact.last_activity_at = values.occurred_at
    db.session.flush()
    return activity


def timeline(
    organisation_id: int | None = None,
    contact_id: int | None = None,
    limit: int = 50,
    before: dt.datetime | None = None,
) -> list[Activity]:
    """Newest-first activities of an organisation or a contact, with authors and contacts."""
    query = sa.select(Activity).options(joinedload(Activity.author), joinedload(Activity.contact))
    if organisation_id is not None:
        query = query.where(Activity.organisation_id == organisation_id)
    if contact_id is not None:
        query = query.where(Activity.contact_id == contact_id)
    if before is not None:
        query = query.where(Activity.occurred_at < before)
    query = query.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)
    return list(db.session.scalars(query))
