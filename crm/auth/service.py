"""Accounts: password hashing, login with throttling, and session invalidation."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.auth.models import LoginThrottle, Role, User, new_session_token
from crm.db import utcnow
from crm.extensions import db

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")

MIN_PASSWORD_LENGTH = 8


class AccountError(Exception):
    """A rule about accounts was broken; the message is fit to show the user.

    `field` names the form field the message belongs next to.
    """

    def __init__(self, message: str, field: str = "email"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UserValues:
    """What a form hands the service to create or update a user."""

    email: str
    name: str
    role: Role
    phone: str = ""
    timezone: str = "Europe/Brussels"
    locale: str = "en"
    is_active: bool = True


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Use at least %(n)d characters for the password.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )


def find_user_by_email(email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _check_values(values: UserValues, user: User | None) -> None:
    other = find_user_by_email(values.email)
    if other is not None and other is not user:
        raise AccountError(_("Another account already uses this e-mail address."))
    try:
        ZoneInfo(values.timezone)
    except Exception as exc:
        raise AccountError(_("Unknown time zone."), field="timezone") from exc


def create_user(values: UserValues, password: str) -> User:
    """Create a staff account; the password is stored only as an argon2 hash."""
    _check_values(values, None)
    check_password_strength(password)
    user = User(
        email=normalise_email(values.email),
        name=values.name.strip(),
        role=values.role,
        phone=values.phone.strip(),
        timezone=values.timezone,
        locale=values.locale,
        password_hash=hash_password(password),
        is_active_account=values.is_active,
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, values: UserValues, acting: User) -> None:
    """Change an account; deactivating it ends all its sessions."""
    _check_values(values, user)
    if user.id == acting.id and (not values.is_active or values.role != user.role):
        raise AccountError(
            _("You cannot deactivate yourself or change your own role."), field="is_active"
        )
    was_active = user.is_active_account
    user.email = normalise_email(values.email)
    user.name = values.name.strip()
    user.role = values.role
    user.phone = values.phone.strip()
    user.timezone = values.timezone
    user.locale = values.locale
    user.is_active_account = values.is_active
    if was_active and not values.is_active:
        end_all_sessions(user)
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """Set a new password and end every existing session of the account."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Rotate the session token: every browser session of the account stops working."""
    user.session_token = new_session_token()


def set_preferences(user: User, *, locale: str | None = None, timezone: str | None = None) -> None:
    """Store the user's language or time zone."""
    if locale is not None:
        if locale not in current_app.config["CRM_LANGUAGES"]:
            raise AccountError(_("This language is not available."), field="locale")
        user.locale = locale
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except Exception as exc:
            raise AccountError(_("Unknown time zone."), field="timezone") from exc
        user.timezone = timezone


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the account, if the session's token is still the current one."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active_account:
        return None
    if not _constant_time_equal(user.session_token, token):
        return None
    return user


def _constant_time_equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


# --- login throttling ---------------------------------------------------------------------


class LoginRefused(Exception):
    """Login refused; the message is the same whether the account exists or not."""


def _throttle_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _wait_seconds(failures: int) -> int:
    """After a few failures each further attempt waits longer: 2, 4, 8, ... seconds."""
    slowdown_after = current_app.config["CRM_LOGIN_SLOWDOWN_AFTER"]
    if failures < slowdown_after:
        return 0
    return int(min(2 ** (failures - slowdown_after + 1), 60))


def authenticate(email: str, password: str, now: dt.datetime | None = None) -> User:
    """Check a login; raise `LoginRefused` with a message that never tells if the user exists."""
    now = now or utcnow()
    key = _throttle_key(email)
    throttle = db.session.get(LoginThrottle, key)
    if throttle is not None:
        if throttle.locked_until is not None and throttle.locked_until > now:
            minutes = math.ceil((throttle.locked_until - now).total_seconds() / 60)
            raise LoginRefused(
                ngettext(
                    "Too many failed attempts. Try again in %(num)d minute.",
                    "Too many failed attempts. Try again in %(num)d minutes.",
                    minutes,
                )
            )
        wait = _wait_seconds(throttle.failures)
        if wait and throttle.last_failure_at is not None:
            ready_at = throttle.last_failure_at + dt.timedelta(seconds=wait)
            if ready_at > now:
                seconds = math.ceil((ready_at - now).total_seconds())
                raise LoginRefused(
                    ngettext(
                        "Too many failed attempts. Wait %(num)d second and try again.",
                        "Too many failed attempts. Wait %(num)d seconds and try again.",
                        seconds,
                    )
                )

    user = find_user_by_email(email)
    if _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None:
        if user.is_active_account:
            if throttle is not None:
                db.session.delete(throttle)
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = now
            db.session.flush()
            return user

    _record_failure(key, throttle, now)
    raise LoginRefused(_("Invalid e-mail address or password."))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _record_failure(key: str, throttle: LoginThrottle | None, now: dt.datetime) -> None:
    if throttle is None:
        throttle = LoginThrottle(email_key=key, failures=0)
        db.session.add(throttle)
    if throttle.locked_until is not None and throttle.locked_until <= now:
        throttle.failures = 0  # a served lock starts a fresh count
        throttle.locked_until = None
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= current_app.config["CRM_LOGIN_MAX_FAILURES"]:
        throttle.locked_until = now + dt.timedelta(
            minutes=current_app.config["CRM_LOGIN_LOCK_MINUTES"]
        )
    db.session.flush()


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the account's current password."""
    return _verify(user.password_hash, password)
