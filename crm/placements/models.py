"""The placement record: one learner at one organisation for a period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import TimestampMixin
from crm.extensions import db
from crm.workflow.models import WorkflowMixin

if TYPE_CHECKING:
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.learners.models import Learner, Programme
    from crm.organisations.models import Organisation
    from crm.partnerships.models import Partnership

# States in which a placement no longer holds its period: the learner may be placed again
# in those dates. Only this transition clears `period_held`, so no move can ever make two
# placements of a learner overlap that did not before.
RELEASED_STATES = frozenset({"cancelled"})

# The rule "a learner's held placements never overlap" is enforced by the database:
# PostgreSQL: an exclusion constraint (btree_gist) on (learner_id, daterange(start, end, '[]'));
# SQLite: BEFORE INSERT/UPDATE triggers that abort (see the migration). Both name the error
# with this word so the service can tell it from other integrity errors.
OVERLAP_CONSTRAINT = "placements_no_overlap"


class Placement(WorkflowMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A learner's work placement, moving through the placement workflow."""

    __tablename__ = "placements"
    __table_args__ = (
        sa.Index("ix_placements_list", "workflow_name", "state_entered_at", "id"),
        sa.Index("ix_placements_state_order", "workflow_name", "state", "state_entered_at", "id"),
        sa.Index("ix_placements_timer", "state", "state_entered_at"),
        sa.Index("ix_placements_learner_period", "learner_id", "start_date"),
        # Capacity counts and matching read only this index (it carries every column they test).
        sa.Index(
            "ix_placements_organisation_period",
            "organisation_id",
            "start_date",
            "end_date",
            "period_held",
            "state",
        ),
        sa.CheckConstraint("end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("hours_target >= 0", name="hours_target_not_negative"),
        sa.CheckConstraint("hours_logged >= 0", name="hours_logged_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(sa.ForeignKey("learners.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    # Empty while the placement is only requested; set when it is matched.
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    partnership_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="SET NULL"), index=True
    )
    supervisor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    hours_target: Mapped[int] = mapped_column(default=0)
    hours_logged: Mapped[Decimal] = mapped_column(sa.Numeric(7, 1), default=Decimal(0))
    workplace_address: Mapped[str] = mapped_column(sa.Text, default="")
    role_description: Mapped[str] = mapped_column(sa.Text, default="")
    learning_objectives: Mapped[str] = mapped_column(sa.Text, default="")
    guardian_consent_on: Mapped[dt.date | None]
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")
    hours_shortfall_reason: Mapped[str] = mapped_column(sa.Text, default="")
    period_held: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    learner: Mapped[Learner] = relationship(lazy="raise")
    programme: Mapped[Programme] = relationship(lazy="raise")
    organisation: Mapped[Organisation | None] = relationship(lazy="raise")
    partnership: Mapped[Partnership | None] = relationship(lazy="raise")
    supervisor: Mapped[Contact | None] = relationship(lazy="raise")
    officer: Mapped[User] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<Placement {self.id} {self.state}>"
