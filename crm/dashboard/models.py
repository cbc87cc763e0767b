"""The dashboard's pre-aggregated numbers and the record of each time they were computed.

`dashboard_facts` is a plain table (no primary key, no foreign keys): `crm.dashboard.facts`
deletes and rebuilds all of it in one transaction, so rows have no identity worth keeping
and ids would only wear out a sequence. A row is a count (and a sum, `total`) of one metric
for one combination of dimensions at one grain; see crm.dashboard.facts for what each metric
holds.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import UTCDateTime
from crm.extensions import db

dashboard_facts = sa.Table(
    "dashboard_facts",
    db.metadata,
    # What is counted (crm.dashboard.facts.METRICS) and at which grain: the dimensions kept,
    # as letters of "psco" (programme, sector, country, officer); "" for the totals.
    sa.Column("metric", sa.String(20), nullable=False),
    sa.Column("grain", sa.String(4), nullable=False),
    # The month (its first day) the row counts in; for cohorts their first and last day; for
    # the learners' placement months, the month of the learner's previous placement.
    sa.Column("month", sa.Date),
    sa.Column("month2", sa.Date),
    sa.Column("programme_id", sa.Integer),
    sa.Column("sector", sa.String(1)),  # NACE section letter of the organisation
    sa.Column("country", sa.String(2)),
    sa.Column("officer_id", sa.Integer),
    sa.Column("key", sa.String(60), nullable=False, server_default=""),  # e.g. a state
    sa.Column("key_id", sa.Integer),  # e.g. a programme outcome
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Float),  # a sum to average with `count` (satisfaction, ratings)
    # Every reading picks one metric and grain. Coarse grains are a few thousand rows at
    # most (read whole, through either index); the finest grain is read only with an officer
    # or a programme chosen (no grain between answers it), through that one's index. A third
    # index, by month, would cost more to keep up at each refresh than it saves.
    sa.Index("ix_dashboard_facts_officer", "metric", "grain", "officer_id", "month"),
    sa.Index("ix_dashboard_facts_programme", "metric", "grain", "programme_id", "month"),
)


class DashboardRefresh(db.Model):  # type: ignore[name-defined]
    """One computation of the facts: when (the page says how fresh its numbers are) and how
    long it took."""

    __tablename__ = "dashboard_refreshes"

    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    seconds: Mapped[float]
    facts: Mapped[int] = mapped_column(default=0)  # rows written
    # Per workflow, the stages in the order the bits of the "stages reached" masks stand for
    # ({"partnership": [...], "placement": [...]}): a later change of the workflow files
    # cannot misread the facts counted before it.
    stages: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
