"""The demo data set and the scale generator: what they load, and that it is usable."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.auth.models import Role, User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.demo.demo import DEMO_PASSWORD, DEMO_USERS, demo_plan, load_demo
from crm.demo.generate import GENERATED_OFFICERS, ScaleTargets, generate_register
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.organisations.service import OrganisationFilters, list_organisations
from tests.factories import make_user


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _organisation_names() -> list[str]:
    return list(db.session.scalars(sa.select(Organisation.legal_name).order_by(Organisation.id)))


def test_demo_command_loads_a_usable_register(app, ctx, make_client):
    result = app.test_cli_runner().invoke(args=["crm", "demo"])

    assert result.exit_code == 0, result.output
    assert "officer@demo.test" in result.output
    assert "54 partnerships" in result.output
    assert _count(Organisation) >= 50
    countries = db.session.scalar(sa.select(sa.func.count(sa.distinct(Organisation.country))))
    assert countries >= 5
    without_contacts = db.session.scalar(
        sa.select(sa.func.count(Organisation.id)).where(
            ~sa.exists().where(Contact.organisation_id == Organisation.id)
        )
    )
    assert without_contacts == 0
    assert _count(Activity) >= 100
    latest = db.session.scalar(sa.select(sa.func.max(Activity.occurred_at)))
    earliest = db.session.scalar(sa.select(sa.func.min(Activity.occurred_at)))
    assert latest <= utcnow()
    # Most timelines cover the last year; long-standing partnerships go back a few more.
    assert earliest >= utcnow() - dt.timedelta(days=3 * 365)
    recent = db.session.scalar(
        sa.select(sa.func.count(Activity.id)).where(
            Activity.occurred_at >= utcnow() - dt.timedelta(days=366)
        )
    )
    assert recent > _count(Activity) * 0.6
    roles = {row.email: row.role for row in db.session.execute(sa.select(User.email, User.role))}
    assert roles == {u.email: u.role for u in DEMO_USERS}
    for user in DEMO_USERS:
        client = make_client()
        client.login(user.email, DEMO_PASSWORD)
        assert client.get("/organisations/").status_code == 200


def test_demo_keeps_last_activity_in_step_with_the_timelines(ctx):
    load_demo()

    stale = db.session.scalar(
        sa.select(sa.func.count(Organisation.id)).where(
            Organisation.last_activity_at
            != sa.select(sa.func.max(Activity.occurred_at))
            .where(Activity.organisation_id == Organisation.id)
            .scalar_subquery()
        )
    )
    assert stale == 0
    owners = db.session.scalars(
        sa.select(User.role).join(Organisation, Organisation.owner_id == User.id)
    ).all()
    assert owners.count(Role.OFFICER) > len(owners) * 0.75
    assert Role.MANAGER in owners


def test_demo_if_empty_adds_nothing_the_second_time(app, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "demo", "--if-empty"])
    counts = (_count(User), _count(Organisation), _count(Contact), _count(Activity))

    second = runner.invoke(args=["crm", "demo", "--if-empty"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "not loaded" in second.output
    assert (_count(User), _count(Organisation), _count(Contact), _count(Activity)) == counts


def test_demo_if_empty_leaves_a_database_with_accounts_alone(app, ctx):
    make_user(Role.ADMIN)

    result = app.test_cli_runner().invoke(args=["crm", "demo", "--if-empty"])

    assert result.exit_code == 0, result.output
    assert _count(Organisation) == 0


def test_demo_refuses_to_load_twice(app, ctx):
    load_demo()
    db.session.commit()
    organisations = _count(Organisation)

    result = app.test_cli_runner().invoke(args=["crm", "demo"])

    assert result.exit_code != 0
    assert "already exist" in result.output
    assert _count(Organisation) == organisations


def test_demo_is_the_same_every_time(ctx):
    today = utcnow().date()
    plan = demo_plan(today)
    later = demo_plan(today + dt.timedelta(days=40))

    load_demo(today)

    assert [e.plan.legal_name for e in plan] == [e.plan.legal_name for e in later]
    assert [[x.days_ago for x in e.entries] for e in plan] == [
        [x.days_ago for x in e.entries] for e in later
    ]
    assert [e.journey for e in plan] == [e.journey for e in later]
    assert _organisation_names() == [e.plan.legal_name for e in plan]


def test_generate_writes_the_requested_rows_with_derived_columns(ctx):
    report = generate_register(ScaleTargets(organisations=50, contacts=150, activities=1000))

    assert (report.organisations, report.contacts, report.activities) == (50, 150, 1000)
    assert (_count(Organisation), _count(Contact), _count(Activity)) == (50, 150, 1000)
    officers = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.OFFICER))
    assert officers == GENERATED_OFFICERS
    stale_contacts = db.session.scalar(
        sa.select(sa.func.count(Contact.id)).where(
            Contact.last_activity_at.is_distinct_from(
                sa.select(sa.func.max(Activity.occurred_at))
                .where(Activity.contact_id == Contact.id)
                .scalar_subquery()
            )
        )
    )
    stale_organisations = db.session.scalar(
        sa.select(sa.func.count(Organisation.id)).where(
            Organisation.last_activity_at.is_distinct_from(
                sa.select(sa.func.max(Activity.occurred_at))
                .where(Activity.organisation_id == Organisation.id)
                .scalar_subquery()
            )
        )
    )
    assert (stale_contacts, stale_organisations) == (0, 0)
    assert db.session.scalar(sa.select(sa.func.max(Activity.occurred_at))) <= utcnow()


def test_generated_organisation_is_found_by_contact_name_and_city(ctx):
    generate_register(ScaleTargets(organisations=50, contacts=150, activities=1000, seed=7))
    contact, organisation = db.session.execute(
        sa.select(Contact, Organisation)
        .join(Organisation, Contact.organisation_id == Organisation.id)
        .where(Organisation.archived_at.is_(None))
        .order_by(Contact.id.desc())
        .limit(1)
    ).one()

    by_person = list_organisations(OrganisationFilters(query=contact.last_name), 1, 100)
    by_place = list_organisations(
        OrganisationFilters(query=f"{organisation.legal_name} {organisation.city}"), 1, 100
    )

    assert organisation.id in [row.organisation.id for row in by_person.items]
    assert [row.organisation.id for row in by_place.items] == [organisation.id]


def test_generate_on_top_of_the_demo_adds_no_look_alikes(app, ctx):
    load_demo()
    db.session.commit()

    result = app.test_cli_runner().invoke(
        args=["crm", "generate", "--organisations", "40", "--contacts", "80", "--activities", "300"]
    )

    assert result.exit_code == 0, result.output
    assert "Added 40 organisations" in result.output
    keys = db.session.scalars(sa.select(Organisation.name_key)).all()
    assert len(keys) == len(set(keys)) == 100
    officers = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == Role.OFFICER))
    assert officers == GENERATED_OFFICERS
