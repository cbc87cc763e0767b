"""People at employer organisations."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin
from crm.extensions import db
from crm.organisations.models import enum_column

if TYPE_CHECKING:
    from crm.organisations.models import Organisation


class ContactRole(enum.StrEnum):
    """A contact's role in the partnership, following the engagement methodology."""

    FOCAL_PERSON = "focal_person"
    DECISION_MAKER = "decision_maker"
    WORKPLACE_SUPERVISOR = "workplace_supervisor"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(CONTACT_ROLE_LABELS[self])


CONTACT_ROLE_LABELS = {
    ContactRole.FOCAL_PERSON: _l("Focal person"),
    ContactRole.DECISION_MAKER: _l("Decision maker"),
    ContactRole.WORKPLACE_SUPERVISOR: _l("Workplace supervisor"),
    ContactRole.OTHER: _l("Other"),
}


class ConsentBasis(enum.StrEnum):
    """The GDPR lawful basis for keeping a contact's data."""

    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"

    @property
    def label(self) -> str:
        return str(CONSENT_BASIS_LABELS[self])


CONSENT_BASIS_LABELS = {
    ConsentBasis.CONSENT: _l("Consent"),
    ConsentBasis.LEGITIMATE_INTEREST: _l("Legitimate interest"),
    ConsentBasis.CONTRACT: _l("Contract"),
    ConsentBasis.LEGAL_OBLIGATION: _l("Legal obligation"),
}


class Contact(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A person at an organisation: focal person, decision maker, supervisor, ..."""

    __tablename__ = "contacts"
    __table_args__ = (
        # The list's order among active contacts (the first page reads 50 index entries).
        sa.Index(
            "ix_contacts_active_sort",
            "sort_name",
            "id",
            sqlite_where=sa.text("archived_at IS NULL"),
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
        # Substring search on PostgreSQL (pg_trgm); SQLite has the FTS5 table contact_search.
        sa.Index(
            "ix_contacts_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[ContactRole] = mapped_column(enum_column(ContactRole), index=True)
    job_title: Mapped[str] = mapped_column(sa.String(150), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="", index=True)
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    preferred_language: Mapped[str] = mapped_column(sa.String(10), default="en")
    consent_basis: Mapped[ConsentBasis | None] = mapped_column(enum_column(ConsentBasis))
    consent_date: Mapped[dt.date | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    archived_at: Mapped[dt.datetime | None]

    sort_name: Mapped[str] = mapped_column(sa.String(200), default="")
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    last_activity_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation] = relationship(back_populates="contacts", lazy="raise")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.full_name!r}>"
