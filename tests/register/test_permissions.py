"""Who may change what: officers their own portfolio, managers and admins everything."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.auth.models import Role
from crm.contacts.models import Contact
from crm.extensions import db
from crm.organisations.models import Organisation
from tests.core.helpers import count_rows, fresh, text
from tests.factories import make_contact, make_organisation, make_user
from tests.register.forms import (
    activity_form,
    contact_edit_form,
    contact_form,
    organisation_edit_form,
    organisation_form,
)


@pytest.fixture
def colleague(ctx):
    """Another placement officer, who does not own the organisation."""
    return make_user(Role.OFFICER, name="Colin Colleague")


@pytest.fixture
def organisation(officer):
    return make_organisation(officer, legal_name="Owned Bakery GmbH", city="Bonn")


@pytest.fixture
def contact(organisation):
    return make_contact(organisation, first_name="Paula", last_name="Person")


def snapshot(obj) -> dict:
    """The column values of a row as the database has them now."""
    fresh(obj)
    return {column.key: getattr(obj, column.key) for column in sa.inspect(obj).mapper.column_attrs}


# --- another officer's organisation ------------------------------------------------------------


def test_officer_can_read_another_officers_organisation(
    ctx, login_as, colleague, organisation, contact
):
    client = login_as(colleague)
    page = client.get(f"/organisations/{organisation.id}")
    assert page.status_code == 200
    html = text(page)
    assert "Owned Bakery GmbH" in html
    assert "Paula Person" in html
    assert 'id="edit-organisation"' not in html
    assert 'id="add-contact"' not in html
    assert f"/organisations/{organisation.id}/archive" not in html
    assert 'id="activity-form"' in html  # but may log an activity

    contact_page = client.get(f"/contacts/{contact.id}")
    assert contact_page.status_code == 200
    assert f"/contacts/{contact.id}/edit" not in text(contact_page)


def test_officer_cannot_edit_another_officers_organisation(ctx, login_as, colleague, organisation):
    before = snapshot(organisation)
    client = login_as(colleague)
    assert client.get(f"/organisations/{organisation.id}/edit").status_code == 404
    response = client.post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, legal_name="Hijacked Ltd"),
    )
    assert response.status_code == 404
    assert snapshot(organisation) == before


def test_officer_cannot_archive_or_restore_another_officers_organisation(
    ctx, login_as, officer, colleague, organisation
):
    client = login_as(colleague)
    assert client.post_form(f"/organisations/{organisation.id}/archive").status_code == 404
    assert fresh(organisation).archived_at is None

    login_as(officer).post_form(f"/organisations/{organisation.id}/archive")
    archived_at = fresh(organisation).archived_at
    assert archived_at is not None
    restore = client.post_form(f"/organisations/{organisation.id}/archive", {"restore": "1"})
    assert restore.status_code == 404
    assert fresh(organisation).archived_at == archived_at


def test_officer_cannot_add_contacts_to_another_officers_organisation(
    ctx, login_as, colleague, organisation
):
    client = login_as(colleague)
    assert client.get(f"/contacts/new/{organisation.id}").status_code == 404
    response = client.post_form(f"/contacts/new/{organisation.id}", contact_form())
    assert response.status_code == 404
    assert count_rows(Contact, Contact.organisation_id == organisation.id) == 0


def test_officer_cannot_edit_or_archive_contacts_of_another_officers_organisation(
    ctx, login_as, colleague, contact
):
    before = snapshot(contact)
    client = login_as(colleague)
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 404
    edit = client.post_form(
        f"/contacts/{contact.id}/edit", contact_edit_form(contact, email="evil@example.test")
    )
    assert edit.status_code == 404
    assert client.post_form(f"/contacts/{contact.id}/archive").status_code == 404
    assert client.post_form(f"/contacts/{contact.id}/archive", {"restore": "1"}).status_code == (
        404
    )
    assert snapshot(contact) == before


def test_forbidden_answers_look_like_missing_pages(ctx, login_as, colleague, organisation):
    client = login_as(colleague)
    forbidden = client.get(f"/organisations/{organisation.id}/edit")
    missing = client.get("/organisations/999999/edit")
    assert forbidden.status_code == missing.status_code == 404
    assert "Owned Bakery" not in text(forbidden)
    assert text(forbidden).replace(f"/organisations/{organisation.id}/", "URL") == text(
        missing
    ).replace("/organisations/999999/", "URL")


def test_officer_can_log_an_activity_on_another_officers_organisation(
    ctx, login_as, colleague, organisation, contact
):
    client = login_as(colleague)
    response = client.post_form(
        f"/activities/new/{organisation.id}",
        activity_form(contact_id=str(contact.id), subject="Called about autumn"),
    )
    assert response.status_code == 302
    activity = db.session.scalar(
        sa.select(Activity).where(Activity.organisation_id == organisation.id)
    )
    assert activity is not None
    assert (activity.author_id, activity.contact_id, activity.subject) == (
        colleague.id,
        contact.id,
        "Called about autumn",
    )


# --- the owner, managers and admins ------------------------------------------------------------


def test_owner_can_edit_their_organisation(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, legal_name="Owned Bakery & Sons GmbH"),
    )
    assert response.status_code == 302
    assert fresh(organisation).legal_name == "Owned Bakery & Sons GmbH"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_edit_every_organisation(ctx, login_as, role, organisation, contact):
    client = login_as(make_user(role))
    page = text(client.get(f"/organisations/{organisation.id}"))
    assert 'id="edit-organisation"' in page
    assert client.get(f"/organisations/{organisation.id}/edit").status_code == 200

    edit = client.post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, city="Aachen"),
    )
    assert edit.status_code == 302
    assert fresh(organisation).city == "Aachen"

    added = client.post_form(f"/contacts/new/{organisation.id}", contact_form())
    assert added.status_code == 302
    assert count_rows(Contact, Contact.organisation_id == organisation.id) == 2

    contact_edit = client.post_form(
        f"/contacts/{contact.id}/edit", contact_edit_form(contact, job_title="CEO")
    )
    assert contact_edit.status_code == 302
    assert fresh(contact).job_title == "CEO"

    assert client.post_form(f"/contacts/{contact.id}/archive").status_code == 302
    assert fresh(contact).archived_at is not None

    assert client.post_form(f"/organisations/{organisation.id}/archive").status_code == 302
    assert fresh(organisation).archived_at is not None


def test_officer_creating_an_organisation_becomes_its_owner(ctx, login_as, officer, colleague):
    client = login_as(officer)
    page = text(client.get("/organisations/new"))
    assert 'name="owner_id"' not in page  # officers are not offered an owner field
    response = client.post_form("/organisations/new", organisation_form(owner_id=str(colleague.id)))
    assert response.status_code == 302
    created = db.session.scalar(
        sa.select(Organisation).where(Organisation.legal_name == "Brightwork Engineering GmbH")
    )
    assert created is not None
    assert created.owner_id == officer.id


def test_officer_cannot_hand_their_organisation_to_someone_else(
    ctx, login_as, officer, colleague, organisation
):
    response = login_as(officer).post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, owner_id=str(colleague.id)),
    )
    assert response.status_code == 302
    assert fresh(organisation).owner_id == officer.id


def test_manager_sets_the_owner_when_creating(ctx, login_as, manager, officer):
    client = login_as(manager)
    page = text(client.get("/organisations/new"))
    assert 'name="owner_id"' in page
    assert officer.name in page
    response = client.post_form("/organisations/new", organisation_form(owner_id=str(officer.id)))
    assert response.status_code == 302
    created = db.session.scalar(
        sa.select(Organisation).where(Organisation.legal_name == "Brightwork Engineering GmbH")
    )
    assert created is not None
    assert created.owner_id == officer.id


def test_manager_reassigns_an_organisation(ctx, login_as, manager, colleague, organisation):
    response = login_as(manager).post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, owner_id=str(colleague.id)),
    )
    assert response.status_code == 302
    assert fresh(organisation).owner_id == colleague.id
    # The new owner may now edit it.
    client = login_as(colleague)
    assert client.get(f"/organisations/{organisation.id}/edit").status_code == 200
