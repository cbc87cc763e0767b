"""The partnership record."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin
from crm.extensions import db
from crm.health.models import HealthMixin
from crm.workflow.models import WorkflowMixin

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.organisations.models import Organisation


class Partnership(HealthMixin, WorkflowMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The provider's relationship with one organisation, moving through the methodology."""

    __tablename__ = "partnerships"
    __table_args__ = (
        # The list's order, and the board's counts and first cards per state.
        sa.Index("ix_partnerships_list", "workflow_name", "state_entered_at", "id"),
        sa.Index("ix_partnerships_state_order", "workflow_name", "state", "state_entered_at", "id"),
        sa.Index("ix_partnerships_timer", "state", "state_entered_at"),
        # Sorting and filtering by health score: the list, and the board's cards per state.
        sa.Index("ix_partnerships_health", "workflow_name", "health_score", "id"),
        sa.Index("ix_partnerships_state_health", "workflow_name", "state", "health_score", "id"),
        # The few partnerships whose score a change made stale (crm.health.jobs).
        sa.Index(
            "ix_partnerships_health_stale",
            "health_stale_at",
            sqlite_where=sa.text("health_stale_at IS NOT NULL"),
            postgresql_where=sa.text("health_stale_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    needs_summary: Mapped[str] = mapped_column(sa.Text, default="")
    memorandum_signed_on: Mapped[dt.date | None]
    review_notes: Mapped[str] = mapped_column(sa.Text, default="")
    closed_reason: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship(lazy="raise")
    owner: Mapped[User] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<Partnership {self.id} {self.state}>"


# Highest score first with the unscored last: PostgreSQL reads the health indexes above
# backwards with NULLs first, so it needs these (SQLite sorts NULLs lowest, so reading them
# backwards suits it).
sa.Index(
    "ix_partnerships_health_desc",
    Partnership.workflow_name,
    Partnership.health_score.desc().nulls_last(),
    Partnership.id.desc(),
).ddl_if(dialect="postgresql")
sa.Index(
    "ix_partnerships_state_health_desc",
    Partnership.workflow_name,
    Partnership.state,
    Partnership.health_score.desc().nulls_last(),
    Partnership.id.desc(),
).ddl_if(dialect="postgresql")
