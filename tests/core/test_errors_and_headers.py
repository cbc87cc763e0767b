"""Error pages in the site's layout without internals, and the security headers."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from crm import create_app
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.organisations.service import OrganisationValues, create_organisation
from tests.core.helpers import count_rows, text
from tests.factories import make_contact, make_organisation


@pytest.fixture
def error_app(app: Flask, client, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A second app that renders unexpected errors as users see them, with a failing page."""
    for name in ("CRM_ENV", "CRM_SECRET_KEY", "CRM_LANGUAGES", "CRM_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    application = create_app(
        {
            "TESTING": True,
            "CRM_RENDER_ERRORS_IN_TESTS": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SERVER_NAME": None,
        }
    )

    @application.get("/explode")
    def explode() -> str:
        raise RuntimeError("internal detail: db password hunter2 at /srv/crm/secret.py")

    @application.post("/explode-after-writing")
    def explode_after_writing() -> str:
        from flask_login import current_user

        create_organisation(
            OrganisationValues(legal_name="Half Written GmbH", nace_code="25", country="DE"),
            current_user,
        )
        db.session.flush()
        raise RuntimeError("failed half-way")

    application.test_client_class = type(client)
    yield application
    with application.app_context():
        db.engine.dispose()


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response, what: str) -> None:
    policy = csp(response)
    assert policy.get("script-src") == ["'self'"], what
    assert policy.get("default-src") == ["'self'"], what
    assert policy.get("object-src") == ["'none'"], what
    assert policy.get("frame-ancestors") == ["'none'"], what
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header, what
    assert "unsafe-eval" not in header, what
    assert response.headers.get("X-Frame-Options") == "DENY", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("Referrer-Policy") == "same-origin", what


# --- error pages --------------------------------------------------------------------------------


def test_404_page_is_in_the_sites_layout(ctx, login_as, officer):
    response = login_as(officer).get("/no/such/page")
    assert response.status_code == 404
    page = text(response)
    assert '<h1 class="h3">Page not found</h1>' in page
    assert 'id="user-menu"' in page  # the navigation bar of the site
    assert 'href="/organisations/"' in page
    assert "Go to the register" in page
    assert 'href="/static/vendor/bootstrap-5.3.8/bootstrap.min.css"' in page


def test_missing_record_gives_the_same_404_page(ctx, login_as, officer):
    response = login_as(officer).get("/organisations/424242")
    assert response.status_code == 404
    assert "Page not found" in text(response)


def test_405_page_is_in_the_sites_layout(ctx, login_as, officer):
    response = login_as(officer).get("/logout")
    assert response.status_code == 405
    assert "This address does not accept that kind of request." in text(response)
    assert 'id="user-menu"' in text(response)


def test_500_page_is_friendly_and_shows_no_internals(ctx, error_app, officer, caplog, monkeypatch):
    # Alembic's logging set-up (run in-process by the test harness) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("crm.core.errors"), "disabled", False)
    client = error_app.test_client()
    client.login(officer.email)
    response = client.get("/explode")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong" in page
    assert "An unexpected error happened and nothing was changed." in page
    assert 'id="user-menu"' in page  # in the site's layout
    for internal in ("Traceback", "RuntimeError", "hunter2", "secret.py", "internal detail"):
        assert internal not in page
    assert_security_headers(response, "500 page")
    # The details go to the log for the administrator instead.
    assert any("unhandled error" in record.message for record in caplog.records)
    assert any(record.exc_info for record in caplog.records)


def test_500_after_a_partial_write_changes_nothing(ctx, error_app, officer):
    client = error_app.test_client()
    client.login(officer.email)
    response = client.post_form("/explode-after-writing")
    assert response.status_code == 500
    assert count_rows(Organisation, Organisation.legal_name == "Half Written GmbH") == 0
    # The app keeps working afterwards.
    assert client.get("/organisations/").status_code == 200


# --- security headers ---------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(ctx, client, login_as, officer):
    organisation = make_organisation(officer)
    logged_in = login_as(officer)
    responses = {
        "login page": client.get("/login"),
        "redirect to login": client.get("/organisations/"),
        "list page": logged_in.get("/organisations/"),
        "organisation page": logged_in.get(f"/organisations/{organisation.id}"),
        "404 page": logged_in.get("/nowhere"),
        "400 page": logged_in.post(f"/organisations/{organisation.id}/archive"),
    }
    for what, response in responses.items():
        assert_security_headers(response, what)
        assert response.headers.get("Cache-Control") == "no-store", what
    with client.get("/static/js/app.js") as script:
        assert_security_headers(script, "static file")
        assert script.headers.get("Cache-Control") != "no-store"


def test_no_hsts_without_secure_cookies(ctx, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def test_pages_need_no_inline_script_or_style(ctx, client, login_as, admin):
    # The policy forbids inline code; a page relying on it would silently break in browsers.
    organisation = make_organisation(admin)
    contact = make_contact(organisation)
    logged_in = login_as(admin)
    pages = {"/login": client.get("/login")}
    for url in (
        "/organisations/",
        f"/organisations/{organisation.id}",
        f"/organisations/{organisation.id}/edit",
        "/organisations/new",
        "/contacts/",
        f"/contacts/{contact.id}",
        f"/contacts/{contact.id}/edit",
        f"/activities/new/{organisation.id}",
        "/search/?q=test",
        "/account",
        "/admin/users",
        "/admin/users/new",
        "/nowhere",
    ):
        pages[url] = logged_in.get(url)
    for url, response in pages.items():
        page = text(response)
        assert not INLINE_SCRIPT.search(page), url
        assert not INLINE_HANDLER.search(page), url
        assert not INLINE_STYLE.search(page), url
        assert "javascript:" not in page, url


def test_session_cookie_is_http_only_and_same_site(ctx, client, officer):
    response = client.post_form("/login", {"email": officer.email, "password": "password"})
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_access_logs_never_show_calendar_tokens(app):
    import logging

    from crm.core.security import RedactSecrets

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s "%s" %s',
        ("127.0.0.1", "GET /calendar/s3cr3t-T0ken_value.ics HTTP/1.1", 200),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/calendar/[redacted].ics" in record.getMessage()
    assert any(isinstance(f, RedactSecrets) for f in logging.getLogger("werkzeug").filters)
