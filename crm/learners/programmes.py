"""Programmes: their skills or learning outcomes and their cohorts (programme years).

Managers and admins create and change them; every account reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme, ProgrammeOutcome
from crm.learners.service import LearnerError
from crm.organisations import nace

OUTCOME_MAX_LENGTH = 300  # ProgrammeOutcome.text


@dataclass(frozen=True)
class ProgrammeValues:
    """What a form hands the service to create or change a programme."""

    name: str
    code: str
    eqf_level: int
    sector: str
    description: str = ""
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CohortValues:
    """A programme year: its name (e.g. "2026/27") and dates."""

    name: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass
class ProgrammeRow:
    """A programme on the list page with its learner count."""

    programme: Programme
    learners_count: int = 0


def can_manage_programmes(user: User) -> bool:
    """Managers and admins create and change programmes and cohorts; officers read them."""
    return user.sees_everything


def parse_outcomes(raw: str) -> tuple[str, ...]:
    """One outcome per line: trimmed, inner spaces collapsed, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for line in raw.splitlines():
        text = " ".join(line.split())
        if text:
            seen[text] = None
    return tuple(seen)


# --- programmes: reading --------------------------------------------------------------------


def get_programme(programme_id: int) -> Programme | None:
    """A programme with its outcomes and cohorts."""
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.id == programme_id)
        .options(selectinload(Programme.outcomes), selectinload(Programme.cohorts))
    )


def list_programmes(include_archived: bool = False) -> list[ProgrammeRow]:
    """Every programme with its cohorts and active learner count, in three statements."""
    query = (
        sa.select(Programme)
        .options(selectinload(Programme.cohorts))
        .order_by(Programme.archived_at.is_not(None), Programme.name, Programme.id)
    )
    if not include_archived:
        query = query.where(Programme.archived_at.is_(None))
    programmes = db.session.scalars(query).all()
    rows = db.session.execute(
        sa.select(Learner.programme_id, sa.func.count())
        .where(Learner.archived_at.is_(None))
        .group_by(Learner.programme_id)
    )
    counts: dict[int, int] = dict(rows.all())  # dict(Result) would take it for a mapping
    return [ProgrammeRow(programme=p, learners_count=counts.get(p.id, 0)) for p in programmes]


def cohort_learner_counts(programme_id: int) -> dict[int, int]:
    """Active learners per cohort of a programme."""
    rows = db.session.execute(
        sa.select(Learner.cohort_id, sa.func.count())
        .where(Learner.programme_id == programme_id, Learner.archived_at.is_(None))
        .group_by(Learner.cohort_id)
    )
    return dict(rows.all())


# --- programmes: writing --------------------------------------------------------------------


