"""The organisation and contact lists (search, filters, sorting, pages) and the global search."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from crm.auth.models import Role
from crm.contacts.models import ContactRole
from tests.core.helpers import listed_contacts, listed_organisations, section, text
from tests.factories import make_activity, make_contact, make_organisation, make_user

UTC = dt.UTC


def organisation_rows(html: str) -> dict[str, dict[str, str]]:
    """Per organisation on the list page: its contacts count and last-activity cells."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section(html, "organisations", "table"), re.S)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        name = listed_organisations(row)[0]
        rows[name] = {"contacts": cells[4].strip(), "last_activity": unescape(cells[5]).strip()}
    return rows


def result_count(html: str) -> str:
    match = re.search(r'<p class="[^"]*" id="result-count">\s*(.*?)\s*</p>', html, re.S)
    assert match
    return unescape(match.group(1))


@pytest.fixture
def register(officer, manager):
    """A small register: three organisations in different places, sectors and hands."""
    bakery = make_organisation(
        officer,
        legal_name="Bäckerei Sonnenschein GmbH",
        city="Köln",
        country="DE",
        nace_code="10",  # C: manufacturing
        tags=("food", "apprenticeships"),
    )
    hotel = make_organisation(
        manager,
        legal_name="Hotel Atlântico Lda",
        city="Lisboa",
        country="PT",
        nace_code="55",  # I: accommodation
        tags=("tourism",),
    )
    garage = make_organisation(
        officer,
        legal_name="Zeta Autowerkstatt KG",
        city="Aachen",
        country="DE",
        nace_code="45",  # G: motor vehicles
        tags=("apprenticeships",),
    )
    make_contact(bakery, first_name="Renée", last_name="Fischer", email="renee@baeckerei.test")
    make_contact(bakery, first_name="Tom", last_name="Weber", role=ContactRole.OTHER)
    make_contact(hotel, first_name="João", last_name="Costa", role=ContactRole.WORKPLACE_SUPERVISOR)
    make_activity(bakery, officer, occurred_at=dt.datetime.now(UTC) - dt.timedelta(days=3))
    make_activity(hotel, manager, occurred_at=dt.datetime.now(UTC) - dt.timedelta(hours=2))
    return {"bakery": bakery, "hotel": hotel, "garage": garage}


BAKERY = "Bäckerei Sonnenschein GmbH"
HOTEL = "Hotel Atlântico Lda"
GARAGE = "Zeta Autowerkstatt KG"


@pytest.fixture
def officer_client(login_as, officer):
    """The officer's logged-in browser."""
    return login_as(officer)


def organisations(officer_client, query: str = "") -> list[str]:
    response = officer_client.get(f"/organisations/{query}")
    assert response.status_code == 200
    return listed_organisations(text(response))


# --- the organisation list ----------------------------------------------------------------------


def test_list_shows_every_active_organisation_by_name(ctx, register, officer_client):
    assert organisations(officer_client) == [BAKERY, HOTEL, GARAGE]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sonnenschein", [BAKERY]),  # part of the name
        ("BACKEREI", [BAKERY]),  # case and accents do not matter ...
        ("koln", [BAKERY]),  # ... in the city either
        ("Köln", [BAKERY]),
        ("lisboa", [HOTEL]),
        ("atlantico", [HOTEL]),
        ("renee", [BAKERY]),  # a contact's first name
        ("costa", [HOTEL]),  # a contact's last name
        ("weber koln", [BAKERY]),  # every word must match
        ("weber lisboa", []),
        ("nothing-like-this", []),
    ],
)
def test_search_finds_names_cities_and_contacts(ctx, register, officer_client, query, expected):
    assert organisations(officer_client, f"?q={query}") == expected


