"""Timeline entries: notes, calls, e-mails, meetings and visits."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import enum_column

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact


class ActivityKind(enum.StrEnum):
    """What kind of contact or note an activity records."""

    NOTE = "note"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"

    @property
    def label(self) -> str:
        return str(ACTIVITY_KIND_LABELS[self])

    @property
    def is_two_way(self) -> bool:
        """Calls, meetings and visits are two-way contact; a note is not."""
        return self in (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.VISIT)


ACTIVITY_KIND_LABELS = {
    ActivityKind.NOTE: _l("Note"),
    ActivityKind.CALL: _l("Call"),
    ActivityKind.EMAIL: _l("E-mail"),
    ActivityKind.MEETING: _l("Meeting"),
    ActivityKind.VISIT: _l("Visit"),
}


class Activity(db.Model):  # type: ignore[name-defined]
    """One entry on a timeline, always on an organisation and optionally on one contact."""

    __tablename__ = "activities"
    __table_args__ = (
        sa.Index("ix_activities_organisation_time", "organisation_id", "occurred_at"),
        sa.Index("ix_activities_contact_time", "contact_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind))
    occurred_at: Mapped[dt.datetime]
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")
    contact: Mapped[Contact | None] = relationship(lazy="raise")
