"""Logging in: right and wrong passwords, throttling and locks, safe redirects after login."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from crm.auth import service
from crm.auth.models import LoginThrottle, User
from crm.auth.service import LoginRefused, authenticate
from crm.core.security import safe_next_url
from crm.db import utcnow
from crm.extensions import db
from tests.core.helpers import count_rows, form_field, fresh, text
from tests.factories import PASSWORD, make_user

INVALID = "Invalid e-mail address or password."
START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)


def refusal(email: str, password: str, now: dt.datetime) -> str | None:
    """The message a login attempt at `now` is refused with, or None if it succeeds."""
    try:
        authenticate(email, password, now=now)
    except LoginRefused as refused:
        return str(refused)
    return None


def without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", html)


def seconds(n: float) -> dt.datetime:
    return START + dt.timedelta(seconds=n)


# --- the login page ----------------------------------------------------------------------------


def test_login_page_is_shown_to_anonymous_users(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = text(response)
    assert 'name="email"' in page
    assert 'name="password"' in page


def test_correct_login_opens_the_register(ctx, client, officer):
    response = client.post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/organisations/"
    page = client.get("/organisations/")
    assert page.status_code == 200
    assert officer.name in text(page)
    assert fresh(officer).last_login_at is not None


def test_email_is_case_and_space_insensitive(ctx, client, officer):
    response = client.post_form(
        "/login", {"email": f"  {officer.email.upper()} ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/organisations/").status_code == 200


def test_logged_in_user_visiting_login_goes_to_the_register(ctx, login_as, officer):
    client = login_as(officer)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.location == "/organisations/"


def test_wrong_password_and_unknown_user_get_the_same_answer(ctx, make_client, officer):
    wrong_password = make_client().post_form(
        "/login", {"email": officer.email, "password": "not-the-password"}
    )
    unknown_user = make_client().post_form(
        "/login", {"email": "nobody@example.test", "password": "not-the-password"}
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert INVALID in text(wrong_password)
    assert INVALID in text(unknown_user)
    # Nothing on the page tells the two apart but the address typed in (and the form token).
    assert without_token(text(wrong_password)).replace(officer.email, "X") == without_token(
        text(unknown_user)
    ).replace("nobody@example.test", "X")


def test_failed_login_does_not_log_in(ctx, client, officer):
    client.post_form("/login", {"email": officer.email, "password": "wrong-password"})
    response = client.get("/organisations/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_empty_form_is_refused_without_counting_a_failure(ctx, client, officer):
    response = client.post_form("/login", {"email": "", "password": ""})
    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert count_rows(LoginThrottle) == 0


def test_deactivated_account_cannot_log_in(ctx, client):
    user = make_user("officer", is_active_account=False)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert INVALID in text(response)
    assert client.get("/organisations/").status_code == 302
    with pytest.raises(LoginRefused, match="Invalid e-mail address or password"):
        authenticate(user.email, PASSWORD, now=START)


def test_failures_through_the_page_are_counted(ctx, client, officer):
    for _attempt in range(3):
        failed = client.post_form("/login", {"email": officer.email, "password": "wrong"})
        assert failed.status_code == 401
    # The fourth attempt comes within the 2 seconds of waiting: refused, right password or not.
    response = client.post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert response.status_code == 401
    assert "Wait" in text(response)
    assert client.get("/organisations/").status_code == 302


# --- throttling (service, with an explicit clock) ----------------------------------------------


def test_correct_password_succeeds(ctx, officer):
    assert refusal(officer.email, PASSWORD, seconds(0)) is None


def test_failures_below_the_slowdown_threshold_do_not_slow_down(ctx, officer):
    assert refusal(officer.email, "wrong", seconds(0)) == INVALID
    assert refusal(officer.email, "wrong", seconds(0)) == INVALID
    assert refusal(officer.email, PASSWORD, seconds(0)) is None


def test_after_three_failures_the_next_attempt_must_wait(ctx, officer):
    for _attempt in range(3):  # CRM_LOGIN_SLOWDOWN_AFTER = 3 in the tests
        assert refusal(officer.email, "wrong", seconds(0)) == INVALID
    message = refusal(officer.email, PASSWORD, seconds(1)) or ""
    assert re.fullmatch(r"Too many failed attempts\. Wait 1 seconds? and try again\.", message)
    # Once the wait has passed, the right password works again.
    assert refusal(officer.email, PASSWORD, seconds(2)) is None


def test_waits_grow_with_each_further_failure(ctx, officer):
    for _attempt in range(3):
        refusal(officer.email, "wrong", seconds(0))
    assert refusal(officer.email, "wrong", seconds(2)) == INVALID  # fourth failure, waits 4 s
    assert "Wait 3 seconds" in (refusal(officer.email, PASSWORD, seconds(3)) or "")
    assert refusal(officer.email, PASSWORD, seconds(6)) is None


def test_attempts_during_a_wait_are_not_checked_at_all(ctx, officer):
    for _attempt in range(3):
        refusal(officer.email, "wrong", seconds(0))
    for _attempt in range(10):  # a script hammering during the wait gains nothing ...
        assert "Wait" in (refusal(officer.email, "wrong", seconds(1)) or "")
    throttle = db.session.get(LoginThrottle, service._throttle_key(officer.email))
    assert throttle is not None
    assert throttle.failures == 3  # ... and does not lock the account either
    assert refusal(officer.email, PASSWORD, seconds(2)) is None


def lock(email: str) -> dt.datetime:
    """Fail five times, each after the wait; return the time of the fifth failure."""
    at = 0.0
    for _attempt in range(5):  # CRM_LOGIN_MAX_FAILURES = 5 in the tests
        assert refusal(email, "wrong", seconds(at)) == INVALID
        at += 60
    return seconds(at - 60)


def test_five_failures_lock_the_account(ctx, app, officer):
    locked_at = lock(officer.email)
    minutes = app.config["CRM_LOGIN_LOCK_MINUTES"]
    expected = f"Too many failed attempts. Try again in {minutes} minutes."
    assert refusal(officer.email, PASSWORD, locked_at + dt.timedelta(seconds=1)) == expected
    message = refusal(officer.email, "wrong", locked_at + dt.timedelta(minutes=minutes - 1))
    assert re.fullmatch(r"Too many failed attempts\. Try again in 1 minutes?\.", message or "")


def test_a_lock_expires(ctx, app, officer):
    locked_at = lock(officer.email)
    minutes = app.config["CRM_LOGIN_LOCK_MINUTES"]
    just_before = locked_at + dt.timedelta(minutes=minutes) - dt.timedelta(seconds=1)
    assert "Try again in" in (refusal(officer.email, PASSWORD, just_before) or "")
    after = locked_at + dt.timedelta(minutes=minutes, seconds=1)
    assert refusal(officer.email, PASSWORD, after) is None


def test_a_served_lock_starts_a_fresh_count(ctx, app, officer):
    locked_at = lock(officer.email)
    after = locked_at + dt.timedelta(minutes=app.config["CRM_LOGIN_LOCK_MINUTES"], seconds=1)
    assert refusal(officer.email, "wrong", after) == INVALID
    assert refusal(officer.email, PASSWORD, after + dt.timedelta(seconds=1)) is None


def test_unknown_email_gets_the_same_messages_as_a_known_one(ctx, officer):
    def story(email: str) -> list[str | None]:
        answers = [refusal(email, "wrong", seconds(0)) for _attempt in range(3)]
        answers.append(refusal(email, "wrong", seconds(1)))  # during the wait
        answers += [refusal(email, "wrong", seconds(s)) for s in (10, 100)]  # 4th, 5th failure
        answers.append(refusal(email, "wrong", seconds(101)))  # locked
        return answers

    known = story(officer.email)
    unknown = story("no-such-person@example.test")
    assert known == unknown
    assert known[0] == INVALID
    assert "Wait" in (known[3] or "")
    assert "Try again in" in (known[-1] or "")


def test_a_locked_account_stays_locked_on_the_login_page(ctx, client, officer):
    five_minutes_ago = utcnow() - dt.timedelta(minutes=5)
    for n in range(5):  # failures 20 seconds apart, the last one under four minutes ago
        at = five_minutes_ago + dt.timedelta(seconds=20 * n)
        assert refusal(officer.email, "wrong", at) == INVALID
    db.session.commit()
    response = client.post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert response.status_code == 401
    assert "Too many failed attempts. Try again in" in text(response)
    assert client.get("/organisations/").status_code == 302


def test_a_successful_login_resets_the_count(ctx, officer):
    for _attempt in range(2):
        refusal(officer.email, "wrong", seconds(0))
    assert refusal(officer.email, PASSWORD, seconds(1)) is None
    assert db.session.get(LoginThrottle, service._throttle_key(officer.email)) is None
    # Three new failures are needed before any wait: the earlier two no longer count.
    for _attempt in range(2):
        assert refusal(officer.email, "wrong", seconds(2)) == INVALID
    assert refusal(officer.email, PASSWORD, seconds(2)) is None


def test_throttle_does_not_store_the_email_address(ctx):
    refusal("secret.person@example.test", "wrong", seconds(0))
    keys = db.session.scalars(sa.select(LoginThrottle.email_key)).all()
    assert len(keys) == 1
    assert "secret" not in keys[0]


def test_login_upgrades_an_outdated_password_hash(ctx, officer):
    outdated = PasswordHasher(time_cost=1, memory_cost=32, parallelism=1).hash(PASSWORD)
    officer.password_hash = outdated
    db.session.commit()
    assert isinstance(authenticate(officer.email, PASSWORD, now=START), User)
    assert officer.password_hash != outdated
    assert officer.password_hash.startswith("$argon2id$")
    assert not service._hasher.check_needs_rehash(officer.password_hash)
    assert refusal(officer.email, PASSWORD, seconds(1)) is None  # and the new hash works


# --- where the browser goes after logging in -----------------------------------------------------


def login_with_next(client, user, next_url: str):
    response = client.post_form(
        "/login", {"email": user.email, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302, text(response)[:500]
    return response.location


def browser_target(location: str) -> tuple[str, str]:
    """Where a browser on http://localhost/login would go: (host, path).

    Browsers drop tabs and newlines and read backslashes as slashes in http(s) URLs.
    """
    cleaned = location.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    target = urlsplit(urljoin("http://localhost/login", cleaned.strip()))
    return target.hostname or "", target.path


def test_next_on_this_site_is_followed(ctx, client, officer):
    assert login_with_next(client, officer, "/organisations/?q=x") == "/organisations/?q=x"


def test_next_from_the_login_link_is_followed(ctx, client, officer):
    # An anonymous visit is sent to the login page with next=...; the form carries it along.
    first = client.get("/contacts/?q=smith")
    assert first.status_code == 302
    login_page = text(client.get(first.location))
    assert form_field(login_page, "next")["value"] == "/contacts/?q=smith"
    assert login_with_next(client, officer, "/contacts/?q=smith") == "/contacts/?q=smith"


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/organisations/\nSet-Cookie: x=1",
        "/organisations/\r\nLocation: https://evil.example/",
    ],
)
def test_unsafe_next_leads_to_the_default_page(ctx, client, officer, next_url):
    location = login_with_next(client, officer, next_url)
    assert location == "/organisations/"
    assert browser_target(location) == ("localhost", "/organisations/")


@pytest.mark.parametrize("next_url", ["/%5Cevil.example", "/%5C%5Cevil.example", "/%2F/evil"])
def test_encoded_slashes_in_next_stay_on_this_site(ctx, client, officer, next_url):
    # Posted as such, %5C is not decoded by the browser: the Location is a path here.
    location = login_with_next(client, officer, next_url)
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert browser_target(location)[0] == "localhost"


def test_encoded_backslash_in_the_login_link_leads_to_the_default_page(ctx, client, officer):
    # The realistic attack: a link to /login?next=/%5Cevil.example. The query string decodes
    # to "/\evil.example", which the page carries in its form and the login must refuse.
    login_page = text(client.get("/login?next=/%5Cevil.example"))
    assert form_field(login_page, "next")["value"] == "/\\evil.example"
    location = login_with_next(client, officer, "/\\evil.example")
    assert location == "/organisations/"


def test_language_switch_redirects_only_within_the_site(ctx, login_as, officer):
    client = login_as(officer)
    response = client.post_form("/language", {"locale": "de", "next": "//evil.example/"})
    assert response.status_code == 302
    assert response.location == "/organisations/"
    assert fresh(officer).locale == "de"
    response = client.post_form("/language", {"locale": "en", "next": "/contacts/?q=a"})
    assert response.location == "/contacts/?q=a"


# --- safe_next_url on its own -----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/", "/organisations/", "/organisations/?q=x&sort=-name", "/contacts/12", "/search/?q=%5C"],
)
def test_safe_next_url_keeps_local_paths(target):
    assert safe_next_url(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https:evil.example",
        "https://evil.example/",
        "http://localhost.evil.example/",
        "http:/evil.example",
        "evil.example",
        "JavaScript:alert(1)",
        " //evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "organisations/",
        " /organisations/",
        "/organisations/\n",
        "/\t/evil.example",
        "/organisations/\x00",
    ],
)
def test_safe_next_url_refuses_anything_else(target):
    assert safe_next_url(target) is None
