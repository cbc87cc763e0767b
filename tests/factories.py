"""Builders for test data that go through the services, so derived fields are right."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from argon2 import PasswordHasher

from crm.activities.models import Activity, ActivityKind
from crm.activities.service import ActivityValues, log_activity
from crm.auth.models import Role, User
from crm.contacts.models import Contact, ContactRole
from crm.contacts.service import ContactValues, create_contact
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.organisations.service import OrganisationValues, create_organisation

PASSWORD = "password"
# Hashed once: argon2 is deliberately slow, and tests create many users.
_PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
_sequence = itertools.count(1)


def make_user(role: Role | str = Role.OFFICER, **overrides: Any) -> User:
    """A staff account whose password is `password`."""
    n = next(_sequence)
    role = Role(role)
    user = User(
        email=overrides.pop("email", f"{role.value}{n}@example.test"),
        name=overrides.pop("name", f"{role.value.title()} {n}"),
        role=role,
        password_hash=_PASSWORD_HASH,
        timezone=overrides.pop("timezone", "Europe/Brussels"),
        **overrides,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_organisation(owner: User, **overrides: Any) -> Organisation:
    """An organisation owned by `owner`; unique name unless given."""
    n = next(_sequence)
    duplicate_reason = overrides.pop("duplicate_reason", "")
    values = OrganisationValues(
        legal_name=overrides.pop("legal_name", f"Test Organisation {n} GmbH"),
        nace_code=overrides.pop("nace_code", "25"),
        country=overrides.pop("country", "DE"),
        city=overrides.pop("city", "Köln"),
        **overrides,
    )
    organisation = create_organisation(values, owner, duplicate_reason=duplicate_reason)
    db.session.commit()
    return organisation


def make_contact(
    organisation: Organisation, acting: User | None = None, **overrides: Any
) -> Contact:
    """A contact at `organisation`, created as its owner unless `acting` is given."""
    n = next(_sequence)
    acting = acting or db.session.get(User, organisation.owner_id)
    assert acting is not None
    values = ContactValues(
        first_name=overrides.pop("first_name", f"Person{n}"),
        last_name=overrides.pop("last_name", f"Surname{n}"),
        role=ContactRole(overrides.pop("role", ContactRole.FOCAL_PERSON)),
        email=overrides.pop("email", f"person{n}@employer.test"),
        **overrides,
    )
    contact = create_contact(organisation, values, acting)
    db.session.commit()
    return contact


def make_activity(
    organisation: Organisation,
    author: User,
    kind: ActivityKind | str = ActivityKind.CALL,
    occurred_at: dt.datetime | None = None,
    **overrides: Any,
) -> Activity:
    """An activity on an organisation's timeline."""
    values = ActivityValues(
        kind=ActivityKind(kind),
        occurred_at=occurred_at or utcnow() - dt.timedelta(hours=1),
        subject=overrides.pop("subject", "Talked about placements"),
        **overrides,
    )
    activity = log_activity(organisation, values, author)
    db.session.commit()
    return activity


def make_programme(acting: User | None = None, **overrides: Any) -> Any:
    """A programme with one cohort "2026/27" (Sept 2026 to July 2027) unless `cohort=None`.

    Created by a new manager unless `acting` is given.
    """
    from crm.learners.programmes import CohortValues, ProgrammeValues, add_cohort, create_programme

    n = next(_sequence)
    acting = acting or make_user(Role.MANAGER)
    cohort_name = overrides.pop("cohort", "2026/27")
    values = ProgrammeValues(
        name=overrides.pop("name", f"Programme {n}"),
        code=overrides.pop("code", f"PRG-{n}"),
        eqf_level=overrides.pop("eqf_level", 4),
        sector=overrides.pop("sector", "C"),
        **overrides,
    )
    programme = create_programme(values, acting)
    if cohort_name is not None:
        add_cohort(
            programme,
            CohortValues(
                name=cohort_name, starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 7, 31)
            ),
            acting,
        )
    db.session.commit()
    return programme


def make_cohort(programme: Any, acting: User | None = None, **overrides: Any) -> Any:
    """A cohort (programme year) of `programme`; September to July of `year` by default."""
    from crm.learners.programmes import CohortValues, add_cohort

    year = overrides.pop("year", 2027)
    values = CohortValues(
        name=overrides.pop("name", f"{year}/{(year + 1) % 100:02d}"),
        starts_on=overrides.pop("starts_on", dt.date(year, 9, 1)),
        ends_on=overrides.pop("ends_on", dt.date(year + 1, 7, 31)),
    )
    cohort = add_cohort(programme, values, acting or make_user(Role.MANAGER))
    db.session.commit()
    return cohort


def make_learner(officer: User, programme: Any = None, cohort: Any = None, **overrides: Any) -> Any:
    """A learner looked after by `officer`, in `programme` (a new one unless given) and
    `cohort` (the programme's newest unless given)."""
    import sqlalchemy as sa

    from crm.contacts.models import ConsentBasis
    from crm.learners.models import Cohort
    from crm.learners.service import LearnerValues, create_learner

    n = next(_sequence)
    programme = programme or make_programme()
    if cohort is None:
        cohort = db.session.scalars(
            sa.select(Cohort)
            .where(Cohort.programme_id == programme.id)
            .order_by(Cohort.starts_on.desc())
        ).first()
        assert cohort is not None, "the programme has no cohort"
    values = LearnerValues(
        first_name=overrides.pop("first_name", f"Learner{n}"),
        last_name=overrides.pop("last_name", f"Family{n}"),
        email=overrides.pop("email", f"learner{n}@school.test"),
        programme_id=programme.id,
        cohort_id=cohort.id,
        consent_basis=ConsentBasis(overrides.pop("consent_basis", ConsentBasis.CONTRACT)),
        birth_date=overrides.pop("birth_date", dt.date(2005, 5, 17)),
        **overrides,
    )
    learner = create_learner(values, officer)
    db.session.commit()
    return learner


def make_placement(
    learner: Any,
    state: str | None = None,
    entered_at: dt.datetime | None = None,
    organisation: Organisation | None = None,
    **fields: Any,
) -> Any:
    """A placement of `learner` requested by the learner's officer, then put at `organisation`
    (with its partnership, if any) and in `state` if given; other fields are set as given."""
    from crm.partnerships.models import Partnership
    from crm.placements.adapter import organisation_partnership
    from crm.placements.service import PlacementValues, request_placement

    officer = db.session.get(User, learner.officer_id)
    assert officer is not None
    placement = request_placement(
        learner,
        officer,
        PlacementValues(
            start_date=fields.pop("start_date", None),
            end_date=fields.pop("end_date", None),
            hours_target=fields.pop("hours_target", 0),
        ),
    )
    if organisation is not None:
        placement.organisation_id = organisation.id
        placement.partnership_id = db.session.scalar(
            organisation_partnership(organisation.id, Partnership.id)
        )
    if state is not None:
        placement.state = state
    if entered_at is not None or state is not None:
        placement.state_entered_at = entered_at or utcnow()
    for name, value in fields.items():
        setattr(placement, name, value)
    db.session.commit()
    return placement