def test_search_shows_what_was_searched_for_and_how_many(ctx, register, officer_client):
    page = text(officer_client.get("/organisations/?q=koln"))
    assert 'name="q" value="koln"' in page
    assert result_count(page) == "Showing 1–1 of 1"
    assert (
        result_count(text(officer_client.get("/organisations/?q=zzz"))) == "No organisations match."
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sector=C", [BAKERY]),
        ("?sector=I", [HOTEL]),
        ("?sector=G", [GARAGE]),
        ("?sector=F", []),
        ("?sector=nonsense", [BAKERY, HOTEL, GARAGE]),  # an unknown sector is ignored
        ("?country=PT", [HOTEL]),
        ("?country=de", [BAKERY, GARAGE]),
        ("?tag=apprenticeships", [BAKERY, GARAGE]),
        ("?tag=tourism", [HOTEL]),
        ("?tag=apprenticeships&country=DE&sector=G", [GARAGE]),
    ],
)
def test_filters(ctx, register, officer_client, query, expected):
    assert organisations(officer_client, query) == expected


def test_filter_by_owner(ctx, register, officer_client, officer, manager):
    assert organisations(officer_client, f"?owner={officer.id}") == [BAKERY, GARAGE]
    assert organisations(officer_client, f"?owner={manager.id}") == [HOTEL]
    page = text(officer_client.get(f"/organisations/?owner={manager.id}"))
    assert f'<option value="{manager.id}" selected>Mia Manager</option>' in page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", [BAKERY, HOTEL, GARAGE]),
        ("-name", [GARAGE, HOTEL, BAKERY]),
        ("city", [GARAGE, BAKERY, HOTEL]),  # Aachen, Köln, Lisboa
        ("country", [BAKERY, GARAGE, HOTEL]),  # DE (by name), PT
        ("-last_activity", [HOTEL, BAKERY, GARAGE]),  # never contacted last
        ("-created", [GARAGE, HOTEL, BAKERY]),
        ("nonsense", [BAKERY, HOTEL, GARAGE]),  # falls back to the name
    ],
)
def test_sorting(ctx, register, officer_client, sort, expected):
    assert organisations(officer_client, f"?sort={sort}") == expected


def test_list_shows_contacts_count_and_last_activity(ctx, register, officer_client):
    rows = organisation_rows(text(officer_client.get("/organisations/")))
    assert rows[BAKERY]["contacts"] == "2"
    assert rows[HOTEL]["contacts"] == "1"
    assert rows[GARAGE]["contacts"] == "0"
    assert rows[BAKERY]["last_activity"] == "3 days ago"
    assert rows[HOTEL]["last_activity"] == "2 hours ago"
    assert rows[GARAGE]["last_activity"] == "—"


def test_archived_contacts_are_not_counted(ctx, register, login_as, officer):
    officer_client = login_as(officer)
    page = text(officer_client.get(f"/organisations/{register['bakery'].id}"))
    contact_id = re.findall(r'href="/contacts/(\d+)" class="fw-medium">Tom Weber', page)[0]
    officer_client.post_form(f"/contacts/{contact_id}/archive")
    rows = organisation_rows(text(officer_client.get("/organisations/")))
    assert rows[BAKERY]["contacts"] == "1"


def test_pages(ctx, app, officer, officer_client):
    assert app.config["CRM_PAGE_SIZE"] == 50
    for n in range(60):
        make_organisation(officer, legal_name=f"Company {n:02d} GmbH")
    first = text(officer_client.get("/organisations/"))
    assert listed_organisations(first) == [f"Company {n:02d} GmbH" for n in range(50)]
    assert result_count(first) == "Showing 1–50 of 60"
    assert "Page 1 of 2" in first
    assert 'href="/organisations/?page=2" rel="next"' in first

    second = text(officer_client.get("/organisations/?page=2"))
    assert listed_organisations(second) == [f"Company {n:02d} GmbH" for n in range(50, 60)]
    assert result_count(second) == "Showing 51–60 of 60"
    assert "Page 2 of 2" in second
    assert 'href="/organisations/?page=1" rel="prev"' in second

    # Pages keep the search and sorting.
    sorted_page = text(officer_client.get("/organisations/?sort=-name&q=company&page=2"))
    assert listed_organisations(sorted_page) == [f"Company {n:02d} GmbH" for n in range(9, -1, -1)]
    assert 'href="/organisations/?sort=-name&amp;q=company&amp;page=1" rel="prev"' in sorted_page

    # Nonsense page numbers do not break the page.
    assert listed_organisations(
        text(officer_client.get("/organisations/?page=99"))
    ) == listed_organisations(second)
    assert listed_organisations(
        text(officer_client.get("/organisations/?page=x"))
    ) == listed_organisations(first)


