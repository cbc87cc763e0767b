"""Contacts at organisations: create, edit, view, archive and restore them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.contacts.models import ConsentBasis, Contact, ContactRole
from crm.extensions import db
from tests.core.helpers import (
    count_rows,
    field_error,
    flashes,
    fresh,
    is_invalid,
    listed_contacts,
    listed_organisations,
    text,
)
from tests.factories import make_contact, make_organisation
from tests.register.forms import contact_edit_form, contact_form, organisation_edit_form


@pytest.fixture
def organisation(officer):
    return make_organisation(officer, legal_name="Brightwork Engineering GmbH", city="Köln")


def only_contact() -> Contact:
    contact = db.session.scalar(sa.select(Contact))
    assert contact is not None
    return contact


def test_add_a_contact(ctx, login_as, officer, organisation):
    client = login_as(officer)
    form_page = text(client.get(f"/contacts/new/{organisation.id}"))
    assert "New contact at Brightwork Engineering GmbH" in form_page
    response = client.post_form(
        f"/contacts/new/{organisation.id}", contact_form(email="J.Schaefer@Brightwork.TEST")
    )
    assert response.status_code == 302
    assert response.location == f"/organisations/{organisation.id}"
    contact = only_contact()
    assert (
        contact.organisation_id,
        contact.first_name,
        contact.last_name,
        contact.role,
        contact.email,
        contact.preferred_language,
        contact.consent_basis,
        contact.consent_date,
    ) == (
        organisation.id,
        "Jürgen",
        "Schäfer",
        ContactRole.DECISION_MAKER,
        "j.schaefer@brightwork.test",
        "de",
        ConsentBasis.LEGITIMATE_INTEREST,
        dt.date(2024, 3, 1),
    )
    page = text(client.get(response.location))
    assert "Jürgen Schäfer added." in flashes(page)
    assert f'href="/contacts/{contact.id}"' in page
    assert "Decision maker · Head of training" in page
    # The organisation is now found by the contact's name.
    found = text(client.get("/organisations/?q=schafer"))
    assert listed_organisations(found) == ["Brightwork Engineering GmbH"]


def test_show_a_contact(ctx, login_as, officer, organisation):
    contact = make_contact(
        organisation,
        first_name="Ana",
        last_name="Silva",
        email="ana@example.test",
        phone="+351 21 000 0000",
        preferred_language="pt",
        consent_basis=ConsentBasis.CONSENT,
        consent_date=dt.date(2024, 2, 29),
        notes="Prefers mornings.",
    )
    page = text(login_as(officer).get(f"/contacts/{contact.id}"))
    assert "Ana Silva" in page
    assert 'href="mailto:ana@example.test"' in page
    assert 'href="tel:+351210000000"' in page
    assert "Portuguese" in page
    assert "Consent" in page
    assert "Prefers mornings." in page
    assert f'href="/organisations/{organisation.id}"' in page
    assert 'id="activity-form"' in page


def test_unknown_contact_and_organisation_are_404(ctx, login_as, officer):
    client = login_as(officer)
    assert client.get("/contacts/999999").status_code == 404
    assert client.get("/contacts/999999/edit").status_code == 404
    assert client.get("/contacts/new/999999").status_code == 404


def test_edit_a_contact(ctx, login_as, officer, organisation):
    contact = make_contact(organisation, first_name="Ana", last_name="Silva")
    client = login_as(officer)
    form_page = text(client.get(f"/contacts/{contact.id}/edit"))
    assert 'value="Silva"' in form_page
    response = client.post_form(
        f"/contacts/{contact.id}/edit",
        contact_edit_form(contact, last_name="Santos", role="workplace_supervisor"),
    )
    assert response.status_code == 302
    assert response.location == f"/contacts/{contact.id}"
    page = text(client.get(response.location))
    assert "Changes saved." in flashes(page)
    assert "Ana Santos" in page
    fresh(contact)
    assert (contact.last_name, contact.role) == ("Santos", ContactRole.WORKPLACE_SUPERVISOR)
    assert listed_organisations(text(client.get("/organisations/?q=santos"))) == [
        "Brightwork Engineering GmbH"
    ]
    assert listed_organisations(text(client.get("/organisations/?q=silva"))) == []


def test_archive_and_restore_a_contact(ctx, login_as, officer, organisation):
    contact = make_contact(organisation, first_name="Ana", last_name="Silva")
    client = login_as(officer)
    response = client.post_form(f"/contacts/{contact.id}/archive")
    assert response.status_code == 302
    assert response.location == f"/contacts/{contact.id}"
    assert "Ana Silva archived." in flashes(text(client.get(response.location)))
    assert fresh(contact).archived_at is not None

    organisation_page = text(client.get(f"/organisations/{organisation.id}"))
    assert "Ana Silva" not in organisation_page
    assert "Ana Silva" in text(client.get(f"/organisations/{organisation.id}?archived=1"))
    assert "Ana Silva" not in listed_contacts(text(client.get("/contacts/")))
    assert "Ana Silva" in listed_contacts(text(client.get("/contacts/?archived=1")))
    assert listed_organisations(text(client.get("/organisations/?q=silva"))) == []

    response = client.post_form(f"/contacts/{contact.id}/archive", {"restore": "1"})
    assert response.status_code == 302
    assert "Ana Silva restored." in flashes(text(client.get(response.location)))
    assert fresh(contact).archived_at is None
    assert "Ana Silva" in text(client.get(f"/organisations/{organisation.id}"))


def test_missing_names_are_field_errors(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/contacts/new/{organisation.id}", contact_form(first_name="", last_name="")
    )
    assert response.status_code == 200
    page = text(response)
    for name in ("first_name", "last_name"):
        assert is_invalid(page, name)
        assert field_error(page, name) == "This field is required."
    assert not is_invalid(page, "email")
    assert count_rows(Contact) == 0


def test_bad_email_is_a_field_error(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/contacts/new/{organisation.id}", contact_form(email="not-an-address")
    )
    assert response.status_code == 200
    assert field_error(text(response), "email") == "Enter a valid e-mail address."
    assert count_rows(Contact) == 0


def test_future_consent_date_is_a_field_error(ctx, login_as, officer, organisation):
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    response = login_as(officer).post_form(
        f"/contacts/new/{organisation.id}", contact_form(consent_date=tomorrow)
    )
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "consent_date")
    assert field_error(page, "consent_date") == "The consent date cannot be in the future."
    assert count_rows(Contact) == 0


def test_consent_date_needs_a_lawful_basis(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/contacts/new/{organisation.id}", contact_form(consent_basis="")
    )
    assert response.status_code == 200
    assert field_error(text(response), "consent_date") == (
        "Choose the lawful basis the consent date belongs to."
    )
    assert count_rows(Contact) == 0


def test_invalid_date_is_a_field_error(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/contacts/new/{organisation.id}", contact_form(consent_date="31.02.2024")
    )
    assert response.status_code == 200
    assert is_invalid(text(response), "consent_date")
    assert count_rows(Contact) == 0


def test_edit_errors_leave_the_contact_unchanged(ctx, login_as, officer, organisation):
    contact = make_contact(organisation, first_name="Ana", last_name="Silva")
    response = login_as(officer).post_form(
        f"/contacts/{contact.id}/edit", contact_edit_form(contact, first_name="", email="x@")
    )
    assert response.status_code == 200
    assert is_invalid(text(response), "first_name")
    assert fresh(contact).first_name == "Ana"


def test_contact_names_are_escaped(ctx, login_as, officer, organisation):
    contact = make_contact(organisation, first_name="<b>Bold</b>", last_name="<script>x</script>")
    client = login_as(officer)
    for url in (f"/contacts/{contact.id}", f"/organisations/{organisation.id}", "/contacts/"):
        page = text(client.get(url))
        assert "<script>x</script>" not in page, url
        assert "&lt;b&gt;Bold&lt;/b&gt;" in page, url


def test_contacts_are_found_by_their_organisations_new_name(ctx, login_as, officer, organisation):
    make_contact(organisation, first_name="Ana", last_name="Silva")
    client = login_as(officer)
    response = client.post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, legal_name="Renamed Robotics AG"),
    )
    assert response.status_code == 302
    assert listed_contacts(text(client.get("/contacts/?q=robotics"))) == ["Ana Silva"]
    assert listed_contacts(text(client.get("/contacts/?q=brightwork"))) == []
