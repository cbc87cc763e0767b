"""Form data as a browser posts it, with sensible defaults for the register's forms."""

from __future__ import annotations

from typing import Any

from crm.contacts.models import Contact
from crm.organisations.models import Organisation


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def organisation_form(**changes: Any) -> dict[str, Any]:
    """A valid new-organisation form; pass `field=None` to leave a field out."""
    values: dict[str, Any] = {
        "legal_name": "Brightwork Engineering GmbH",
        "trading_name": "",
        "registration_number": "",
        "nace_code": "28",
        "size_band": "small",
        "country": "DE",
        "city": "Köln",
        "address": "Industriestraße 5",
        "website": "",
        "tags": "",
        "capacity_pledge": "4",
        "capacity_period": "year",
        "notes": "",
    }
    values.update(changes)
    return _drop_none(values)


def organisation_edit_form(organisation: Organisation, **changes: Any) -> dict[str, Any]:
    """The edit form as the page fills it in for `organisation`, with some changes."""
    values = organisation_form(
        legal_name=organisation.legal_name,
        trading_name=organisation.trading_name,
        registration_number=organisation.registration_number,
        nace_code=organisation.nace_code,
        size_band=organisation.size_band.value if organisation.size_band else "",
        country=organisation.country,
        city=organisation.city,
        address=organisation.address,
        website=organisation.website,
        capacity_pledge=str(organisation.capacity_pledge),
        capacity_period=organisation.capacity_period.value,
        notes=organisation.notes,
    )
    values.update(changes)
    return _drop_none(values)


def contact_form(**changes: Any) -> dict[str, Any]:
    """A valid new-contact form."""
    values: dict[str, Any] = {
        "first_name": "Jürgen",
        "last_name": "Schäfer",
        "role": "decision_maker",
        "job_title": "Head of training",
        "email": "j.schaefer@brightwork.test",
        "phone": "+49 221 555 0100",
        "preferred_language": "de",
        "consent_basis": "legitimate_interest",
        "consent_date": "2024-03-01",
        "notes": "",
    }
    values.update(changes)
    return _drop_none(values)


def contact_edit_form(contact: Contact, **changes: Any) -> dict[str, Any]:
    """The edit form as the page fills it in for `contact`, with some changes."""
    values = contact_form(
        first_name=contact.first_name,
        last_name=contact.last_name,
        role=contact.role.value,
        job_title=contact.job_title,
        email=contact.email,
        phone=contact.phone,
        preferred_language=contact.preferred_language,
        consent_basis=contact.consent_basis.value if contact.consent_basis else "",
        consent_date=contact.consent_date.isoformat() if contact.consent_date else "",
        notes=contact.notes,
    )
    values.update(changes)
    return _drop_none(values)


def activity_form(**changes: Any) -> dict[str, Any]:
    """A valid activity form: a call yesterday-ish with nobody in particular."""
    values: dict[str, Any] = {
        "kind": "call",
        "occurred_at": "2024-05-06T10:30",
        "contact_id": "0",
        "subject": "Placement capacity",
        "body": "They can take two learners in autumn.",
        "back": "organisation",
    }
    values.update(changes)
    return _drop_none(values)
