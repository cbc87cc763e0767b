"""Capacity and matching: which organisations can take a learner in a period.

An organisation pledges `capacity_pledge` learners per `capacity_period`: per school year
(counted over the programme year of the learner's cohort) or per term (counted over the
placement's own dates). A place is taken by a placement at the organisation that holds its
period and is past the request (matched or later), unless the employer declined it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from crm.contacts.models import Contact, ContactRole
from crm.extensions import db
from crm.learners.models import Cohort, Programme
from crm.organisations import nace
from crm.organisations.models import CapacityPeriod, Organisation
from crm.partnerships import service as partnerships
from crm.partnerships.models import Partnership
from crm.placements.adapter import definition
from crm.placements.models import Placement
from crm.placements.service import MAX_PLACEMENT_DAYS

# The state a partnership must be in for its organisation to take learners (as the guard
# of the placement workflow's `match` asks).
ACTIVE_PARTNERSHIP = "active"
# Placements that do not take one of the organisation's places: still a request, or the
# employer said no (the learner keeps the period while a new match is found).
DECLINED = "declined"


def not_taking_a_place() -> list[str]:
    """States whose placements leave the organisation's places free."""
    return [definition().initial, DECLINED]


@dataclass(frozen=True)
class Period:
    """Inclusive dates."""

    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class CapacityUse:
    """How many of an organisation's pledged places are taken in a period."""

    pledged: int
    taken: int
    period: CapacityPeriod
    dates: Period
    # Whether this placement would be one too many (it is counted in `taken` if it takes a place).
    exceeded: bool = False

    @property
    def free(self) -> int:
        return max(0, self.pledged - self.taken)


def _taking_places(
    starts_on: dt.date | sa.ColumnElement[dt.date], ends_on: dt.date | sa.ColumnElement[dt.date]
) -> list[sa.ColumnElement[bool]]:
    """Placements that take a place on some day from `starts_on` to `ends_on`.

    Only a range of the (organisation_id, start_date) index is read: a placement lasts at
    most MAX_PLACEMENT_DAYS (the service refuses longer ones), so one that ends on or after
    `starts_on` began at most that long before the earliest start asked about.
    """
    return [
        Placement.start_date <= ends_on,
        Placement.end_date >= starts_on,
        Placement.period_held.is_(True),
        Placement.state.not_in(not_taking_a_place()),
    ]


def _earliest_start(*periods: Period) -> dt.date:
    return min(p.starts_on for p in periods) - dt.timedelta(days=MAX_PLACEMENT_DAYS)


def capacity_dates(
    period: CapacityPeriod, year: Period, start: dt.date | None, end: dt.date | None
) -> Period:
    """The dates a pledge counts over: the programme year, or the placement's own dates."""
    if period == CapacityPeriod.TERM and start is not None and end is not None:
        return Period(start, end)
    return year


def placement_capacity(placement: Placement) -> CapacityUse | None:
    """The capacity of the placement's organisation in its period (None without one).

    Needs the placement's organisation and learner's cohort loaded (as get_placement does).
    """
    organisation = placement.organisation
    if organisation is None:
        return None
    cohort = placement.learner.cohort
    dates = capacity_dates(
        organisation.capacity_period,
        Period(cohort.starts_on, cohort.ends_on),
        placement.start_date,
        placement.end_date,
    )
    rows = db.session.execute(
        sa.select(Placement.id).where(
            Placement.organisation_id == organisation.id,
            Placement.start_date >= _earliest_start(dates),
            *_taking_places(dates.starts_on, dates.ends_on),
        )
    )
    ids = {row.id for row in rows}
    others = len(ids - {placement.id})
    return CapacityUse(
        pledged=organisation.capacity_pledge,
        taken=len(ids),
        period=organisation.capacity_period,
        dates=dates,
        exceeded=others + 1 > organisation.capacity_pledge,
    )


@dataclass
class Candidate:
    """An organisation a learner could go to, with its places and workplace supervisors."""

    organisation: Organisation
    partnership_id: int
    capacity: CapacityUse
    supervisors: list[Contact] = field(default_factory=list)


@dataclass(frozen=True)
class Matches:
    """The organisations found for a learner in a period (at most `limit` of `total`)."""

    candidates: list[Candidate]
    total: int
    year: Period
    term: Period
    sector: str