def _check_programme(values: ProgrammeValues, programme_id: int | None) -> str:
    code = values.code.strip().upper()
    if not code:
        raise LearnerError(_("Enter a code."), "code")
    if values.sector not in nace.SECTIONS:
        raise LearnerError(_("Choose a sector from the NACE list."), "sector")
    if not 1 <= values.eqf_level <= 8:
        raise LearnerError(_("The EQF level is between 1 and 8."), "eqf_level")
    if any(len(text) > OUTCOME_MAX_LENGTH for text in values.outcomes):
        raise LearnerError(
            _("Each outcome can be at most %(num)d characters long.", num=OUTCOME_MAX_LENGTH),
            "outcomes",
        )
    taken = sa.select(Programme.id).where(sa.func.upper(Programme.code) == code)
    if programme_id is not None:
        taken = taken.where(Programme.id != programme_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise LearnerError(_("Another programme already has the code %(code)s.", code=code), "code")
    return code


def _apply_outcomes(programme: Programme, texts: Sequence[str]) -> None:
    """Make `texts` the programme's outcomes, in order, keeping the rows of unchanged texts.

    Evaluations will refer to outcome ids, so an outcome whose text is kept keeps its row;
    an outcome no longer listed is retired (kept, no longer asked), and one listed again
    comes back. Positions are unique per programme, so they are moved out of the way first.
    """
    existing = list(programme.outcomes)
    by_text: dict[str, ProgrammeOutcome] = {}
    for outcome in existing:
        by_text.setdefault(outcome.text, outcome)
    if existing:
        for n, outcome in enumerate(existing, start=1):
            outcome.position = -n
        db.session.flush()
    kept: list[ProgrammeOutcome] = []
    for text in texts:
        reused = by_text.pop(text, None)
        outcome = reused if reused is not None else ProgrammeOutcome(text=text, position=0)
        outcome.retired = False
        kept.append(outcome)
    retired = [o for o in existing if not any(o is k for k in kept)]
    for outcome in retired:
        outcome.retired = True
    # Active outcomes first in the given order, then the retired ones in their old order.
    for n, outcome in enumerate([*kept, *retired], start=1):
        outcome.position = n
    programme.outcomes = [*kept, *retired]


def _apply_programme(programme: Programme, values: ProgrammeValues, code: str) -> None:
    programme.name = values.name.strip()
    programme.code = code
    programme.eqf_level = values.eqf_level
    programme.sector = values.sector
    programme.description = values.description.strip()


def create_programme(values: ProgrammeValues, acting: User) -> Programme:
    """Add a programme with its outcomes (managers and admins)."""
    if not can_manage_programmes(acting):
        raise PermissionError("not allowed")
    code = _check_programme(values, None)
    programme = Programme(outcomes=[], cohorts=[])
    _apply_programme(programme, values, code)
    db.session.add(programme)
    db.session.flush()
    _apply_outcomes(programme, values.outcomes)
    db.session.flush()
    return programme


def update_programme(programme: Programme, values: ProgrammeValues, acting: User) -> None:
    """Change a programme and its outcomes (loaded with `get_programme`)."""
    if not can_manage_programmes(acting):
        raise PermissionError("not allowed")
    code = _check_programme(values, programme.id)
    _apply_programme(programme, values, code)
    _apply_outcomes(programme, values.outcomes)
    db.session.flush()


def set_programme_archived(programme: Programme, archived: bool, acting: User) -> None:
    """Archive a programme (no longer offered in choice lists) or restore it."""
    if not can_manage_programmes(acting):
        raise PermissionError("not allowed")
    programme.archived_at = utcnow() if archived else None
    db.session.flush()


def _check_cohort(programme: Programme, values: CohortValues, cohort_id: int | None) -> str:
    name = " ".join(values.name.split())
    if not name:
        raise LearnerError(_("Enter a name such as 2026/27."), "name")
    if values.ends_on <= values.starts_on:
        raise LearnerError(_("The programme year must end after it starts."), "ends_on")
    taken = sa.select(Cohort.id).where(Cohort.programme_id == programme.id, Cohort.name == name)
    if cohort_id is not None:
        taken = taken.where(Cohort.id != cohort_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise LearnerError(
            _("This programme already has a cohort named %(name)s.", name=name), "name"
        )
    return name


def add_cohort(programme: Programme, values: CohortValues, acting: User) -> Cohort:
    """Add a programme year to a programme."""
    if not can_manage_programmes(acting):
        raise PermissionError("not allowed")
    name = _check_cohort(programme, values, None)
    cohort = Cohort(
        programme_id=programme.id, name=name, starts_on=values.starts_on, ends_on=values.ends_on
    )
    db.session.add(cohort)
    db.session.flush()
    return cohort


def update_cohort(cohort: Cohort, programme: Programme, values: CohortValues, acting: User) -> None:
    """Rename a programme year or change its dates."""
    if not can_manage_programmes(acting):
        raise PermissionError("not allowed")
    if cohort.programme_id != programme.id:
        raise PermissionError("not this programme's cohort")
    cohort.name = _check_cohort(programme, values, cohort.id)
    cohort.starts_on, cohort.ends_on = values.starts_on, values.ends_on
    db.session.flush()
