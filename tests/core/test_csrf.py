"""Every form refuses a post without its CSRF token (400) and changes nothing."""

from __future__ import annotations

import pytest

from tests.core.helpers import database_state, text
from tests.factories import PASSWORD, make_contact, make_organisation, make_user


@pytest.fixture
def setting(ctx, admin):
    """An admin's browser and an organisation, a contact and a colleague to post about."""
    organisation = make_organisation(admin, legal_name="Target GmbH")
    contact = make_contact(organisation, first_name="Tina", last_name="Target")
    colleague = make_user("officer", name="Colin Colleague")
    return {"organisation": organisation, "contact": contact, "colleague": colleague}


def form_posts(setting) -> list[tuple[str, dict]]:
    organisation = setting["organisation"].id
    contact = setting["contact"].id
    colleague = setting["colleague"]
    user_form = {
        "name": "Changed Name",
        "email": "changed@example.test",
        "role": "admin",
        "timezone": "UTC",
        "locale": "de",
        "password": "a-new-password",
    }
    organisation_form = {
        "legal_name": "Changed GmbH",
        "nace_code": "25",
        "country": "FR",
        "capacity_period": "year",
    }
    contact_form = {
        "first_name": "Changed",
        "last_name": "Person",
        "role": "other",
        "preferred_language": "en",
        "consent_basis": "",
    }
    return [
        ("/logout", {}),
        ("/language", {"locale": "de", "next": "/"}),
        ("/account", {"prefs-locale": "de", "prefs-timezone": "UTC", "prefs-submit": "1"}),
        (
            "/account",
            {
                "pw-current_password": PASSWORD,
                "pw-new_password": "a-new-password",
                "pw-confirm": "a-new-password",
                "pw-submit": "1",
            },
        ),
        ("/admin/users/new", user_form | {"email": "new-user@example.test"}),
        (f"/admin/users/{colleague.id}", user_form),
        ("/organisations/new", organisation_form | {"legal_name": "Brand New GmbH"}),
        (f"/organisations/{organisation}/edit", organisation_form),
        (f"/organisations/{organisation}/archive", {}),
        (f"/contacts/new/{organisation}", contact_form),
        (f"/contacts/{contact}/edit", contact_form),
        (f"/contacts/{contact}/archive", {}),
        (
            f"/activities/new/{organisation}",
            {"kind": "call", "occurred_at": "2024-01-01T10:00", "subject": "Sneaky"},
        ),
    ]


def assert_refused(response, what: str) -> None:
    assert response.status_code == 400, what
    page = text(response)
    assert "The form has expired" in page, what
    assert "Partnership CRM" in page, what  # in the site's layout


def test_login_without_token_is_refused(ctx, client, officer):
    before = database_state()
    response = client.post("/login", data={"email": officer.email, "password": PASSWORD})
    assert_refused(response, "/login")
    assert client.get("/organisations/").status_code == 302  # not logged in
    assert database_state() == before  # no last login, no failure count


def test_every_form_refuses_a_post_without_token(ctx, login_as, admin, setting):
    client = login_as(admin)
    before = database_state()
    for url, data in form_posts(setting):
        assert_refused(client.post(url, data=data), url)
    assert database_state() == before
    assert client.get("/organisations/").status_code == 200  # still logged in


def test_every_form_refuses_a_wrong_token(ctx, login_as, admin, setting):
    client = login_as(admin)
    before = database_state()
    for url, data in form_posts(setting):
        assert_refused(client.post(url, data=data | {"csrf_token": "forged-token"}), url)
    assert database_state() == before


def test_a_token_from_another_session_is_refused(ctx, login_as, make_client, admin, setting):
    client = login_as(admin)
    other_token = make_client().csrf()
    assert other_token != client.csrf()
    before = database_state()
    for url, data in form_posts(setting):
        assert_refused(client.post(url, data=data | {"csrf_token": other_token}), url)
    assert database_state() == before


def test_the_same_posts_with_the_token_do_change_things(ctx, login_as, admin, setting):
    # The counterpart: the refusals above are due to the token, not to the form data.
    client = login_as(admin)
    token = client.csrf()
    for url, data in form_posts(setting):
        if url == "/logout":
            continue
        before = database_state()
        fields = data | {"csrf_token": token, "prefs-csrf_token": token, "pw-csrf_token": token}
        response = client.post(url, data=fields)
        assert response.status_code == 302, (url, text(response)[:3000])
        assert database_state() != before, url
