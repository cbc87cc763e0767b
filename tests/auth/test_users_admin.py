"""Roles: administrators manage accounts on /admin/users and with `flask crm create-user`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth import service
from crm.auth.models import Role, User
from crm.extensions import db
from tests.core.helpers import count_rows, field_error, flashes, fresh, is_invalid, text
from tests.factories import PASSWORD, make_user


def user_form(**changes):
    values = {
        "name": "Nora New",
        "email": "nora@example.test",
        "phone": "+49 30 123456",
        "role": "officer",
        "timezone": "Europe/Berlin",
        "locale": "de",
        "is_active": "y",
        "password": "correct-horse-battery",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def form_for(user: User, **changes):
    return (
        user_form(
            name=user.name,
            email=user.email,
            phone=user.phone,
            role=user.role.value,
            timezone=user.timezone,
            locale=user.locale,
            is_active="y" if user.is_active_account else None,
            password="",
        )
        | changes
    )


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


# --- the pages --------------------------------------------------------------------------------


def test_admin_sees_every_account(ctx, login_as, admin, officer, manager):
    inactive = make_user("officer", name="Ivo Inactive", is_active_account=False)
    page = text(login_as(admin).get("/admin/users"))
    for user in (admin, officer, manager, inactive):
        assert user.name in page
        assert user.email in page
        assert f'href="/admin/users/{user.id}"' in page
    assert "Deactivated" in page
    assert "Placement officer" in page


def test_admin_creates_an_account(ctx, login_as, make_client, admin):
    client = login_as(admin)
    assert client.get("/admin/users/new").status_code == 200
    response = client.post_form(
        "/admin/users/new", user_form(email="Nora@Example.TEST", role="manager")
    )
    assert response.status_code == 302
    assert response.location == "/admin/users"
    assert "Account for Nora New created." in flashes(text(client.get("/admin/users")))
    user = find_user("nora@example.test")
    assert user is not None
    assert (user.name, user.role, user.timezone, user.locale, user.phone) == (
        "Nora New",
        Role.MANAGER,
        "Europe/Berlin",
        "de",
        "+49 30 123456",
    )
    assert user.is_active_account
    assert user.password_hash.startswith("$argon2id$")
    assert "correct-horse-battery" not in user.password_hash
    login = make_client().post_form(
        "/login", {"email": "nora@example.test", "password": "correct-horse-battery"}
    )
    assert login.status_code == 302


def test_passwords_are_stored_as_strong_argon2id_hashes(ctx, production_hashing):
    user = service.create_user(
        service.UserValues(email="strong@example.test", name="Strong", role=Role.OFFICER),
        "correct-horse-battery",
    )
    db.session.commit()
    algorithm, version, parameters, _salt, _hash = user.password_hash.split("$")[1:]
    assert (algorithm, version) == ("argon2id", "v=19")
    cost = dict(part.split("=") for part in parameters.split(","))
    assert int(cost["m"]) >= 19 * 1024  # OWASP's minimum: 19 MiB of memory ...
    assert int(cost["t"]) >= 2  # ... and two passes
    assert service.password_matches(user, "correct-horse-battery")
    assert not service.password_matches(user, "correct-horse-battery ")


def test_new_account_needs_a_password(ctx, login_as, admin):
    response = login_as(admin).post_form("/admin/users/new", user_form(password=""))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "password") == "Set a first password for the new account."
    assert find_user("nora@example.test") is None


def test_new_account_refuses_a_short_password(ctx, login_as, admin):
    response = login_as(admin).post_form("/admin/users/new", user_form(password="short"))
    assert response.status_code == 200
    assert is_invalid(text(response), "password")
    assert find_user("nora@example.test") is None


def test_duplicate_email_is_an_error_next_to_the_field(ctx, login_as, admin, officer):
    before = count_rows(User)
    response = login_as(admin).post_form("/admin/users/new", user_form(email=officer.email.upper()))
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "email")
    assert field_error(page, "email") == "Another account already uses this e-mail address."
    assert not is_invalid(page, "name")
    assert count_rows(User) == before


def test_changing_an_email_to_one_in_use_is_refused(ctx, login_as, admin, officer, manager):
    response = login_as(admin).post_form(
        f"/admin/users/{officer.id}", form_for(officer, email=manager.email)
    )
    assert response.status_code == 200
    assert field_error(text(response), "email") == (
        "Another account already uses this e-mail address."
    )
    assert fresh(officer).email != manager.email


def test_invalid_email_is_an_error_next_to_the_field(ctx, login_as, admin):
    response = login_as(admin).post_form("/admin/users/new", user_form(email="not-an-address"))
    assert response.status_code == 200
    assert field_error(text(response), "email") == "Enter a valid e-mail address."
    assert count_rows(User, User.name == "Nora New") == 0


def test_admin_edits_an_account(ctx, login_as, admin, officer):
    client = login_as(admin)
    page = text(client.get(f"/admin/users/{officer.id}"))
    assert officer.email in page
    response = client.post_form(
        f"/admin/users/{officer.id}", form_for(officer, name="Olga Promoted", role="manager")
    )
    assert response.status_code == 302
    assert "Account of Olga Promoted saved." in flashes(text(client.get("/admin/users")))
    fresh(officer)
    assert (officer.name, officer.role) == ("Olga Promoted", Role.MANAGER)
    assert officer.is_active_account


def test_admin_deactivates_and_reactivates_an_account(ctx, login_as, make_client, admin, officer):
    client = login_as(admin)
    response = client.post_form(f"/admin/users/{officer.id}", form_for(officer, is_active=None))
    assert response.status_code == 302
    assert fresh(officer).is_active_account is False
    refused = make_client().post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert refused.status_code == 401

    client.post_form(f"/admin/users/{officer.id}", form_for(officer, is_active="y"))
    assert fresh(officer).is_active_account is True
    accepted = make_client().post_form("/login", {"email": officer.email, "password": PASSWORD})
    assert accepted.status_code == 302


def test_editing_an_unknown_account_is_404(ctx, login_as, admin):
    assert login_as(admin).get("/admin/users/999999").status_code == 404


def test_admin_cannot_deactivate_themselves(ctx, login_as, admin):
    client = login_as(admin)
    response = client.post_form(f"/admin/users/{admin.id}", form_for(admin, is_active=None))
    assert response.status_code == 200
    assert "You cannot deactivate yourself or change your own role." in text(response)
    assert fresh(admin).is_active_account is True
    assert client.get("/admin/users").status_code == 200


def test_admin_cannot_change_their_own_role(ctx, login_as, admin):
    response = login_as(admin).post_form(
        f"/admin/users/{admin.id}", form_for(admin, role="officer")
    )
    assert response.status_code == 200
    assert "You cannot deactivate yourself or change your own role." in text(response)
    assert fresh(admin).role == Role.ADMIN


def test_admin_resetting_their_own_password_stays_logged_in(ctx, login_as, admin):
    client = login_as(admin)
    other_browser = login_as(admin)
    response = client.post_form(
        f"/admin/users/{admin.id}", form_for(admin, password="my-new-admin-password")
    )
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert other_browser.get("/admin/users").status_code == 302


def test_users_link_is_shown_to_admins_only(ctx, login_as, admin, manager, officer):
    assert 'href="/admin/users"' in text(login_as(admin).get("/organisations/"))
    assert 'href="/admin/users"' not in text(login_as(manager).get("/organisations/"))
    assert 'href="/admin/users"' not in text(login_as(officer).get("/organisations/"))


@pytest.mark.parametrize("role", ["officer", "manager"])
def test_non_admins_get_404_on_the_user_pages(ctx, login_as, role):
    user = make_user(role)
    victim = make_user("officer", name="Vic Victim")
    client = login_as(user)
    missing = client.get("/admin/no-such-page")
    assert missing.status_code == 404
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{victim.id}"):
        response = client.get(url)
        assert response.status_code == 404, url
        # The same page as for an address that does not exist (but for the address itself).
        assert text(response).replace(url, "URL") == text(missing).replace(
            "/admin/no-such-page", "URL"
        )
        assert victim.email not in text(response)


@pytest.mark.parametrize("role", ["officer", "manager"])
def test_non_admins_cannot_create_or_change_accounts(ctx, login_as, role):
    user = make_user(role)
    victim = make_user("officer", name="Vic Victim")
    client = login_as(user)
    before = count_rows(User)
    created = client.post_form("/admin/users/new", user_form(role="admin"))
    assert created.status_code == 404
    assert count_rows(User) == before
    changed = client.post_form(
        f"/admin/users/{victim.id}", form_for(victim, role="admin", is_active=None)
    )
    assert changed.status_code == 404
    fresh(victim)
    assert (victim.role, victim.is_active_account) == (Role.OFFICER, True)
    promoted = client.post_form(f"/admin/users/{user.id}", form_for(user, role="admin"))
    assert promoted.status_code == 404
    assert fresh(user).role == Role(role)


# --- the command line -------------------------------------------------------------------------


def create_user_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["crm", "create-user", *args])


def test_cli_creates_an_account(ctx, app, make_client):
    result = create_user_cli(
        app,
        "--email",
        "Cli.User@Example.test",
        "--name",
        "Cli User",
        "--role",
        "manager",
        "--password",
        "cli-password-123",
    )
    assert result.exit_code == 0, result.output
    assert "Created manager cli.user@example.test" in result.output
    user = find_user("cli.user@example.test")
    assert user is not None
    assert (user.name, user.role, user.is_active_account) == ("Cli User", Role.MANAGER, True)
    assert user.password_hash.startswith("$argon2id$")
    login = make_client().post_form(
        "/login", {"email": "cli.user@example.test", "password": "cli-password-123"}
    )
    assert login.status_code == 302


def test_cli_creates_an_officer_by_default(ctx, app):
    result = create_user_cli(
        app, "--email", "o@example.test", "--name", "O", "--password", "cli-password-123"
    )
    assert result.exit_code == 0, result.output
    user = find_user("o@example.test")
    assert user is not None
    assert user.role == Role.OFFICER


def test_cli_refuses_a_duplicate_email(ctx, app, officer):
    before = count_rows(User)
    result = create_user_cli(
        app, "--email", officer.email, "--name", "Twin", "--password", "cli-password-123"
    )
    assert result.exit_code == 1
    assert "Another account already uses this e-mail address." in result.output
    assert count_rows(User) == before


def test_cli_refuses_a_short_password(ctx, app):
    result = create_user_cli(app, "--email", "s@example.test", "--name", "S", "--password", "x")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert find_user("s@example.test") is None


def test_cli_refuses_an_unknown_role(ctx, app):
    result = create_user_cli(
        app, "--email", "r@example.test", "--name", "R", "--role", "root", "--password", "x" * 12
    )
    assert result.exit_code == 2
    assert find_user("r@example.test") is None
