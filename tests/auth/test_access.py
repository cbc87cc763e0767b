"""Anonymous visitors reach the login page and nothing else, whatever the address."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.core.helpers import database_state, text
from tests.factories import make_activity, make_contact, make_organisation, make_user

# A representative set that must be among the routes checked (the check covers all of them).
MUST_COVER = {
    ("GET", "organisations.index"),
    ("GET", "organisations.show"),
    ("POST", "organisations.new"),
    ("POST", "organisations.edit"),
    ("POST", "organisations.archive"),
    ("GET", "contacts.index"),
    ("GET", "contacts.show"),
    ("POST", "contacts.new"),
    ("POST", "contacts.archive"),
    ("POST", "activities.new"),
    ("GET", "search.index"),
    ("GET", "auth.account"),
    ("POST", "auth.account"),
    ("POST", "auth.logout"),
    ("POST", "auth.set_language"),
    ("GET", "admin.users"),
    ("POST", "admin.new_user"),
    ("POST", "admin.edit_user"),
}
SECRET_NAME = "Confidential Employer GmbH"
SECRET_EMAIL = "hidden.person@confidential.test"


@pytest.fixture
def data(ctx, officer):
    """A few real rows, so that the addresses point at something that exists."""
    organisation = make_organisation(officer, legal_name=SECRET_NAME)
    contact = make_contact(organisation, email=SECRET_EMAIL)
    make_activity(organisation, officer, subject="Secret talks")
    return {
        "organisation_id": organisation.id,
        "contact_id": contact.id,
        "user_id": make_user("admin").id,
    }


def every_route(app: Flask, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(method, endpoint, URL) for every route but the static files, the login page and the
    calendar feed (opened by its secret token instead of a login; tested below)."""
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"static", "auth.login", "followups.calendar_feed"}:
            continue
        if rule.endpoint.startswith("portal."):
            # The link pages: the link is the key (tests/portal/test_link_security.py).
            continue
        values = {name: ids.get(name, 1) for name in rule.arguments}
        url = adapter.build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.endpoint, url))
    return routes


def assert_sent_to_login(response, what: str) -> None:
    assert response.status_code == 302, what
    assert response.location.startswith("/login"), what


def assert_no_data(response, what: str) -> None:
    body = text(response)
    assert SECRET_NAME not in body, what
    assert SECRET_EMAIL not in body, what
    assert "Secret talks" not in body, what


def test_calendar_feed_with_a_made_up_token_is_not_found(client):
    response = client.get("/calendar/made-up-token-0123456789abcdef.ics")
    assert response.status_code == 404
    assert "BEGIN:VCALENDAR" not in text(response)


def test_login_page_and_static_files_are_open(client):
    assert client.get("/login").status_code == 200
    with client.get("/static/css/app.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_every_route_covers_the_representative_set(app, data):
    covered = {(method, endpoint) for method, endpoint, _url in every_route(app, data)}
    assert covered >= MUST_COVER


def test_anonymous_get_requests_are_sent_to_the_login_page(app, client, data):
    for method, endpoint, url in every_route(app, data):
        if method != "GET":
            continue
        response = client.get(url)
        assert_sent_to_login(response, url)
        assert_no_data(response, url)


def test_the_login_page_brings_the_visitor_back_afterwards(app, client, data):
    response = client.get("/contacts/?q=x")
    assert response.location == "/login?next=%2Fcontacts%2F%3Fq%3Dx"
    assert "Please log in to see this page." in text(client.get(response.location))


def test_anonymous_posts_without_a_form_token_are_refused(app, client, data):
    before = database_state()
    for method, endpoint, url in every_route(app, data):
        if method == "GET":
            continue
        response = client.open(url, method=method, data={"legal_name": "Intruder Ltd"})
        assert response.status_code in (302, 400), f"{method} {url}"
        if response.status_code == 302:
            assert_sent_to_login(response, f"{method} {url}")
        assert_no_data(response, f"{method} {url}")
    assert database_state() == before


def test_anonymous_posts_with_a_valid_form_token_are_sent_to_the_login_page(app, client, data):
    before = database_state()
    token = client.csrf()
    for method, endpoint, url in every_route(app, data):
        if method == "GET":
            continue
        response = client.open(
            url,
            method=method,
            data={
                "csrf_token": token,
                "legal_name": "Intruder Ltd",
                "nace_code": "25",
                "country": "DE",
                "first_name": "In",
                "last_name": "Truder",
                "role": "admin",
                "email": "intruder@example.test",
                "name": "Intruder",
                "password": "intruder-password",
                "locale": "de",
                "kind": "call",
                "occurred_at": "2024-01-01T10:00",
                "subject": "x",
            },
        )
        assert_sent_to_login(response, f"{method} {url}")
        assert_no_data(response, f"{method} {url}")
    assert database_state() == before


def test_a_forged_session_cookie_does_not_log_in(app, client, data):
    client.set_cookie("session", "eyJfdXNlcl9pZCI6IjE6eCJ9.forged.signature")
    assert_sent_to_login(client.get("/organisations/"), "forged cookie")
