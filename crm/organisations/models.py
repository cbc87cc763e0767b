"""Employer organisations and their tags."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin
from crm.extensions import db

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact


class SizeBand(enum.StrEnum):
    """Company size bands as used in EU statistics."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def label(self) -> str:
        return str(SIZE_BAND_LABELS[self])


SIZE_BAND_LABELS = {
    SizeBand.MICRO: _l("Micro (fewer than 10 staff)"),
    SizeBand.SMALL: _l("Small (10–49 staff)"),
    SizeBand.MEDIUM: _l("Medium (50–249 staff)"),
    SizeBand.LARGE: _l("Large (250 staff or more)"),
}


class CapacityPeriod(enum.StrEnum):
    """The period a capacity pledge counts learners over."""

    TERM = "term"
    YEAR = "year"

    @property
    def label(self) -> str:
        return str(CAPACITY_PERIOD_LABELS[self])


CAPACITY_PERIOD_LABELS = {
    CapacityPeriod.TERM: _l("per term"),
    CapacityPeriod.YEAR: _l("per school year"),
}


def enum_column(enum_class: type[enum.Enum], length: int = 30) -> sa.Enum:
    """A portable enum column storing the members' values as strings."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


organisation_tags = sa.Table(
    "organisation_tags",
    db.metadata,
    sa.Column(
        "organisation_id",
        sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):  # type: ignore[name-defined]
    """A free label officers put on organisations (e.g. "automotive cluster")."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)


class Organisation(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """An employer the provider works with or wants to work with."""

    __tablename__ = "organisations"
    __table_args__ = (
        # The list's order among active organisations (the first page reads 50 index entries).
        sa.Index(
            "ix_organisations_active_sort",
            "sort_name",
            "id",
            sqlite_where=sa.text("archived_at IS NULL"),
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
        # The few archived organisations (the contact list leaves out their contacts).
        sa.Index(
            "ix_organisations_archived",
            "archived_at",
            sqlite_where=sa.text("archived_at IS NOT NULL"),
            postgresql_where=sa.text("archived_at IS NOT NULL"),
        ),
        # Substring search on PostgreSQL (pg_trgm); SQLite has the FTS5 table
        # organisation_search instead, created by the migration.
        sa.Index(
            "ix_organisations_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        sa.CheckConstraint("capacity_pledge >= 0", name="capacity_pledge_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    trading_name: Mapped[str] = mapped_column(sa.String(200), default="")
    registration_number: Mapped[str] = mapped_column(sa.String(60), default="")
    nace_code: Mapped[str] = mapped_column(sa.String(8), index=True)
    size_band: Mapped[SizeBand | None] = mapped_column(enum_column(SizeBand))
    country: Mapped[str] = mapped_column(sa.String(2), index=True)
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    address: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    capacity_pledge: Mapped[int] = mapped_column(default=0)
    capacity_period: Mapped[CapacityPeriod] = mapped_column(
        enum_column(CapacityPeriod), default=CapacityPeriod.YEAR
    )
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    archived_at: Mapped[dt.datetime | None]
    duplicate_reason: Mapped[str] = mapped_column(sa.Text, default="")

    # Derived keys, kept by the service: duplicate detection, sorting and accent-free search.
    sort_name: Mapped[str] = mapped_column(sa.String(200), default="")
    name_key: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    website_domain: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    registration_key: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    owner: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary=organisation_tags, lazy="raise", order_by=Tag.name
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organisation", lazy="raise", order_by="Contact.last_name"
    )

    @property
    def display_name(self) -> str:
        """The trading name when it differs, else the legal name."""
        return self.trading_name or self.legal_name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.legal_name!r}>"
