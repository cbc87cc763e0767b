"""Sessions end: logout everywhere, password changes, deactivation, copied cookies."""

from __future__ import annotations

from tests.core.helpers import field_error, flashes, fresh, text
from tests.factories import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase"


def is_logged_in(client) -> bool:
    response = client.get("/organisations/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.location.startswith("/login")
    return False


def change_password(client, current: str, new: str, confirm: str | None = None):
    return client.post_form(
        "/account",
        {
            "pw-csrf_token": client.csrf(),
            "pw-current_password": current,
            "pw-new_password": new,
            "pw-confirm": new if confirm is None else confirm,
            "pw-submit": "1",
        },
    )


def test_logout_ends_this_session(ctx, login_as, officer):
    client = login_as(officer)
    response = client.post_form("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    assert "You have logged out." in flashes(text(client.get("/login")))
    assert not is_logged_in(client)


def test_logout_ends_the_other_sessions_of_the_user(ctx, login_as, officer):
    laptop = login_as(officer)
    phone = login_as(officer)
    assert is_logged_in(laptop)
    assert is_logged_in(phone)
    laptop.post_form("/logout")
    assert not is_logged_in(phone)
    assert not is_logged_in(laptop)


def test_logout_leaves_other_users_logged_in(ctx, login_as, officer, manager):
    mine = login_as(officer)
    theirs = login_as(manager)
    mine.post_form("/logout")
    assert is_logged_in(theirs)


def test_logout_needs_a_post(ctx, login_as, officer):
    client = login_as(officer)
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)


def test_copied_session_cookie_stops_working_after_logout(ctx, login_as, make_client, officer):
    victim = login_as(officer)
    cookie = victim.get_cookie("session")
    assert cookie is not None
    thief = make_client()
    thief.set_cookie("session", cookie.value)
    assert is_logged_in(thief)  # the copy works as long as the session lives ...
    victim.post_form("/logout")
    assert not is_logged_in(thief)  # ... and no longer once the user has logged out
    # Not even after the user logs in again: the new session has a new token.
    login_as(officer)
    assert not is_logged_in(thief)


def test_password_change_ends_other_sessions_but_keeps_this_one(ctx, login_as, officer):
    here = login_as(officer)
    elsewhere = login_as(officer)
    old_token = officer.session_token
    response = change_password(here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.location == "/account"
    assert "Your password is changed; your other sessions have ended." in flashes(
        text(here.get("/account"))
    )
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert fresh(officer).session_token != old_token


def test_new_password_works_and_the_old_one_does_not(ctx, login_as, make_client, officer):
    change_password(login_as(officer), PASSWORD, NEW_PASSWORD)
    assert fresh(officer).password_hash.startswith("$argon2id$")
    old = make_client().post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert old.status_code == 401
    new = make_client().post_form("/login", {"email": officer.email, "password": NEW_PASSWORD})
    assert new.status_code == 302


def test_password_change_needs_the_current_password(ctx, login_as, officer):
    here = login_as(officer)
    elsewhere = login_as(officer)
    hash_before = officer.password_hash
    response = change_password(here, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "pw-current_password") == "This is not your current password."
    assert fresh(officer).password_hash == hash_before
    assert is_logged_in(elsewhere)


def test_password_change_refuses_a_mismatched_or_short_password(ctx, login_as, officer):
    client = login_as(officer)
    hash_before = officer.password_hash
    mismatch = text(change_password(client, PASSWORD, NEW_PASSWORD, confirm="something-else"))
    assert field_error(mismatch, "pw-confirm") == "The passwords differ."
    short = text(change_password(client, PASSWORD, "short"))
    assert "8" in (field_error(short, "pw-new_password") or "")  # the minimum length
    assert fresh(officer).password_hash == hash_before


def test_preferences_change_keeps_all_sessions(ctx, login_as, officer):
    here = login_as(officer)
    elsewhere = login_as(officer)
    response = here.post_form(
        "/account",
        {
            "prefs-csrf_token": here.csrf(),
            "prefs-locale": "de",
            "prefs-timezone": "Europe/Lisbon",
            "prefs-submit": "1",
        },
    )
    assert response.status_code == 302
    assert (fresh(officer).locale, officer.timezone) == ("de", "Europe/Lisbon")
    assert is_logged_in(elsewhere)
    assert is_logged_in(here)


def test_deactivating_a_user_ends_their_sessions(ctx, login_as, admin, officer):
    officer_browser = login_as(officer)
    assert is_logged_in(officer_browser)
    admin_browser = login_as(admin)
    response = admin_browser.post_form(
        f"/admin/users/{officer.id}",
        {
            "name": officer.name,
            "email": officer.email,
            "phone": "",
            "role": "officer",
            "timezone": officer.timezone,
            "locale": "en",
            # the "Active" box is not ticked
        },
    )
    assert response.status_code == 302
    assert fresh(officer).is_active_account is False
    assert not is_logged_in(officer_browser)
    assert is_logged_in(admin_browser)


def test_admin_setting_a_new_password_ends_the_users_sessions(ctx, login_as, admin, officer):
    officer_browser = login_as(officer)
    admin_browser = login_as(admin)
    response = admin_browser.post_form(
        f"/admin/users/{officer.id}",
        {
            "name": officer.name,
            "email": officer.email,
            "role": "officer",
            "timezone": officer.timezone,
            "locale": "en",
            "is_active": "y",
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not is_logged_in(officer_browser)
    assert is_logged_in(admin_browser)
