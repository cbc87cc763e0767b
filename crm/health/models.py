"""The health columns every partnership carries, and the daily history of its score."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db


class HealthMixin:
    """A partnership's current score, its breakdown, when it was computed, and whether a
    change since then asks for it again (`health_stale_at`, set by crm.health.stale)."""

    # 0 to 100; NULL in a final stage or before the first computation.
    health_score: Mapped[int | None]
    # [{key, weight, lost, reason, params}, ...] as crm.health.score.ComponentScore.as_json.
    health_components: Mapped[list[dict[str, Any]] | None] = mapped_column(
        sa.JSON(none_as_null=True)
    )
    health_computed_at: Mapped[dt.datetime | None]
    health_stale_at: Mapped[dt.datetime | None]


class PartnershipHealthDay(db.Model):  # type: ignore[name-defined]
    """A partnership's score on one day (the provider's date): the last one computed that day."""

    __tablename__ = "partnership_health_days"

    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    score: Mapped[int]
