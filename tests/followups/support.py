"""Builders and page readers for the follow-up tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import unescape

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.followups import service
from crm.followups.models import FollowUp
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from tests.core.helpers import section

_ITEM = re.compile(
    r'<li class="py-2 border-top follow-up[^"]*" id="follow-up-(\d+)">(.*?)</li>', re.S
)
_TAG = re.compile(r"<[^>]+>")


def add_follow_up(
    record: Organisation | Contact | Partnership,
    assignee: User,
    due_at: dt.datetime | None = None,
    subject: str = "Call back about placements",
    created_by: User | None = None,
    notes: str = "",
) -> FollowUp:
    """A follow-up added by hand (by `created_by`, else the assignee) through the service."""
    kind = {Organisation: "organisation", Contact: "contact", Partnership: "partnership"}
    found = service.find_record(kind[type(record)], record.id)
    assert found is not None
    follow_up = service.add_follow_up(
        found,
        service.FollowUpValues(
            subject=subject,
            due_at=due_at or utcnow() + dt.timedelta(days=2),
            assignee_id=assignee.id,
            notes=notes,
        ),
        created_by or assignee,
    )
    db.session.commit()
    return follow_up


def plain(html: str) -> str:
    """Text without tags and with collapsed white space."""
    return " ".join(unescape(_TAG.sub(" ", html)).split())


@dataclass(frozen=True)
class Item:
    """One follow-up as a page lists it."""

    id: int
    subject: str
    overdue: bool
    can_change: bool
    record: str
    rule: str
    text: str


def _span(body: str, css_class: str, tag: str = "span") -> str:
    match = re.search(rf'<{tag} class="[^"]*\b{css_class}\b[^"]*">(.*?)</{tag}>', body, re.S)
    return plain(match.group(1)) if match else ""


def items(html: str, element_id: str | None = None, tag: str = "section") -> list[Item]:
    """The follow-ups listed on a page (or inside the element with that id)."""
    if element_id is not None:
        html = section(html, element_id, tag)
    found = []
    for match in _ITEM.finditer(html):
        body = match.group(2)
        found.append(
            Item(
                id=int(match.group(1)),
                subject=_span(body, "follow-up-subject"),
                overdue="follow-up-late" in body,
                can_change="follow-up-actions" in body,
                record=_span(body, "follow-up-record", "div"),
                rule=_span(body, "follow-up-rule"),
                text=plain(body),
            )
        )
    return found


def subjects(html: str, element_id: str | None = None, tag: str = "section") -> list[str]:
    """The subjects of the follow-ups listed, in order."""
    return [item.subject for item in items(html, element_id, tag)]
