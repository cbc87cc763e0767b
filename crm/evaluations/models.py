"""An evaluation of a placement: the employer's ratings per programme skill, or the learner's
feedback.

A learner's feedback uses the same row: `satisfaction`, `comments` (what went well, then
what could be better), and `host_again` for "would you recommend this workplace to another
learner?". The rest of the learner's answer (how far the placement helped them reach the
learning objectives, 1 to 5, and the two comments apart) is kept, as every decision is, in the
`decision_data` of the link that carried it (templates/evaluations/_panel.html reads it).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import CapacityPeriod, enum_column

if TYPE_CHECKING:
    from crm.learners.models import ProgrammeOutcome
    from crm.links.models import ActionLink


class EvaluationKind(enum.StrEnum):
    """Who evaluated."""

    EMPLOYER = "employer"
    LEARNER = "learner"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    EvaluationKind.EMPLOYER: _l("Employer's evaluation"),
    EvaluationKind.LEARNER: _l("Learner's feedback"),
}


class Evaluation(db.Model):  # type: ignore[name-defined]
    """One evaluation of one placement, given through an action link (or entered by staff)."""

    __tablename__ = "evaluations"
    __table_args__ = (
        sa.UniqueConstraint("placement_id", "kind"),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        sa.CheckConstraint("host_again_count >= 0", name="host_again_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(sa.ForeignKey("placements.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    kind: Mapped[EvaluationKind] = mapped_column(enum_column(EvaluationKind))
    link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("action_links.id"))
    evaluator_name: Mapped[str] = mapped_column(sa.String(200), default="")
    satisfaction: Mapped[int]
    comments: Mapped[str] = mapped_column(sa.Text, default="")
    # Employer: would they host again, how many learners, over which period, from when.
    # Learner: `host_again` only, for "would you recommend this workplace to another learner?".
    host_again: Mapped[bool | None]
    host_again_count: Mapped[int | None]
    host_again_period: Mapped[CapacityPeriod | None] = mapped_column(enum_column(CapacityPeriod))
    host_again_from: Mapped[dt.date | None]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    ratings: Mapped[list[EvaluationRating]] = relationship(
        lazy="raise", cascade="all, delete-orphan", back_populates="evaluation"
    )
    link: Mapped[ActionLink | None] = relationship(lazy="raise")


class EvaluationRating(db.Model):  # type: ignore[name-defined]
    """The rating of one programme skill: 1 to 5, or NULL for "not observed"."""

    __tablename__ = "evaluation_ratings"
    __table_args__ = (
        sa.UniqueConstraint("evaluation_id", "outcome_id"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    outcome_id: Mapped[int] = mapped_column(sa.ForeignKey("programme_outcomes.id"), index=True)
    rating: Mapped[int | None]

    evaluation: Mapped[Evaluation] = relationship(lazy="raise", back_populates="ratings")
    outcome: Mapped[ProgrammeOutcome] = relationship(lazy="raise")
