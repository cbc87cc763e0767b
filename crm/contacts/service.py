"""Contacts at organisations: create, change, archive and find them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from crm.auth.models import User
from crm.contacts.models import ConsentBasis, Contact, ContactRole
from crm.core.pagination import Page, paginate
from crm.core.search import search_conditions
from crm.core.text import fold, search_terms
from crm.db import utcnow
from crm.extensions import db
from crm.organisations import nace
from crm.organisations.models import Organisation
from crm.organisations.service import can_edit, refresh_search_text


class ContactError(Exception):
    """A rule about contacts was broken; the message is fit to show the user."""


@dataclass(frozen=True)
class ContactValues:
    """What a form hands the service to create or change a contact."""

    first_name: str
    last_name: str
    role: ContactRole
    job_title: str = ""
    email: str = ""
    phone: str = ""
    preferred_language: str = "en"
    consent_basis: ConsentBasis | None = None
    consent_date: dt.date | None = None
    notes: str = ""


@dataclass(frozen=True)
class ContactFilters:
    """What the contact list is asked to show."""

    query: str = ""
    role: str = ""
    section: str = ""
    country: str = ""
    owner_id: int | None = None
    include_archived: bool = False
    sort: str = "name"


def contact_search_text(contact: Contact, organisation: Organisation) -> str:
    """Folded text the contact list's search box matches against."""
    parts = (
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.job_title,
        organisation.legal_name,
        organisation.trading_name,
        organisation.city,
    )
    return " ".join(fold(p) for p in parts if p)


def get_contact(contact_id: int) -> Contact | None:
    """A contact with its organisation (and the organisation's owner) loaded."""
    return db.session.scalar(
        sa.select(Contact)
        .where(Contact.id == contact_id)
        .options(joinedload(Contact.organisation).joinedload(Organisation.owner))
    )


def can_edit_contact(user: User, contact: Contact) -> bool:
    """Whoever may edit the organisation may edit its contacts."""
    return can_edit(user, contact.organisation)


def _check(values: ContactValues) -> None:
    if values.consent_date and values.consent_date > utcnow().date():
        raise ContactError(_("The consent date cannot be in the future."))
    if values.consent_date and not values.consent_basis:
        raise ContactError(_("Choose the lawful basis the consent date belongs to."))


def _apply(contact: Contact, values: ContactValues) -> None:
    contact.first_name = values.first_name.strip()
    contact.last_name = values.last_name.strip()
    contact.role = values.role
    contact.job_title = values.job_title.strip()
    contact.email = values.email.strip().lower()
    contact.phone = values.phone.strip()
    contact.preferred_language = values.preferred_language
    contact.consent_basis = values.consent_basis
    contact.consent_date = values.consent_date
    contact.notes = values.notes.strip()
    contact.sort_name = fold(f"{contact.last_name} {contact.first_name}")


def _refresh_organisation_search(organisation: Organisation) -> None:
    names = db.session.execute(
        sa.select(Contact.first_name, Contact.last_name).where(
            Contact.organisation_id == organisation.id, Contact.archived_at.is_(None)
        )
    )
    refresh_search_text(organisation, [f"{first} {last}" for first, last in names])


def create_contact(organisation: Organisation, values: ContactValues, acting: User) -> Contact:
    """Add a contact to an organisation the user may edit."""
    if not can_edit(acting, organisation):
        raise PermissionError("not allowed")
    _check(values)
    contact = Contact(organisation_id=organisation.id, organisation=organisation)
    _apply(contact, values)
    contact.search_text = contact_search_text(contact, organisation)
    db.session.add(contact)
    db.session.flush()
    _refresh_organisation_search(organisation)
    db.session.flush()
    return contact


def update_contact(contact: Contact, values: ContactValues, acting: User) -> None:
    """Change a contact of an organisation the user may edit."""
    if not can_edit_contact(acting, contact):
        raise PermissionError("not allowed")
    _check(values)
    _apply(contact, values)
    contact.search_text = contact_search_text(contact, contact.organisation)
    db.session.flush()
    _refresh_organisation_search(contact.organisation)
    db.session.flush()


def set_archived(contact: Contact, archived: bool, acting: User) -> None:
    """Archive (hide, keep history) or restore a contact."""
    if not can_edit_contact(acting, contact):
        raise PermissionError("not allowed")
    contact.archived_at = utcnow() if archived else None
    db.session.flush()
    _refresh_organisation_search(contact.organisation)
    db.session.flush()


def contacts_of(organisation: Organisation, include_archived: bool = False) -> list[Contact]:
    """An organisation's contacts, by name."""
    query = sa.select(Contact).where(Contact.organisation_id == organisation.id)
    if not include_archived:
        query = query.where(Contact.archived_at.is_(None))
    return list(db.session.scalars(query.order_by(Contact.sort_name, Contact.id)))


CONTACT_SORTS = ("name", "-name", "organisation", "role", "-last_activity")


def list_contacts(filters: ContactFilters, page: int, per_page: int) -> Page[Contact]:
    """One page of the contact list, with organisations, in a fixed number of statements."""
    conditions: list[sa.ColumnElement[bool]] = []
    if not filters.include_archived:
        # Archived organisations are few: excluding their ids spares the count a join.
        archived = sa.select(Organisation.id).where(Organisation.archived_at.is_not(None))
        conditions += [Contact.archived_at.is_(None), Contact.organisation_id.not_in(archived)]
    conditions += search_conditions(
        Contact.search_text, Contact.id, "contact_search", search_terms(filters.query)
    )
    if filters.role:
        conditions.append(Contact.role == filters.role)
    if filters.section:
        conditions.append(Organisation.nace_code.in_(nace.divisions_in_section(filters.section)))
    if filters.country:
        conditions.append(Organisation.country == filters.country)
    if filters.owner_id:
        conditions.append(Organisation.owner_id == filters.owner_id)
    orders: dict[str, list[Any]] = {
        "name": [Contact.sort_name.asc()],
        "-name": [Contact.sort_name.desc()],
        "organisation": [Organisation.sort_name.asc(), Contact.sort_name.asc()],
        "role": [Contact.role.asc(), Contact.sort_name.asc()],
        "-last_activity": [Contact.last_activity_at.desc().nulls_last()],
    }
    order = orders.get(filters.sort, orders["name"])
    query = (
        sa.select(Contact)
        .join(Contact.organisation)
        .options(contains_eager(Contact.organisation))
        .where(*conditions)
        .order_by(*order, Contact.id.asc())
    )
    count_query = sa.select(sa.func.count()).select_from(Contact)
    if filters.section or filters.country or filters.owner_id:
        count_query = count_query.join(Contact.organisation)
    count_query = count_query.where(*conditions)
    return paginate(query, page, per_page, count_query=count_query)
