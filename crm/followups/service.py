"""Reading and changing follow-ups."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus


def open_follow_ups_for(record_type: str, record_id: int) -> list[FollowUp]:
    """The open follow-ups about one record, soonest first."""
    return list(
        db.session.scalars(
            sa.select(FollowUp)
            .where(
                FollowUp.record_type == record_type,
                FollowUp.record_id == record_id,
                FollowUp.status == FollowUpStatus.OPEN,
            )
            .options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.due_at)
        )
    )