def find_matches(
    programme: Programme,
    cohort: Cohort,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 50,
    include_full: bool = False,
) -> Matches:
    """Organisations in the programme's sector with an active partnership and free places.

    The period is the cohort's programme year unless dates narrow it. Most free places
    first, then by name. Two statements whatever the number of organisations: the
    organisations with their places taken (per candidate a count over a range of the
    (organisation_id, start_date) index, inside the same statement), and their workplace
    supervisors.
    """
    year = Period(cohort.starts_on, cohort.ends_on)
    term = Period(start or year.starts_on, end or year.ends_on)
    wf = partnerships.definition()

    active = (
        sa.select(
            Partnership.organisation_id.label("organisation_id"),
            sa.func.min(Partnership.id).label("partnership_id"),
        )
        .where(Partnership.workflow_name == wf.name, Partnership.state == ACTIVE_PARTNERSHIP)
        .group_by(Partnership.organisation_id)
        .subquery("active")
    )
    # Per candidate, its placements in the period: a range of the (organisation_id,
    # start_date) index, counted once per organisation (the CTE is materialised so that the
    # count is not repeated where the free places are filtered and sorted).
    is_term = Organisation.capacity_period == CapacityPeriod.TERM
    taken = (
        sa.select(sa.func.count())
        .where(
            Placement.organisation_id == Organisation.id,
            Placement.start_date >= _earliest_start(year, term),
            *_taking_places(
                sa.case((is_term, term.starts_on), else_=year.starts_on),
                sa.case((is_term, term.ends_on), else_=year.ends_on),
            ),
        )
        .correlate(Organisation)
        .scalar_subquery()
    )
    counted = (
        sa.select(
            Organisation.id.label("id"),
            active.c.partnership_id,
            Organisation.capacity_pledge.label("pledge"),
            taken.label("taken"),
        )
        .join(active, active.c.organisation_id == Organisation.id)
        .where(
            Organisation.archived_at.is_(None),
            Organisation.nace_code.in_(nace.divisions_in_section(programme.sector)),
            Organisation.capacity_pledge > 0,
        )
        .cte("counted")
        .prefix_with("MATERIALIZED")
    )
    free = counted.c.pledge - counted.c.taken
    query = (
        sa.select(
            Organisation,
            counted.c.partnership_id,
            counted.c.taken,
            sa.func.count().over().label("total"),
        )
        .join(counted, counted.c.id == Organisation.id)
        .options(
            load_only(
                Organisation.legal_name,
                Organisation.trading_name,
                Organisation.city,
                Organisation.country,
                Organisation.nace_code,
                Organisation.capacity_pledge,
                Organisation.capacity_period,
                Organisation.address,
            )
        )
        .order_by(free.desc(), Organisation.sort_name, Organisation.id)
        .limit(limit)
    )
    if not include_full:
        query = query.where(free > 0)
    rows = db.session.execute(query).all()
    found = [
        Candidate(
            organisation=organisation,
            partnership_id=partnership_id,
            capacity=CapacityUse(
                pledged=organisation.capacity_pledge,
                taken=n,
                period=organisation.capacity_period,
                dates=term if organisation.capacity_period == CapacityPeriod.TERM else year,
                exceeded=n + 1 > organisation.capacity_pledge,
            ),
        )
        for organisation, partnership_id, n, _total in rows
    ]
    _add_supervisors(found)
    total = rows[0].total if rows else 0
    return Matches(found, total, year, term, programme.sector)


def _add_supervisors(candidates: list[Candidate]) -> None:
    """The workplace supervisors of every candidate, in one statement."""
    if not candidates:
        return
    by_id: dict[int, Candidate] = {c.organisation.id: c for c in candidates}
    supervisors = db.session.scalars(
        sa.select(Contact)
        .options(
            load_only(
                Contact.organisation_id,
                Contact.first_name,
                Contact.last_name,
                Contact.email,
                Contact.role,
            )
        )
        .where(
            Contact.organisation_id.in_(list(by_id)),
            Contact.role == ContactRole.WORKPLACE_SUPERVISOR,
            Contact.archived_at.is_(None),
        )
        .order_by(Contact.sort_name, Contact.id)
    )
    for contact in supervisors:
        by_id[contact.organisation_id].supervisors.append(contact)
