"""Builders for placement tests: a learner and an employer ready to match, placements in any
stage, and readers for what the placement pages show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.config import PROJECT_ROOT
from crm.contacts.models import Contact, ContactRole
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme
from crm.organisations.models import CapacityPeriod, Organisation
from crm.placements.models import Placement
from crm.workflow.definitions import load_pack
from crm.workflow.models import WorkflowTransition
from tests.factories import (
    make_contact,
    make_learner,
    make_organisation,
    make_placement,
    make_programme,
    make_user,
)
from tests.workflow.support import make_partnership

PLACEMENT = load_pack(PROJECT_ROOT / "workflows").get("placement")

# The default programme year of tests.factories.make_programme.
YEAR_START, YEAR_END = dt.date(2026, 9, 1), dt.date(2027, 7, 31)
SPRING = (dt.date(2027, 3, 1), dt.date(2027, 4, 30))
AUTUMN = (dt.date(2026, 10, 1), dt.date(2026, 11, 30))


@dataclass
class World:
    """What most placement tests start from."""

    officer: User
    programme: Programme
    cohort: Cohort
    learner: Learner
    organisation: Organisation
    supervisor: Contact

    def placement(self, state: str | None = None, **fields: Any) -> Placement:
        """A placement of the learner at the organisation (in spring unless dates are given)."""
        fields.setdefault("start_date", SPRING[0])
        fields.setdefault("end_date", SPRING[1])
        organisation = fields.pop("organisation", self.organisation)
        return make_placement(self.learner, state, organisation=organisation, **fields)


def employer(
    owner: User,
    partnership_state: str | None = "active",
    pledge: int = 2,
    period: CapacityPeriod = CapacityPeriod.YEAR,
    **overrides: Any,
) -> Organisation:
    """An organisation (manufacturing, NACE 25, unless given) with a partnership in
    `partnership_state` (none if None) and a capacity pledge."""
    overrides.setdefault("nace_code", "25")
    organisation = make_organisation(
        owner, capacity_pledge=pledge, capacity_period=period, **overrides
    )
    if partnership_state is not None:
        make_partnership(owner, partnership_state, organisation=organisation)
    return organisation


def build_world(officer: User) -> World:
    """A learner (adult, cohort 2026/27, programme in sector C) and a ready employer."""
    programme = make_programme(make_user(Role.MANAGER), sector="C", name="Mechatronics")
    learner = make_learner(officer, programme, first_name="Lena", last_name="Lernend")
    cohort = db.session.get(Cohort, learner.cohort_id)
    assert cohort is not None
    organisation = employer(officer, legal_name="Werkzeugbau Kern GmbH", address="Hafenstr. 5")
    supervisor = make_contact(
        organisation,
        role=ContactRole.WORKPLACE_SUPERVISOR,
        first_name="Sven",
        last_name="Supervisor",
        email="sven@kern.test",
    )
    return World(officer, programme, cohort, learner, organisation, supervisor)


def history_of(placement: Placement) -> list[WorkflowTransition]:
    """The placement's transitions, oldest first."""
    return list(
        db.session.scalars(
            sa.select(WorkflowTransition)
            .where(
                WorkflowTransition.record_type == "placement",
                WorkflowTransition.record_id == placement.id,
            )
            .order_by(WorkflowTransition.id)
        )
    )


def in_database(placement: Placement) -> tuple[str, bool, int | None]:
    """(state, period_held, organisation_id) as the database has them."""
    row = db.session.execute(
        sa.select(Placement.state, Placement.period_held, Placement.organisation_id).where(
            Placement.id == placement.id
        )
    ).one()
    return row.state, row.period_held, row.organisation_id


def placements_of(learner: Learner) -> list[Placement]:
    """The learner's placements, oldest first, as the database has them now."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Placement).where(Placement.learner_id == learner.id).order_by(Placement.id)
        )
    )
