"""Outbox messages."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import enum_column


class OutboxStatus(enum.StrEnum):
    """Where a message stands: waiting (or retrying), delivered, or given up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """One e-mail in the recipient's language, queued for delivery (see crm.outbox.service)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        sa.Index("ix_outbox_messages_record", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(60))  # the template, e.g. "followup_reminder"
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    to_email: Mapped[str] = mapped_column(sa.String(254))
    to_name: Mapped[str] = mapped_column(sa.String(200), default="")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # Values to render the bodies with at delivery; NULL once the bodies are rendered (kept
    # on a message that failed because its template could not be rendered).
    template_values: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A delivering process holds the message until then; if it dies, others take it after.
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[dt.datetime | None]
    message_id: Mapped[str] = mapped_column(sa.String(200), default="")
    # What the message is about, so it shows on that record with a resend button.
    record_type: Mapped[str | None] = mapped_column(sa.String(30))
    record_id: Mapped[int | None]
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
