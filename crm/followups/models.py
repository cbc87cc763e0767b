"""The follow-up record."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin
from crm.extensions import db
from crm.organisations.models import enum_column

if TYPE_CHECKING:
    from crm.auth.models import User


class FollowUpStatus(enum.StrEnum):
    """Where a follow-up stands."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


REMINDER_PENDING = "status = 'open' AND reminder_sent_at IS NULL"


class FollowUp(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A dated task for an officer about one record."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.Index("ix_follow_ups_assignee_open", "assignee_id", "status", "due_at"),
        sa.Index("ix_follow_ups_record", "record_type", "record_id", "status"),
        # The reminder job's claim: open follow-ups not yet reminded, the oldest first. Only
        # those rows are in it, so a claim reads its batch from the index without sorting,
        # and marking a row reminded takes it out.
        sa.Index(
            "ix_follow_ups_reminders_due",
            "due_at",
            "id",
            sqlite_where=sa.text(REMINDER_PENDING),
            postgresql_where=sa.text(REMINDER_PENDING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[dt.datetime]
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus), default=FollowUpStatus.OPEN
    )
    record_type: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int]
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_rule: Mapped[str] = mapped_column(sa.String(200), default="")
    completed_at: Mapped[dt.datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Set when the due reminder was queued: the reminder job's claim, so it is sent once.
    reminder_sent_at: Mapped[dt.datetime | None]

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id], lazy="raise")
