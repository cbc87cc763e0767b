"""The agreement, its issued versions (immutable PDFs), and the signers of each version."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin, utcnow
from crm.extensions import db
from crm.organisations.models import enum_column
from crm.workflow.models import WorkflowMixin

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.organisations.models import Organisation


class AgreementKind(enum.StrEnum):
    """Which document: a placement's agreement or a partnership's memorandum."""

    PLACEMENT = "placement_agreement"
    PARTNERSHIP = "partnership_memorandum"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    AgreementKind.PLACEMENT: _l("Placement agreement"),
    AgreementKind.PARTNERSHIP: _l("Partnership memorandum"),
}


class SignerParty(enum.StrEnum):
    """Who signs: the provider in the app; the others by action link."""

    PROVIDER = "provider"
    EMPLOYER = "employer"
    LEARNER = "learner"
    GUARDIAN = "guardian"

    @property
    def label(self) -> str:
        return str(PARTY_LABELS[self])


PARTY_LABELS = {
    SignerParty.PROVIDER: _l("Education provider"),
    SignerParty.EMPLOYER: _l("Employer"),
    SignerParty.LEARNER: _l("Learner"),
    SignerParty.GUARDIAN: _l("Parent or guardian"),
}


class Agreement(WorkflowMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A written agreement about a placement or a partnership, on the agreement workflow."""

    __tablename__ = "agreements"
    __table_args__ = (
        sa.CheckConstraint(
            "(placement_id IS NOT NULL) <> (partnership_id IS NOT NULL)", name="one_subject"
        ),
        sa.Index("ix_agreements_list", "workflow_name", "state", "expires_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_column(AgreementKind))
    placement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("placements.id"), index=True)
    partnership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    # The document's own terms the officer edits (scope, engagement types, duration, renewal,
    # duties, quality criteria...); what a version rendered is frozen in its `values`.
    terms: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    valid_from: Mapped[dt.date | None]
    expires_on: Mapped[dt.date | None] = mapped_column(index=True)
    current_number: Mapped[int] = mapped_column(default=0)
    # SHA-256 of the current issued version's PDF ("" before the first issue): guards read it.
    document_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")
    termination_reason: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship(lazy="raise")
    officer: Mapped[User] = relationship(lazy="raise")
    versions: Mapped[list[AgreementVersion]] = relationship(
        lazy="raise", order_by="AgreementVersion.number.desc()", back_populates="agreement"
    )


class AgreementVersion(db.Model):  # type: ignore[name-defined]
    """Version N of an agreement: the PDF issued, its SHA-256, never changed afterwards.

    When every signer has signed, the sealed copy (the original pages plus the evidence page)
    and its own SHA-256 are added; the original stays as it was.
    """

    __tablename__ = "agreement_versions"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    language: Mapped[str] = mapped_column(sa.String(10))
    values: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # what was rendered
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    pages: Mapped[int]
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    superseded_at: Mapped[dt.datetime | None]
    sealed_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    sealed_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    sealed_at: Mapped[dt.datetime | None]

    agreement: Mapped[Agreement] = relationship(lazy="raise", back_populates="versions")
    signers: Mapped[list[AgreementSigner]] = relationship(
        lazy="raise", order_by="AgreementSigner.id", back_populates="version"
    )


class AgreementSigner(db.Model):  # type: ignore[name-defined]
    """A party asked to sign one version, and the evidence of their signature or refusal."""

    __tablename__ = "agreement_signers"
    __table_args__ = (sa.UniqueConstraint("version_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agreement_versions.id", ondelete="CASCADE"), index=True
    )
    party: Mapped[SignerParty] = mapped_column(enum_column(SignerParty))
    # Who is asked, as on record when the version was issued.
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    role_title: Mapped[str] = mapped_column(sa.String(150), default="")
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    learner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("learners.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("action_links.id"))
    # The evidence: typed full name, time (UTC), address, browser, and the hash of the
    # version's PDF they were shown.
    signed_at: Mapped[dt.datetime | None]
    typed_name: Mapped[str] = mapped_column(sa.String(200), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(500), default="")
    signed_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    declined_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")

    version: Mapped[AgreementVersion] = relationship(lazy="raise", back_populates="signers")
