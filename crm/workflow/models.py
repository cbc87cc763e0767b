"""Workflow state on records, the transition history, and stored definition versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crm.db import utcnow
from crm.extensions import db


class WorkflowMixin:
    """Columns every record on a workflow carries.

    `lock_version` is SQLAlchemy's version counter: an UPDATE that finds another version than
    the one it read changes nothing and fails, so two people cannot both move the record.
    """

    workflow_name: Mapped[str] = mapped_column(sa.String(60))
    workflow_version: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(60), index=True)
    state_entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checklist: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
    lock_version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.lock_version}


class WorkflowTransition(db.Model):  # type: ignore[name-defined]
    """One fired transition: who, when, from, to, which, with what comment."""

    __tablename__ = "workflow_transitions"
    __table_args__ = (
        sa.Index("ix_workflow_transitions_record", "record_type", "record_id", "occurred_at"),
        sa.Index("ix_workflow_transitions_organisation_time", "organisation_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int]
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    workflow_name: Mapped[str] = mapped_column(sa.String(60))
    workflow_version: Mapped[int]
    transition: Mapped[str] = mapped_column(sa.String(60))
    transition_label: Mapped[str] = mapped_column(sa.String(200))
    from_state: Mapped[str] = mapped_column(sa.String(60))
    to_state: Mapped[str] = mapped_column(sa.String(60))
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(200), default="")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkflowSnapshot(db.Model):  # type: ignore[name-defined]
    """A definition as it was when records first ran on it, kept for records on old versions."""

    __tablename__ = "workflow_snapshots"
    __table_args__ = (sa.UniqueConstraint("workflow_name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_name: Mapped[str] = mapped_column(sa.String(60))
    version: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
