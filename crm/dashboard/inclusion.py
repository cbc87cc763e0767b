"""Inclusion: learners with support needs against all learners, per programme, and how many
of each had a placement starting in the period, shown only where no one can be singled out.

The counts come from the facts (crm.dashboard.facts: "learners" per cohort, "placed" per
learner's placement month), so a learner placed twice in the period counts once. Support
needs are only ever tested for being empty, in SQL: the text never leaves the database.

Protection (`protect`), kept simple: every count below the minimum group size is hidden
(None, shown as "fewer than N"), and so is every count whose difference with a shown count
would reveal a small group of learners with or without support needs (e.g. 9 learners with
needs of whom 8 were placed would tell that one of them was not). Only the counts of learners
with needs are hidden for that reason; a rate is hidden with either of its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from crm.dashboard.data import Filters, InclusionRow
from crm.dashboard.numbers import facts, facts_of
from crm.extensions import db
from crm.learners.models import Programme


@dataclass(frozen=True)
class InclusionCounts:
    """The true counts of one programme, before protection."""

    learners: int = 0
    placed: int = 0
    learners_with_needs: int = 0
    placed_with_needs: int = 0


def protect(
    programme_id: int, programme_name: str, counts: InclusionCounts, minimum: int
) -> InclusionRow:
    """The row as shown: small counts, and counts that give a small group away, hidden."""

    def shown(count: int) -> int | None:
        return None if count < minimum else count

    learners = shown(counts.learners)
    placed = shown(counts.placed)
    with_needs = shown(counts.learners_with_needs)
    placed_with_needs = shown(counts.placed_with_needs)
    # Learners without support needs = learners - with needs.
    if learners is not None and with_needs is not None and learners - with_needs < minimum:
        with_needs = None
    if placed_with_needs is not None:
        revealed = []
        if with_needs is not None:
            revealed.append(with_needs - placed_with_needs)  # with needs, not placed
        if placed is not None:
            revealed.append(placed - placed_with_needs)  # placed, without needs
        if None not in (learners, with_needs, placed):
            # Without needs and not placed.
            assert learners is not None and with_needs is not None and placed is not None
            revealed.append((learners - with_needs) - (placed - placed_with_needs))
        if any(count < minimum for count in revealed):
            placed_with_needs = None
    return InclusionRow(
        programme_id=programme_id,
        programme_name=programme_name,
        learners=learners,
        placed=placed,
        placed_rate=placed / learners if placed is not None and learners else None,
        learners_with_needs=with_needs,
        placed_with_needs=placed_with_needs,
        placed_with_needs_rate=(
            placed_with_needs / with_needs if placed_with_needs is not None and with_needs else None
        ),
    )


def inclusion_counts(filters: Filters) -> dict[int, InclusionCounts]:
    """The true counts per programme: learners in cohorts overlapping the period, and those
    with a placement starting in it (one statement)."""
    learners = sa.and_(
        facts.metric == "learners",
        facts.month <= filters.period_to,  # the cohort starts before the period ends
        facts.month2 >= filters.period_from,  # and ends after it starts
    )
    placed = sa.and_(
        facts.metric == "placed",
        facts.month.between(filters.period_from, filters.period_to),
        # The learner's first placement month in the period: none before it in the period.
        sa.or_(facts.month2.is_(None), facts.month2 < filters.period_from),
    )
    found: dict[int, dict[str, int]] = {}
    for programme_id, metric, key, count in db.session.execute(
        sa.select(facts.programme_id, facts.metric, facts.key, sa.func.sum(facts.count))
        .where(*facts_of(["learners", "placed"], filters), sa.or_(learners, placed))
        .group_by(facts.programme_id, facts.metric, facts.key)
    ):
        counts = found.setdefault(programme_id, {})
        name = metric + ("_with_needs" if key == "needs" else "")
        counts[name] = counts.get(name, 0) + int(count or 0)
    result = {}
    for programme_id, counts in found.items():
        learners_with_needs = counts.get("learners_with_needs", 0)
        placed_with_needs = counts.get("placed_with_needs", 0)
        result[programme_id] = InclusionCounts(
            learners=counts.get("learners", 0) + learners_with_needs,
            placed=counts.get("placed", 0) + placed_with_needs,
            learners_with_needs=learners_with_needs,
            placed_with_needs=placed_with_needs,
        )
    return result


def inclusion(filters: Filters, minimum: int) -> list[InclusionRow]:
    """Every programme that is not archived (the chosen one only), by name, protected."""
    counts = inclusion_counts(filters)
    programmes = (
        sa.select(Programme.id, Programme.name)
        .where(Programme.archived_at.is_(None))
        .order_by(Programme.name, Programme.id)
    )
    if filters.programme_id:
        programmes = programmes.where(Programme.id == filters.programme_id)
    return [
        protect(programme_id, name, counts.get(programme_id, InclusionCounts()), minimum)
        for programme_id, name in db.session.execute(programmes)
    ]
