"""Settings from the environment: unsafe production settings stop the app from starting."""

from __future__ import annotations

import os
import secrets

import pytest
from flask import Flask

from crm import create_app
from crm.config import DEFAULT_SECRET_KEY, ConfigError, Settings
from crm.extensions import db


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment: no CRM_* settings but those the test sets."""
    for name in list(os.environ):
        if name.startswith("CRM_"):
            monkeypatch.delenv(name)
    return monkeypatch


def start(app: Flask) -> Flask:
    """Create an app on the test database with the current environment."""
    started = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    with started.app_context():
        db.engine.dispose()
    return started


@pytest.mark.parametrize(
    "secret_key",
    [None, "", DEFAULT_SECRET_KEY, "short", "x" * 31],
    ids=["missing", "empty", "default", "short", "31-characters"],
)
def test_production_refuses_a_missing_default_or_short_secret_key(env, secret_key):
    env.setenv("CRM_ENV", "production")
    if secret_key is not None:
        env.setenv("CRM_SECRET_KEY", secret_key)
    with pytest.raises(ConfigError, match="CRM_SECRET_KEY"):
        Settings.from_env()


def test_production_app_refuses_to_start_without_a_secret_key(env, app):
    env.setenv("CRM_ENV", "production")
    with pytest.raises(ConfigError, match="CRM_SECRET_KEY"):
        start(app)
    env.setenv("CRM_SECRET_KEY", DEFAULT_SECRET_KEY)
    with pytest.raises(ConfigError, match="CRM_SECRET_KEY"):
        start(app)


def test_production_starts_with_a_long_random_key(env, app):
    key = secrets.token_urlsafe(48)
    env.setenv("CRM_ENV", "production")
    env.setenv("CRM_SECRET_KEY", key)
    env.setenv("CRM_SMTP_URL", "smtp://mail.example.test:587?starttls=1")
    settings = Settings.from_env()
    assert settings.secret_key == key
    assert settings.session_cookie_secure is True

    production = start(app)
    assert production.config["SECRET_KEY"] == key
    assert production.config["CRM_ENV"] == "production"
    assert production.config["SESSION_COOKIE_SECURE"] is True
    response = production.test_client().get("/login")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_production_refuses_to_run_without_a_mail_server(env):
    env.setenv("CRM_ENV", "production")
    env.setenv("CRM_SECRET_KEY", secrets.token_urlsafe(48))
    env.delenv("CRM_SMTP_URL", raising=False)
    with pytest.raises(ConfigError, match="CRM_SMTP_URL"):
        Settings.from_env()


def test_development_allows_the_default_key(env):
    settings = Settings.from_env()
    assert settings.env == "development"
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.session_cookie_secure is False


def test_settings_are_read_from_the_environment(env):
    env.setenv("CRM_PAGE_SIZE", "20")
    env.setenv("CRM_LOGIN_MAX_FAILURES", "7")
    env.setenv("CRM_LOGIN_LOCK_MINUTES", "30")
    env.setenv("CRM_LANGUAGES", "en, de")
    env.setenv("CRM_TIMEZONE", "Europe/Lisbon")
    env.setenv("CRM_DATABASE_URL", "postgresql+psycopg://crm@db.example/crm")
    config = Settings.from_env().flask_config()
    assert config["CRM_PAGE_SIZE"] == 20
    assert config["CRM_LOGIN_MAX_FAILURES"] == 7
    assert config["CRM_LOGIN_LOCK_MINUTES"] == 30
    assert config["CRM_LANGUAGES"] == ("en", "de")
    assert config["CRM_DISPLAY_TIMEZONE"] == "Europe/Lisbon"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://crm@db.example/crm"
    assert config["SESSION_COOKIE_HTTPONLY"] is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CRM_ENV", "staging", "CRM_ENV"),
        ("CRM_PAGE_SIZE", "lots", "CRM_PAGE_SIZE"),
        ("CRM_PAGE_SIZE", "2", "CRM_PAGE_SIZE"),
        ("CRM_LOGIN_MAX_FAILURES", "0", "CRM_LOGIN_MAX_FAILURES"),
        ("CRM_SESSION_COOKIE_SECURE", "maybe", "CRM_SESSION_COOKIE_SECURE"),
        ("CRM_LANGUAGES", "de,fr", "CRM_LANGUAGES"),
        ("CRM_TIMEZONE", "Mars/Olympus_Mons", "CRM_TIMEZONE"),
    ],
)
def test_invalid_settings_are_refused_with_the_setting_named(env, name, value, message):
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings.from_env()


@pytest.mark.parametrize("rate", ["many", "0/minute", "30 per fortnight"])
def test_a_bad_link_rate_limit_stops_the_start_with_its_name(env, rate):
    env.setenv("CRM_LINK_RATE_LIMIT", rate)
    with pytest.raises(ConfigError, match="CRM_LINK_RATE_LIMIT"):
        Settings.from_env()


def test_link_settings_have_safe_defaults(env):
    config = Settings.from_env().flask_config()
    assert (config["CRM_LINK_DAYS"], config["CRM_LINK_RATE_LIMIT"]) == (14, "30/minute")
    assert config["CRM_PROXY_HOPS"] == 0


@pytest.mark.parametrize(("hops", "seen"), [("0", "127.0.0.1"), ("1", "203.0.113.9")])
def test_the_client_address_comes_from_the_proxy_only_when_proxies_are_trusted(
    app, env, hops, seen
):
    from flask import request

    env.setenv("CRM_PROXY_HOPS", hops)
    started = start(app)
    addresses: list[str | None] = []
    # First of the request hooks, so that it sees every request (the login wall comes after).
    started.before_request_funcs.setdefault(None, []).insert(
        0, lambda: addresses.append(request.remote_addr)
    )
    started.test_client().get(
        "/auth/login",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert addresses == [seen]
