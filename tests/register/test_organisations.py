"""The employer register: create, edit, view, archive and restore organisations; duplicates."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.organisations.models import CapacityPeriod, Organisation, SizeBand
from crm.organisations.service import name_key, registration_key, website_domain
from tests.core.helpers import (
    count_rows,
    field_error,
    flashes,
    fresh,
    is_invalid,
    listed_organisations,
    section,
    text,
)
from tests.factories import make_organisation
from tests.register.forms import organisation_edit_form, organisation_form


def organisation_named(legal_name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.legal_name == legal_name))


# --- create, view, edit, archive, restore ------------------------------------------------------


def test_create_an_organisation(ctx, login_as, officer):
    client = login_as(officer)
    form_page = client.get("/organisations/new")
    assert form_page.status_code == 200
    response = client.post_form(
        "/organisations/new",
        organisation_form(
            trading_name="Brightwork",
            registration_number="HRB 12345",
            website="www.brightwork.test",
            tags="Automotive, apprenticeships ,automotive",
            notes="Met them at the fair.",
        ),
    )
    assert response.status_code == 302
    organisation = organisation_named("Brightwork Engineering GmbH")
    assert organisation is not None
    assert response.location == f"/organisations/{organisation.id}"

    assert (
        organisation.trading_name,
        organisation.nace_code,
        organisation.size_band,
        organisation.country,
        organisation.city,
        organisation.capacity_pledge,
        organisation.capacity_period,
        organisation.owner_id,
    ) == ("Brightwork", "28", SizeBand.SMALL, "DE", "Köln", 4, CapacityPeriod.YEAR, officer.id)
    assert organisation.website == "https://www.brightwork.test"
    assert organisation.website_domain == "brightwork.test"
    assert organisation.registration_key == "HRB12345"
    assert organisation.archived_at is None

    page = text(client.get(response.location))
    assert "Brightwork added to the register." in flashes(page)
    assert "Brightwork Engineering GmbH" in page
    assert "Industriestraße 5" in page
    assert "Met them at the fair." in page
    assert "C28 — Manufacture of machinery and equipment" in page
    assert 'href="/organisations/?tag=apprenticeships"' in page
    assert 'href="/organisations/?tag=automotive"' in page
    assert page.count("?tag=automotive") == 1  # tags are de-duplicated
    assert "4 learners per school year" in page
    assert "Olga Officer" in page  # the owner


def test_show_an_unknown_organisation_is_404(ctx, login_as, officer):
    assert login_as(officer).get("/organisations/999999").status_code == 404


def test_edit_an_organisation(ctx, login_as, officer):
    organisation = make_organisation(officer, legal_name="Old Name GmbH")
    client = login_as(officer)
    form_page = text(client.get(f"/organisations/{organisation.id}/edit"))
    assert 'value="Old Name GmbH"' in form_page
    response = client.post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(
            organisation, legal_name="New Name GmbH", city="Dresden", tags="logistics"
        ),
    )
    assert response.status_code == 302
    assert response.location == f"/organisations/{organisation.id}"
    page = text(client.get(response.location))
    assert "Changes saved." in flashes(page)
    assert "New Name GmbH" in page
    fresh(organisation)
    assert (organisation.legal_name, organisation.city) == ("New Name GmbH", "Dresden")
    assert organisation.name_key == name_key("New Name GmbH")
    assert "dresden" in organisation.search_text


def test_archive_and_restore_an_organisation(ctx, login_as, officer):
    organisation = make_organisation(officer, legal_name="Seasonal Farm Ltd")
    client = login_as(officer)
    response = client.post_form(f"/organisations/{organisation.id}/archive")
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert "Seasonal Farm Ltd is archived; its history is kept." in flashes(page)
    assert "Archived on" in page
    assert fresh(organisation).archived_at is not None

    response = client.post_form(f"/organisations/{organisation.id}/archive", {"restore": "1"})
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert "Seasonal Farm Ltd is back in the register." in flashes(page)
    assert "Archived on" not in page
    assert fresh(organisation).archived_at is None


def test_archived_organisations_leave_the_list_unless_asked_for(ctx, login_as, officer):
    make_organisation(officer, legal_name="Active Works GmbH")
    archived = make_organisation(officer, legal_name="Closed Works GmbH")
    client = login_as(officer)
    client.post_form(f"/organisations/{archived.id}/archive")

    default = listed_organisations(text(client.get("/organisations/")))
    assert "Active Works GmbH" in default
    assert "Closed Works GmbH" not in default

    with_archived = text(client.get("/organisations/?archived=1"))
    assert {"Active Works GmbH", "Closed Works GmbH"} <= set(listed_organisations(with_archived))
    assert 'id="archived" name="archived" value="1" checked' in with_archived
    # The archived one is still reachable directly, and its history is kept.
    assert client.get(f"/organisations/{archived.id}").status_code == 200


# --- form errors --------------------------------------------------------------------------------


def test_missing_legal_name_is_a_field_error(ctx, login_as, officer):
    before = count_rows(Organisation)
    response = login_as(officer).post_form("/organisations/new", organisation_form(legal_name=""))
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "legal_name")
    assert field_error(page, "legal_name") == "This field is required."
    assert not is_invalid(page, "city")
    assert "Please correct the fields marked below." in page
    assert count_rows(Organisation) == before


def test_what_was_typed_is_kept_after_an_error(ctx, login_as, officer):
    response = login_as(officer).post_form(
        "/organisations/new", organisation_form(legal_name="", city="Wuppertal", notes="keep me")
    )
    page = text(response)
    assert 'value="Wuppertal"' in page
    assert "keep me" in page


@pytest.mark.parametrize(
    "website",
    [
        "not a website",
        "localhost",
        "http://",
        "just-words",
        # Links to these would run code or leave the web when clicked on the organisation page.
        "javascript://example.com/%0Aalert(document.cookie)",
        "JavaScript://example.com/%0aalert(1)",
        "data://example.com/text",
        "ftp://files.example.com",
    ],
)
def test_bad_website_is_a_field_error(ctx, login_as, officer, website):
    response = login_as(officer).post_form("/organisations/new", organisation_form(website=website))
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "website")
    assert field_error(page, "website") == "Enter a website address such as example.com."
    assert count_rows(Organisation) == 0


@pytest.mark.parametrize(
    ("website", "stored", "domain"),
    [
        ("example.com", "https://example.com", "example.com"),
        ("www.example.com/jobs", "https://www.example.com/jobs", "example.com"),
        ("http://example.com", "http://example.com", "example.com"),
        ("HTTPS://Shop.Example.com/", "HTTPS://Shop.Example.com/", "shop.example.com"),
    ],
)
def test_good_websites_are_accepted_and_linked(ctx, login_as, officer, website, stored, domain):
    client = login_as(officer)
    response = client.post_form("/organisations/new", organisation_form(website=website))
    assert response.status_code == 302
    organisation = organisation_named("Brightwork Engineering GmbH")
    assert organisation is not None
    assert (organisation.website, organisation.website_domain) == (stored, domain)
    page = text(client.get(response.location))
    assert f'<a href="{stored}" rel="noopener noreferrer nofollow" target="_blank">' in page


def test_missing_sector_and_country_are_field_errors(ctx, login_as, officer):
    response = login_as(officer).post_form(
        "/organisations/new", organisation_form(nace_code="", country="")
    )
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "nace_code")
    assert is_invalid(page, "country")
    assert count_rows(Organisation) == 0


def test_negative_capacity_is_a_field_error(ctx, login_as, officer):
    response = login_as(officer).post_form(
        "/organisations/new", organisation_form(capacity_pledge="-3")
    )
    assert response.status_code == 200
    assert is_invalid(text(response), "capacity_pledge")
    assert count_rows(Organisation) == 0


def test_edit_errors_leave_the_organisation_unchanged(ctx, login_as, officer):
    organisation = make_organisation(officer, legal_name="Stable GmbH")
    response = login_as(officer).post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, legal_name="", website="nonsense"),
    )
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "legal_name")
    assert is_invalid(page, "website")
    assert fresh(organisation).legal_name == "Stable GmbH"


# --- escaping -----------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_names_are_escaped_on_list_and_show_pages(ctx, login_as, officer):
    organisation = make_organisation(
        officer, legal_name=SCRIPT, city='"><img src=x onerror=alert(2)>', notes=SCRIPT
    )
    client = login_as(officer)
    for url in ("/organisations/", f"/organisations/{organisation.id}", "/search/?q=alert"):
        page = text(client.get(url))
        assert ESCAPED in page, url
        assert SCRIPT not in page, url
        assert "<img src=x" not in page, url


def test_names_typed_into_the_form_are_escaped(ctx, login_as, officer):
    client = login_as(officer)
    response = client.post_form("/organisations/new", organisation_form(legal_name=SCRIPT))
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert SCRIPT not in page
    assert f"{ESCAPED} added to the register." in page


# --- duplicates ---------------------------------------------------------------------------------


def test_name_key_ignores_case_accents_punctuation_and_legal_form():
    assert name_key("Müller GmbH") == name_key("MULLER gmbh.") == name_key("Müller") == "muller"
    assert name_key("Müller GmbH") != name_key("Müller Bau GmbH")
    assert website_domain("www.x.de") == website_domain("https://x.de/path") == "x.de"
    assert registration_key("DE 123.456") == registration_key("de123456") == "DE123456"


@pytest.mark.parametrize(
    ("existing", "new", "reason"),
    [
        ({"legal_name": "Müller GmbH"}, {"legal_name": "MULLER gmbh."}, "same name"),
        (
            {"legal_name": "Xylo Tools AG", "website": "www.x.de"},
            {"legal_name": "Totally Different Ltd", "website": "https://x.de/path"},
            "same website (x.de)",
        ),
        (
            {"legal_name": "Regis One GmbH", "registration_number": "DE 123.456"},
            {"legal_name": "Regis Two GmbH", "registration_number": "de123456"},
            "same registration number",
        ),
    ],
)
def test_duplicate_is_warned_about_with_a_link_and_nothing_is_saved(
    ctx, login_as, officer, existing, new, reason
):
    original = make_organisation(officer, **existing)
    before = count_rows(Organisation)
    response = login_as(officer).post_form("/organisations/new", organisation_form(**new))
    assert response.status_code == 200
    page = text(response)
    warning = section(page, "duplicate-warning", "div")
    assert "This may already be in the register" in warning
    assert f'href="/organisations/{original.id}"' in warning
    assert original.display_name in warning
    assert reason in warning
    assert 'name="confirm_duplicate"' in page
    assert 'name="duplicate_reason"' in page
    assert count_rows(Organisation) == before


def test_duplicate_of_an_archived_organisation_is_also_warned_about(ctx, login_as, officer):
    original = make_organisation(officer, legal_name="Sleeping Giant GmbH")
    client = login_as(officer)
    client.post_form(f"/organisations/{original.id}/archive")
    page = text(
        client.post_form("/organisations/new", organisation_form(legal_name="Sleeping Giant"))
    )
    warning = section(page, "duplicate-warning", "div")
    assert f'href="/organisations/{original.id}"' in warning
    assert "Archived" in warning


def test_confirming_a_duplicate_needs_a_reason(ctx, login_as, officer):
    make_organisation(officer, legal_name="Müller GmbH")
    before = count_rows(Organisation)
    response = login_as(officer).post_form(
        "/organisations/new",
        organisation_form(legal_name="MULLER gmbh.", confirm_duplicate="1", duplicate_reason=" "),
    )
    assert response.status_code == 200
    page = text(response)
    assert is_invalid(page, "duplicate_reason")
    assert field_error(page, "duplicate_reason") == "Say why this is not the same organisation."
    assert count_rows(Organisation) == before


def test_confirmed_duplicate_with_a_reason_is_saved_with_the_reason(ctx, login_as, officer):
    make_organisation(officer, legal_name="Müller GmbH", city="Köln")
    client = login_as(officer)
    response = client.post_form(
        "/organisations/new",
        organisation_form(
            legal_name="MULLER gmbh.",
            city="München",
            confirm_duplicate="1",
            duplicate_reason="Different company in Munich, same family name.",
        ),
    )
    assert response.status_code == 302
    created = organisation_named("MULLER gmbh.")
    assert created is not None
    assert created.duplicate_reason == "Different company in Munich, same family name."
    page = text(client.get(response.location))
    assert "Different company in Munich, same family name." in page
    assert count_rows(Organisation, Organisation.name_key == "muller") == 2


def test_editing_an_organisation_does_not_warn_about_itself(ctx, login_as, officer):
    organisation = make_organisation(
        officer, legal_name="Self GmbH", website="self.test", registration_number="HRB 1"
    )
    response = login_as(officer).post_form(
        f"/organisations/{organisation.id}/edit",
        organisation_edit_form(organisation, city="Kiel"),
    )
    assert response.status_code == 302
    assert fresh(organisation).city == "Kiel"
