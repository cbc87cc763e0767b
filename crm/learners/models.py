"""Programmes, their cohorts (a programme year), learning outcomes, and learners."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.contacts.models import ConsentBasis
from crm.db import TimestampMixin
from crm.extensions import db
from crm.organisations.models import enum_column

if TYPE_CHECKING:
    from crm.auth.models import User


class Programme(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A course of vocational education, e.g. "Mechatronics technician" at EQF level 4."""

    __tablename__ = "programmes"
    __table_args__ = (sa.CheckConstraint("eqf_level BETWEEN 1 AND 8", name="eqf_level_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    code: Mapped[str] = mapped_column(sa.String(30), unique=True)
    eqf_level: Mapped[int]
    # A NACE section letter (crm.organisations.nace.SECTIONS): the employers it matches.
    sector: Mapped[str] = mapped_column(sa.String(1), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    archived_at: Mapped[dt.datetime | None]

    outcomes: Mapped[list[ProgrammeOutcome]] = relationship(
        lazy="raise",
        order_by="ProgrammeOutcome.position",
        cascade="all, delete-orphan",
        back_populates="programme",
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        lazy="raise", order_by="Cohort.starts_on.desc()", back_populates="programme"
    )

    def __repr__(self) -> str:
        return f"<Programme {self.id} {self.code}>"


class ProgrammeOutcome(db.Model):  # type: ignore[name-defined]
    """A skill or learning outcome of a programme; employer evaluations rate these."""

    __tablename__ = "programme_outcomes"
    __table_args__ = (sa.UniqueConstraint("programme_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(sa.String(300))
    # Retired outcomes stay for the evaluations that rated them, but are no longer asked.
    retired: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    programme: Mapped[Programme] = relationship(lazy="raise", back_populates="outcomes")


class Cohort(db.Model):  # type: ignore[name-defined]
    """The learners of a programme in one programme year (placements must fall inside it)."""

    __tablename__ = "cohorts"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "name"),
        sa.CheckConstraint("ends_on > starts_on", name="year_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(60))  # e.g. "2026/27"
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]

    programme: Mapped[Programme] = relationship(lazy="raise", back_populates="cohorts")

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.name}>"


class Learner(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A learner who goes on placements.

    `support_needs` is special-category data: only the learner's officer, managers and
    admins may read it (crm.learners.service.can_see_support_needs); it never appears in a
    list, an export, an API answer or an e-mail.
    """

    __tablename__ = "learners"
    __table_args__ = (
        sa.Index(
            "ix_learners_active_sort",
            "sort_name",
            "id",
            sqlite_where=sa.text("archived_at IS NULL"),
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
        sa.Index(
            "ix_learners_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"), index=True)
    birth_date: Mapped[dt.date | None]
    consent_basis: Mapped[ConsentBasis] = mapped_column(enum_column(ConsentBasis))
    guardian_name: Mapped[str] = mapped_column(sa.String(200), default="")
    guardian_email: Mapped[str] = mapped_column(sa.String(254), default="")
    support_needs: Mapped[str] = mapped_column(sa.Text, default="")
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    archived_at: Mapped[dt.datetime | None]
    # Derived, kept by the service: list order and accent-free search.
    sort_name: Mapped[str] = mapped_column(sa.String(200), default="")
    search_text: Mapped[str] = mapped_column(sa.Text, default="")

    programme: Mapped[Programme] = relationship(lazy="raise")
    cohort: Mapped[Cohort] = relationship(lazy="raise")
    officer: Mapped[User] = relationship(lazy="raise")

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __repr__(self) -> str:
        return f"<Learner {self.id}>"