# --- the contact list ---------------------------------------------------------------------------


def contacts(officer_client, query: str = "") -> list[str]:
    response = officer_client.get(f"/contacts/{query}")
    assert response.status_code == 200
    return listed_contacts(text(response))


def test_contact_list_shows_contacts_with_their_organisations(ctx, register, officer_client):
    page = text(officer_client.get("/contacts/"))
    assert listed_contacts(page) == ["João Costa", "Renée Fischer", "Tom Weber"]
    table = section(page, "contacts", "table")
    assert BAKERY in table
    assert HOTEL in table
    assert 'href="mailto:renee@baeckerei.test"' in table


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=renee", ["Renée Fischer"]),
        ("?q=FISCHER", ["Renée Fischer"]),
        ("?q=joao", ["João Costa"]),
        ("?q=renee@baeckerei", ["Renée Fischer"]),
        ("?q=sonnenschein", ["Renée Fischer", "Tom Weber"]),  # the organisation's name
        ("?q=lisboa", ["João Costa"]),  # the organisation's city
        ("?q=nobody", []),
        ("?role=workplace_supervisor", ["João Costa"]),
        ("?role=other", ["Tom Weber"]),
        ("?role=decision_maker", []),
        ("?role=nonsense", ["João Costa", "Renée Fischer", "Tom Weber"]),
        ("?country=PT", ["João Costa"]),
        ("?sector=C", ["Renée Fischer", "Tom Weber"]),
        ("?sort=-name", ["Tom Weber", "Renée Fischer", "João Costa"]),
        ("?sort=organisation", ["Renée Fischer", "Tom Weber", "João Costa"]),
    ],
)
def test_contact_search_and_filters(ctx, register, officer_client, query, expected):
    assert contacts(officer_client, query) == expected


def test_contacts_of_archived_organisations_leave_the_list(ctx, register, login_as, manager):
    officer_client = login_as(manager)
    officer_client.post_form(f"/organisations/{register['hotel'].id}/archive")
    assert "João Costa" not in contacts(officer_client)
    assert "João Costa" in contacts(officer_client, "?archived=1")


# --- the global search --------------------------------------------------------------------------


def test_global_search_finds_organisations_and_contacts(ctx, register, officer_client):
    page = text(officer_client.get("/search/?q=koln"))
    found_organisations = section(page, "organisation-results", "section")
    found_contacts = section(page, "contact-results", "section")
    assert listed_organisations(found_organisations) == [BAKERY]
    assert "2 contacts" in found_organisations
    assert listed_contacts(found_contacts) == ["Renée Fischer", "Tom Weber"]

    page = text(officer_client.get("/search/?q=costa"))
    assert listed_organisations(section(page, "organisation-results", "section")) == [HOTEL]
    assert listed_contacts(section(page, "contact-results", "section")) == ["João Costa"]


def test_global_search_says_when_nothing_matches(ctx, register, officer_client):
    page = text(officer_client.get("/search/?q=xyzzy"))
    assert "No organisation matches." in page
    assert "No contact matches." in page


def test_global_search_without_a_query_shows_only_the_box(ctx, register, officer_client):
    page = text(officer_client.get("/search/?q=+"))
    assert 'id="organisation-results"' not in page
    assert listed_organisations(page) == []


def test_global_search_links_to_all_results_when_there_are_many(ctx, officer, officer_client):
    for n in range(12):
        make_organisation(officer, legal_name=f"Widget {n:02d} Ltd")
    page = text(officer_client.get("/search/?q=widget"))
    assert len(listed_organisations(section(page, "organisation-results", "section"))) == 10
    assert 'href="/organisations/?q=widget"' in page
    assert "See all 12 organisations" in page


def test_other_officers_see_the_whole_register(ctx, register, login_as):
    reader = make_user(Role.OFFICER)
    assert organisations(login_as(reader)) == [BAKERY, HOTEL, GARAGE]
