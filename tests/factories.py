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
