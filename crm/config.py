"""Settings from environment variables, validated at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused in production


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the app refuses to start."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    env: str = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    database_url: str = field(default_factory=_default_database_url)
    languages: tuple[str, ...] = ("en", "de")
    default_timezone: str = "Europe/Brussels"
    login_max_failures: int = 10
    login_slowdown_after: int = 3
    login_lock_minutes: int = 15
    page_size: int = 50
    session_cookie_secure: bool = False
    smtp_url: str = ""
    mail_from: str = "Partnership CRM <crm@localhost>"
    smtp_timeout: int = 20
    outbox_max_attempts: int = 12
    base_url: str = "http://127.0.0.1:5000"
    digest_hour: int = 7
    link_days: int = 14
    link_rate_limit: str = "30/minute"
    proxy_hops: int = 0
    provider_name: str = "Demo Vocational College"
    provider_address: str = ""
    # The dashboard's inclusion table shows no count of learners below this group size.
    dashboard_min_group: int = 5

    @classmethod
    def from_env(cls) -> Settings:
        """Read and validate the settings from `CRM_*` environment variables."""
        env = os.environ.get("CRM_ENV", "development").strip().lower()
        if env not in {"development", "production", "testing"}:
            raise ConfigError(f"CRM_ENV must be development, production or testing, not {env!r}")
        secret_key = os.environ.get("CRM_SECRET_KEY", "") or DEFAULT_SECRET_KEY
        languages = tuple(
            code.strip()
            for code in os.environ.get("CRM_LANGUAGES", "en,de").split(",")
            if code.strip()
        )
        settings = cls(
            env=env,
            secret_key=secret_key,
            database_url=os.environ.get("CRM_DATABASE_URL", "") or _default_database_url(),
            languages=languages or ("en",),
            default_timezone=os.environ.get("CRM_TIMEZONE", "Europe/Brussels"),
            login_max_failures=_env_int("CRM_LOGIN_MAX_FAILURES", 10, minimum=1),
            login_slowdown_after=_env_int("CRM_LOGIN_SLOWDOWN_AFTER", 3, minimum=1),
            login_lock_minutes=_env_int("CRM_LOGIN_LOCK_MINUTES", 15, minimum=1),
            page_size=_env_int("CRM_PAGE_SIZE", 50, minimum=5),
            session_cookie_secure=_env_bool("CRM_SESSION_COOKIE_SECURE", env == "production"),
            smtp_url=os.environ.get("CRM_SMTP_URL", "").strip(),
            mail_from=os.environ.get("CRM_MAIL_FROM", "").strip()
            or "Partnership CRM <crm@localhost>",
            smtp_timeout=_env_int("CRM_SMTP_TIMEOUT", 20, minimum=1),
            outbox_max_attempts=_env_int("CRM_OUTBOX_MAX_ATTEMPTS", 12, minimum=1),
            base_url=os.environ.get("CRM_BASE_URL", "").strip().rstrip("/")
            or "http://127.0.0.1:5000",
            digest_hour=_env_int("CRM_DIGEST_HOUR", 7, minimum=0),
            link_days=_env_int("CRM_LINK_DAYS", 14, minimum=1),
            link_rate_limit=os.environ.get("CRM_LINK_RATE_LIMIT", "").strip() or "30/minute",
            proxy_hops=_env_int("CRM_PROXY_HOPS", 0, minimum=0),
            provider_name=os.environ.get("CRM_PROVIDER_NAME", "").strip()
            or "Demo Vocational College",
            provider_address=os.environ.get("CRM_PROVIDER_ADDRESS", "").strip(),
            dashboard_min_group=_env_int("CRM_DASHBOARD_MIN_GROUP", 5, minimum=2),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse unsafe combinations, above all a default secret key in production."""
        if self.env == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise ConfigError(
                    "CRM_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production (for example: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
        if self.env == "production" and not self.smtp_url:
            raise ConfigError(
                "CRM_SMTP_URL must be set in production: without it e-mails are only kept in "
                "the development mailbox, which every member of staff can read"
            )
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise ConfigError("CRM_SMTP_URL must start with smtp:// or smtps://")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("CRM_BASE_URL must be an http:// or https:// address")
        if self.digest_hour > 23:
            raise ConfigError("CRM_DIGEST_HOUR must be an hour from 0 to 23")
        try:
            from crm.core.ratelimit import parse_rate

            parse_rate(self.link_rate_limit)
        except ValueError as exc:
            raise ConfigError(f"CRM_LINK_RATE_LIMIT: {exc}") from exc
        if "en" not in self.languages:
            raise ConfigError("CRM_LANGUAGES must include en, the source language")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.default_timezone)
        except Exception as exc:
            raise ConfigError(f"CRM_TIMEZONE {self.default_timezone!r} is not a time zone") from exc

    def flask_config(self) -> dict[str, Any]:
        """The Flask configuration mapping derived from these settings."""
        return {
            "CRM_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_DURATION": 0,
            "WTF_CSRF_TIME_LIMIT": None,
            "BABEL_DEFAULT_LOCALE": "en",
            "BABEL_DEFAULT_TIMEZONE": "UTC",
            "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
            "CRM_LANGUAGES": self.languages,
            "CRM_DISPLAY_TIMEZONE": self.default_timezone,
            "CRM_LOGIN_MAX_FAILURES": self.login_max_failures,
            "CRM_LOGIN_SLOWDOWN_AFTER": self.login_slowdown_after,
            "CRM_LOGIN_LOCK_MINUTES": self.login_lock_minutes,
            "CRM_PAGE_SIZE": self.page_size,
            "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
            "CRM_SMTP_URL": self.smtp_url,
            "CRM_MAIL_FROM": self.mail_from,
            "CRM_SMTP_TIMEOUT": self.smtp_timeout,
            "CRM_OUTBOX_MAX_ATTEMPTS": self.outbox_max_attempts,
            "CRM_BASE_URL": self.base_url,
            "CRM_DIGEST_HOUR": self.digest_hour,
            "CRM_LINK_DAYS": self.link_days,
            "CRM_LINK_RATE_LIMIT": self.link_rate_limit,
            "CRM_PROXY_HOPS": self.proxy_hops,
            # The education provider, as agreements name it.
            "CRM_PROVIDER_NAME": self.provider_name,
            "CRM_PROVIDER_ADDRESS": self.provider_address,
            "CRM_DASHBOARD_MIN_GROUP": self.dashboard_min_group,
            "CRM_WORKFLOWS_DIR": os.environ.get("CRM_WORKFLOWS_DIR", "")
            or str(PROJECT_ROOT / "workflows"),
        }


def engine_options(database_url: str) -> dict[str, Any]:
    """Engine options per database: pre-ping for servers, a lock timeout for SQLite."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}
