"""The action link record and the per-address rate-limit counters of the public pages."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import enum_column


class LinkPurpose(enum.StrEnum):
    """What a link lets its recipient do: one purpose per link."""

    CONFIRM_PLACEMENT = "confirm_placement"
    EVALUATE_PLACEMENT = "evaluate_placement"
    LEARNER_FEEDBACK = "learner_feedback"
    SIGN_AGREEMENT = "sign_agreement"

    @property
    def label(self) -> str:
        return str(PURPOSE_LABELS[self])

    @property
    def slug(self) -> str:
        """The purpose's part of the link's address."""
        return PURPOSE_SLUGS[self]


PURPOSE_LABELS = {
    LinkPurpose.CONFIRM_PLACEMENT: _l("Confirm the placement"),
    LinkPurpose.EVALUATE_PLACEMENT: _l("Evaluate the placement"),
    LinkPurpose.LEARNER_FEEDBACK: _l("Learner feedback"),
    LinkPurpose.SIGN_AGREEMENT: _l("Sign the agreement"),
}
PURPOSE_SLUGS = {
    LinkPurpose.CONFIRM_PLACEMENT: "confirm",
    LinkPurpose.EVALUATE_PLACEMENT: "evaluate",
    LinkPurpose.LEARNER_FEEDBACK: "feedback",
    LinkPurpose.SIGN_AGREEMENT: "sign",
}
PURPOSE_BY_SLUG = {slug: purpose for purpose, slug in PURPOSE_SLUGS.items()}


class LinkEnd(enum.StrEnum):
    """Why an unspent link stopped working before its expiry."""

    REVOKED = "revoked"  # by an officer
    SUPERSEDED = "superseded"  # a newer link for the same purpose and record replaced it
    CHANGED = "changed"  # the record changed after it was sent; a new link went out
    CLOSED = "closed"  # the record moved on without the recipient's answer


class ActionLink(db.Model):  # type: ignore[name-defined]
    """One link: one purpose, one record, one recipient; spent by the decision it carries.

    The token is never stored. It is derived from `nonce` and the app's secret key
    (crm.links.service.token_for), so that reminders can carry the same link without the
    token ever being written to the database or the outbox; `token_hash` (SHA-256) finds
    the link when it comes back.
    """

    __tablename__ = "action_links"
    __table_args__ = (
        sa.Index("ix_action_links_record", "record_type", "record_id", "purpose"),
        sa.Index("ix_action_links_open", "spent_at", "ended_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    nonce: Mapped[str] = mapped_column(sa.String(64))
    purpose: Mapped[LinkPurpose] = mapped_column(enum_column(LinkPurpose))
    record_type: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int]
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # The recipient: a contact of the organisation or a learner, and the address and language
    # the link went to (fresh links go to the address on record, never to a typed one).
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    learner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("learners.id", ondelete="SET NULL"), index=True
    )
    # Which of the record's recipients, where a purpose has several (an agreement's signers:
    # "employer", "learner", "guardian"); "" where it has one.
    party: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    recipient_name: Mapped[str] = mapped_column(sa.String(200), default="")
    recipient_email: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    # What the recipient was asked about (crm.links.service.fingerprint): a link whose record
    # changed since no longer decides.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_sent_at: Mapped[dt.datetime | None]
    # Expired unanswered: the officer's follow-up was made (the expiry job's claim).
    expiry_handled_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[LinkEnd | None] = mapped_column(enum_column(LinkEnd))
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The decision: when, what, and the evidence of who sent it.
    spent_at: Mapped[dt.datetime | None]
    decision: Mapped[str] = mapped_column(sa.String(40), default="")
    decision_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    decided_ip: Mapped[str] = mapped_column(sa.String(45), default="")
    decided_user_agent: Mapped[str] = mapped_column(sa.String(500), default="")
    # The last "send me a fresh link" request for this link (throttles them).
    fresh_requested_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<ActionLink {self.id} {self.purpose} {self.record_type}:{self.record_id}>"


class RateLimitWindow(db.Model):  # type: ignore[name-defined]
    """Requests counted per key (e.g. an IP address on the link pages) in a fixed window.

    In the database so that every web worker counts together (crm.core.ratelimit).
    """

    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
