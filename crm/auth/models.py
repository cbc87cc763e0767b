"""Staff accounts and the login throttle."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import TimestampMixin
from crm.extensions import db


class Role(enum.StrEnum):
    """What a staff member may do."""

    ADMIN = "admin"
    MANAGER = "manager"
    OFFICER = "officer"

    @property
    def label(self) -> str:
        """The translated name of the role."""
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.MANAGER: _l("Manager"),
    Role.OFFICER: _l("Placement officer"),
}


def new_session_token() -> str:
    """A fresh random token that ties browser sessions to the account."""
    return secrets.token_urlsafe(24)


class User(UserMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A staff member who logs in: admin, manager or placement officer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active_account: Mapped[bool] = mapped_column("is_active", default=True)
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Brussels")
    last_login_at: Mapped[dt.datetime | None]
    # The calendar feed's secret is stored only as a SHA-256 hash; renewing replaces it.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    wants_daily_digest: Mapped[bool] = mapped_column(default=True)
    # The local date the last daily digest was queued for: the digest job's claim.
    last_digest_on: Mapped[dt.date | None]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_account

    def get_id(self) -> str:
        """Flask-Login's id: the user id and the current session token."""
        return f"{self.id}:{self.session_token}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def sees_everything(self) -> bool:
        """Managers and admins edit every record; officers only their own portfolio."""
        return self.role in (Role.ADMIN, Role.MANAGER)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class LoginThrottle(db.Model):  # type: ignore[name-defined]
    """Failed logins per e-mail address, known or not, so both get the same answer."""

    __tablename__ = "login_throttles"

    email_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
