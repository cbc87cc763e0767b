"""The demo data set: four logins and about sixty employers with people, timelines and
partnerships in every stage of the partnership workflow.

The plan is drawn from a fixed seed, so every load shows the same employers; dates are counted
back from the day of loading, so the timelines always reach up to yesterday (long-standing
partnerships go back two years and more). Loading goes through the services, and partnerships
move by firing their transitions at their dates (see `crm.demo.journeys`), so every derived
field, history row and follow-up is what the app itself would write. Learners and placements
follow (`crm.demo.learners`), then the agreements and the officers' own follow-ups
(`crm.demo.demo_outcomes`), and last every partnership's health score.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.auth.service import hash_password
from crm.contacts.models import Contact
from crm.contacts.service import ContactValues, create_contact
from crm.db import utcnow
from crm.demo.demo_outcomes import load_outcomes
from crm.demo.employers import ContactPlan, EmployerMaker, EmployerPlan
from crm.demo.journeys import (
    JourneyPlanner,
    PlannedEntry,
    PlannedJourney,
    contacts_needed,
    log_entry,
    play_journey,
    scenarios,
)
from crm.demo.learners import demo_learner_plan
from crm.demo.learners_load import load_learners
from crm.demo.stories import STATE_ENTRIES
from crm.extensions import db
from crm.health.service import recompute as recompute_health
from crm.links.service import link_days
from crm.organisations.models import Organisation
from crm.organisations.service import (
    OrganisationError,
    OrganisationValues,
    create_organisation,
)
from crm.partnerships.models import Partnership
from crm.partnerships.service import definition as partnership_workflow
from crm.placements.adapter import definition as placement_definition
from crm.workflow.definitions import WorkflowDef

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
class DemoEmployer:
    """An employer of the demo, its owner's e-mail, its timeline and its partnership."""

    plan: EmployerPlan
    owner: str
    entries: tuple[PlannedEntry, ...]
    created_days_ago: int
    journey: PlannedJourney | None


@dataclass(frozen=True)
class DemoSummary:
    """What the demo load created."""

    users: int
    organisations: int
    contacts: int
    activities: int
    tags: int
    partnerships: int = 0
    programmes: int = 0
    learners: int = 0
    placements: int = 0
    links: int = 0
    links_queued: int = 0
    evaluations: int = 0
    agreements: int = 0
    memoranda: int = 0
    memoranda_expiring: int = 0  # signed, expiring within 90 days
    support_needs: int = 0  # learners with support needs


def demo_plan(today: dt.date, workflow: WorkflowDef | None = None) -> list[DemoEmployer]:
    """The demo employers; the same names, stories and day offsets on every call.

    `workflow` is the partnership workflow the stories follow (default: the app's current one).
    """
    workflow = workflow or partnership_workflow()
    rng = random.Random(DEMO_SEED)
    maker = EmployerMaker(rng, today)
    planner = JourneyPlanner(maker, workflow)
    stories = scenarios(DEMO_ORGANISATIONS, rng)
    employers = []
    for index, scenario in enumerate(stories):
        country = DEMO_COUNTRIES[index % len(DEMO_COUNTRIES)]
        contacts = rng.choices((1, 2, 3, 4), weights=(15, 35, 30, 20))[0]
        plan = maker.employer(
            country, maker.sector(), max(contacts, contacts_needed(workflow, scenario))
        )
        draw = rng.random()
        owner = _OFFICER if draw < 0.45 else _OFFICER2 if draw < 0.9 else _MANAGER
        colleagues = [e for e in (_OFFICER, _OFFICER2, _MANAGER) if e != owner]
        if scenario is None:
            entries = _register_timeline(maker, plan, owner, colleagues)
            first = max(e.days_ago for e in entries)
            employers.append(DemoEmployer(plan, owner, entries, first + rng.randint(1, 5), None))
            continue
        journey, timeline = planner.plan(scenario, plan, owner, colleagues, _MANAGER)
        created = journey.started_days_ago + rng.randint(0, 4)
        employers.append(DemoEmployer(plan, owner, tuple(timeline), created, journey))
    return employers


def _register_timeline(
    maker: EmployerMaker, plan: EmployerPlan, owner: str, colleagues: list[str]
) -> tuple[PlannedEntry, ...]:
    """A few notes on an employer in the register that nobody works with yet."""
    rng = maker.rng
    days = sorted({rng.randint(2, 200) for _ in range(rng.randint(2, 3))}, reverse=True)
    pool = (*STATE_ENTRIES["identified"], *STATE_ENTRIES["researched"])
    entries = []
    for days_ago in days:
        kind, subject, body = rng.choice(pool)
        contact = 0 if rng.random() < 0.3 else None
        first_name = plan.contacts[0].first_name if contact is not None else None
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
    organisations: list[Organisation] = []
    people_of: list[list[Contact]] = []
    partnerships: dict[int, Partnership] = {}
    for index, item in enumerate(plans):
        organisation = _create_organisation(item.plan, users[item.owner], manager)
        created = dt.datetime.combine(
            today - dt.timedelta(days=item.created_days_ago), dt.time(8), dt.UTC
        )
        organisation.created_at = created
        people = []
        for person in item.plan.contacts:
            contact = create_contact(organisation, _contact_values(person), manager)
            contact.created_at = created
            people.append(contact)
        if item.journey is None:
            for entry in item.entries:
                log_entry(entry, organisation, people, users, today)
        else:
            partnerships[index] = play_journey(
                item.journey, item.entries, organisation, people, users, today
            )
        organisations.append(organisation)
        people_of.append(people)
        contacts += len(people)
        activities += len(item.entries)
    db.session.flush()
    placement_workflow = placement_definition()
    learners = load_learners(
        demo_learner_plan(
            today, plans, partnership_workflow(), placement_workflow, link_days=link_days()
        ),
        placement_workflow,
        organisations,
        people_of,
        partnerships,
        users,
        manager,
    )
    db.session.flush()
    outcomes = load_outcomes(manager)
    # Last, as the nightly job would: every partnership's health score, so pages show them.
    recompute_health()
    tags = {tag for item in plans for tag in item.plan.tags}
    return DemoSummary(
        len(users),
        len(plans),
        contacts + learners.supervisors_added,
        activities,
        len(tags),
        len(partnerships),
        learners.programmes,
        learners.learners,
        learners.placements,
        learners.links,
        learners.links_queued,
        learners.evaluations,
        outcomes.agreements.agreements,
        outcomes.memoranda,
        outcomes.memoranda_expiring,
        learners.support_needs,
    )


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
