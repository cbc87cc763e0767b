"""Pages send a fixed number of SQL statements, however many rows they show (no N+1)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from crm.auth.models import Role, User
from crm.organisations.models import Organisation
from tests.core.helpers import listed_contacts, listed_organisations, section, text
from tests.factories import make_activity, make_contact, make_organisation, make_user

_serial = itertools.count(1)


def build(count: int, owners: list[User], authors: list[User]) -> list[Organisation]:
    """`count` organisations, each with its own tags, two contacts and two activities."""
    organisations = []
    for _ in range(count):
        n = next(_serial)
        organisation = make_organisation(
            owners[n % len(owners)],
            legal_name=f"Statement {n:03d} GmbH",
            tags=(f"tag-{n}", "shared"),
        )
        first = make_contact(organisation, first_name=f"First{n}", last_name="Contact")
        second = make_contact(organisation, first_name=f"Second{n}", last_name="Contact")
        for hours, contact in ((1, first), (2, second)):
            make_activity(
                organisation,
                authors[(n + hours) % len(authors)],
                occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours),
                contact_id=contact.id,
                subject=f"Activity {n}-{hours}",
            )
        organisations.append(organisation)
    return organisations


def statements(client, count_statements, url: str) -> int:
    with count_statements() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    assert counter.count > 0  # the counter sees the application's statements
    return counter.count


@pytest.fixture
def people(ctx, officer, manager):
    authors = [officer, manager, *(make_user(Role.OFFICER) for _ in range(3))]
    return {"owners": authors[:3], "authors": authors}


def test_list_pages_need_the_same_statements_for_3_and_40_organisations(
    ctx, people, login_as, officer, count_statements
):
    client = login_as(officer)
    build(3, **people)
    urls = ["/organisations/", "/contacts/", "/search/?q=statement"]
    small = {url: statements(client, count_statements, url) for url in urls}

    build(37, **people)
    large_list = text(client.get("/organisations/"))
    assert len(listed_organisations(large_list)) == 40
    assert len(listed_contacts(text(client.get("/contacts/")))) == 50  # one full page
    large = {url: statements(client, count_statements, url) for url in urls}

    assert large == small
    assert small["/organisations/"] <= 10
    assert small["/contacts/"] <= 10


def test_filtered_and_sorted_lists_need_no_more_statements(
    ctx, people, login_as, officer, count_statements
):
    client = login_as(officer)
    build(3, **people)
    plain = statements(client, count_statements, "/organisations/")
    build(20, **people)
    for query in ("?q=statement", "?sort=-last_activity", "?tag=shared", "?sector=C&country=DE"):
        assert statements(client, count_statements, f"/organisations/{query}") == plain, query


def test_organisation_page_needs_the_same_statements_for_3_and_40_organisations(
    ctx, people, login_as, officer, count_statements
):
    client = login_as(officer)
    first, second, _third = build(3, **people)
    url = f"/organisations/{first.id}"
    with_3 = statements(client, count_statements, url)
    build(37, **people)
    assert statements(client, count_statements, url) == with_3

    # However long the timeline: more contacts, and activities by many different people.
    for n in range(10):
        contact = make_contact(second, first_name=f"Extra{n}", last_name="Person")
        make_activity(second, make_user(Role.OFFICER), contact_id=contact.id, subject=f"Extra {n}")
    long_page = text(client.get(f"/organisations/{second.id}"))
    assert section(long_page, "timeline", "ol").count("timeline-entry") == 12
    assert statements(client, count_statements, f"/organisations/{second.id}") == with_3


def test_contact_page_needs_the_same_statements_however_long_its_timeline(
    ctx, people, login_as, officer, count_statements
):
    client = login_as(officer)
    (organisation,) = build(1, **people)
    quiet = make_contact(organisation, first_name="Quiet", last_name="Person")
    busy = make_contact(organisation, first_name="Busy", last_name="Person")
    for n in range(8):
        make_activity(organisation, make_user(Role.OFFICER), contact_id=busy.id, subject=f"B{n}")
    assert statements(client, count_statements, f"/contacts/{quiet.id}") == statements(
        client, count_statements, f"/contacts/{busy.id}"
    )
