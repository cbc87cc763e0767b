"""The demo data set: four logins and about sixty employers with people and timelines.

The plan is drawn from a fixed seed, so every load shows the same employers; dates are counted
back from the day of loading, so the timelines always cover the last twelve months. Loading
goes through the services, so every derived field is what the app itself would write.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.activities.service import ActivityValues, log_activity
from crm.auth.models import Role, User
from crm.auth.service import hash_password
from crm.contacts.service import ContactValues, create_contact
from crm.db import utcnow
from crm.demo.employers import ContactPlan, EmployerMaker, EmployerPlan
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.organisations.service import (
    OrganisationError,
    OrganisationValues,
    create_organisation,
)

DEMO_SEED = 2718
DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo logins
DEMO_COUNTRIES = ("DE", "PT", "GR", "NL", "FR", "ES", "IT", "AT", "IE", "PL")
DEMO_ORGANISATIONS = 60
DEMO_DUPLICATE_REASON = "Demo data set: a similar employer was already in the register."


@dataclass(frozen=True)
class DemoUser:
    """A demo login."""

    email: str
    name: str
    role: Role


DEMO_USERS = (
    DemoUser("admin@demo.test", "Ada Admin", Role.ADMIN),
    DemoUser("manager@demo.test", "Max Manager", Role.MANAGER),
    DemoUser("officer@demo.test", "Olivia Officer", Role.OFFICER),
    DemoUser("officer2@demo.test", "Oscar Officer", Role.OFFICER),
)
_MANAGER, _OFFICER, _OFFICER2 = (u.email for u in DEMO_USERS[1:])


@dataclass(frozen=True)
class PlannedEntry:
    """A timeline entry to log, dated in days before the day of loading."""

    kind: ActivityKind
    days_ago: int
    minute_of_day: int
    subject: str
    body: str
    contact: int | None
    author: str

    def occurred_at(self, today: dt.date) -> dt.datetime:
        """When it happened, in UTC office hours, never later than yesterday."""
        day = dt.datetime.combine(today - dt.timedelta(days=self.days_ago), dt.time(), dt.UTC)
        return day + dt.timedelta(minutes=self.minute_of_day)


@dataclass(frozen=True)
class DemoEmployer:
    """An employer of the demo, its owner's e-mail and its timeline."""

    plan: EmployerPlan
    owner: str
    entries: tuple[PlannedEntry, ...]

    @property
    def first_day_ago(self) -> int:
        """How many days ago the provider started working with the employer."""
        return max((e.days_ago for e in self.entries), default=1)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo load created."""

    users: int
    organisations: int
    contacts: int
    activities: int
    tags: int


def demo_plan(today: dt.date) -> list[DemoEmployer]:
    """The demo employers; the same names and day offsets on every call."""
    rng = random.Random(DEMO_SEED)
    maker = EmployerMaker(rng, today)
    employers = []
    for index in range(DEMO_ORGANISATIONS):
        country = DEMO_COUNTRIES[index % len(DEMO_COUNTRIES)]
        contacts = rng.choices((1, 2, 3, 4), weights=(15, 35, 30, 20))[0]
        plan = maker.employer(country, maker.sector(), contacts)
        draw = rng.random()
        owner = _OFFICER if draw < 0.45 else _OFFICER2 if draw < 0.9 else _MANAGER
        employers.append(DemoEmployer(plan, owner, _timeline(maker, plan, owner)))
    return employers


def _timeline(maker: EmployerMaker, plan: EmployerPlan, owner: str) -> tuple[PlannedEntry, ...]:
    """A few to fifteen entries between the first approach and the latest contact."""
    rng = maker.rng
    count = min(15, max(2, round(rng.gauss(6, 3.5))))
    start = rng.randint(45, 364)
    is_quiet = start > 120 and rng.random() < 0.3
    latest = rng.randint(60, start - 30) if is_quiet else rng.randint(1, 25)
    days = sorted([start, latest, *(rng.randint(latest, start) for _ in range(count - 2))])
    colleagues = [e for e in (_OFFICER, _OFFICER2, _MANAGER) if e != owner]
    entries: list[PlannedEntry] = []
    for position, days_ago in enumerate(reversed(days)):
        kind, subject, body = maker.entry(position / (len(days) - 1))
        while entries and subject == entries[-1].subject:
            kind, subject, body = maker.entry(position / (len(days) - 1))
        contact: int | None = None
        if kind is not ActivityKind.NOTE or rng.random() < 0.3:
            contact = 0 if rng.random() < 0.5 else rng.randrange(len(plan.contacts))
        first_name = plan.contacts[contact].first_name if contact is not None else None
        entries.append(
            PlannedEntry(
                kind=kind,
                days_ago=days_ago,
                minute_of_day=rng.randint(7 * 60, 16 * 60),
                subject=subject,
                body=maker.wording(body, first_name),
                contact=contact,
                author=owner if rng.random() < 0.8 else rng.choice(colleagues),
            )
        )
    return tuple(entries)


def demo_users_exist() -> bool:
    """Whether any of the demo logins is already in the database."""
    emails = [u.email for u in DEMO_USERS]
    return bool(db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email.in_(emails))))


def any_user_exists() -> bool:
    """Whether the database holds any account at all."""
    return db.session.scalar(sa.select(User.id).limit(1)) is not None


def load_demo(today: dt.date | None = None) -> DemoSummary:
    """Create the demo logins and employers in the current transaction; the caller commits."""
    today = today or utcnow().date()
    users = _create_users()
    manager = users[_MANAGER]
    plans = demo_plan(today)
    contacts = activities = 0
    for item in plans:
        organisation = _create_organisation(item.plan, users[item.owner], manager)
        started = dt.datetime.combine(
            today - dt.timedelta(days=item.first_day_ago + 3), dt.time(9), dt.UTC
        )
        organisation.created_at = started
        people = []
        for person in item.plan.contacts:
            contact = create_contact(organisation, _contact_values(person), manager)
            contact.created_at = started
            people.append(contact)
        for entry in item.entries:
            values = ActivityValues(
                kind=entry.kind,
                occurred_at=entry.occurred_at(today),
                subject=entry.subject,
                body=entry.body,
                contact_id=people[entry.contact].id if entry.contact is not None else None,
            )
            log_activity(organisation, values, users[entry.author])
        contacts += len(people)
        activities += len(item.entries)
    db.session.flush()
    tags = {tag for item in plans for tag in item.plan.tags}
    return DemoSummary(len(users), len(plans), contacts, activities, len(tags))


def _create_users() -> dict[str, User]:
    """The demo logins, made directly: their short password is below the normal minimum."""
    users = {}
    for demo_user in DEMO_USERS:
        user = User(
            email=demo_user.email,
            name=demo_user.name,
            role=demo_user.role,
            password_hash=hash_password(DEMO_PASSWORD),
        )
        db.session.add(user)
        users[demo_user.email] = user
    db.session.flush()
    return users


def _create_organisation(plan: EmployerPlan, owner: User, acting: User) -> Organisation:
    """Create the employer; if the register already holds a look-alike, say why it is added."""
    values = OrganisationValues(
        legal_name=plan.legal_name,
        nace_code=plan.nace_code,
        country=plan.country,
        registration_number=plan.registration_number,
        size_band=plan.size_band,
        city=plan.city,
        address=plan.address,
        website=plan.website,
        notes=plan.notes,
        capacity_pledge=plan.capacity_pledge,
        capacity_period=plan.capacity_period,
        tags=plan.tags,
        owner_id=owner.id,
    )
    try:
        return create_organisation(values, acting)
    except OrganisationError:
        return create_organisation(values, acting, duplicate_reason=DEMO_DUPLICATE_REASON)


def _contact_values(person: ContactPlan) -> ContactValues:
    """The service's values for a planned contact."""
    return ContactValues(
        first_name=person.first_name,
        last_name=person.last_name,
        role=person.role,
        job_title=person.job_title,
        email=person.email,
        phone=person.phone,
        preferred_language=person.preferred_language,
        consent_basis=person.consent_basis,
        consent_date=person.consent_date,
    )
