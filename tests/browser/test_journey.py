"""An officer's day: register an employer, add a contact, log a call, find it again by search.

Runs at desktop size and at phone size (where the navbar folds behind its toggler).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.support import UI, Account
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.browser

BRUSSELS = ZoneInfo("Europe/Brussels")

LEGAL_NAME = "Rheinische Zahnradwerke GmbH"
CITY = "Köln"
FIRST_NAME, LAST_NAME = "Anke", "Brandstätter"
SUBJECT = "Placements for the 2027 apprentices"
BODY = "Two places in the machining workshop.\nCall back after the works council meets."


@pytest.fixture
def neighbours(app: Flask) -> list[str]:
    """Other organisations in the register, so that the list and the search have to choose."""
    with app.app_context():
        colleague = make_user("officer", name="Colin Colleague")
        names = [
            make_organisation(
                colleague,
                legal_name="Internationale Gesellschaft für Berufsbildung und Zusammenarbeit mbH",
                nace_code="85",
                country="DE",
                city="Düsseldorf",
            ).legal_name,
            make_organisation(
                colleague,
                legal_name="Padaria Lusitana, Lda.",
                nace_code="10",
                country="PT",
                city="Lisboa",
            ).legal_name,
        ]
    return names


def test_register_contact_call_and_find_again(ui: UI, officer: Account, neighbours: list[str]):
    page = ui.page
    ui.log_in(officer.email, officer.password)
    expect(page.locator("#organisations tbody tr")).to_have_count(len(neighbours))

    # A new organisation.
    ui.press(page.locator("#new-organisation"))
    expect(page).to_have_url(re.compile(r"/organisations/new$"))
    page.locator("#legal_name").fill(LEGAL_NAME)
    page.locator("#nace_code").select_option("25")
    page.locator("#country").select_option("DE")
    page.locator("#city").fill(CITY)
    ui.assert_fits()
    ui.press(page.locator("#save-organisation"))
    expect(page.locator("#organisation-name")).to_have_text(LEGAL_NAME)
    expect(page.get_by_role("status")).to_contain_text(f"{LEGAL_NAME} added to the register.")
    expect(page.locator(".details")).to_contain_text("Manufacture of fabricated metal products")
    expect(page.locator(".details .address")).to_contain_text(f"{CITY}, Germany")
    expect(page.locator("#timeline-empty")).to_be_visible()
    organisation_url = page.url

    # A contact at it.
    ui.press(page.locator("#add-contact"))
    expect(page).to_have_url(re.compile(r"/contacts/new/\d+$"))
    page.locator("#first_name").fill(FIRST_NAME)
    page.locator("#last_name").fill(LAST_NAME)
    page.locator("#role").select_option("decision_maker")
    page.locator("#email").fill("anke.brandstaetter@zahnradwerke.example")
    ui.assert_fits()
    ui.screenshot("contact-form")
    ui.press(page.locator("#save-contact"))
    expect(page).to_have_url(organisation_url)
    contacts = page.locator("#contacts")
    expect(contacts.get_by_role("link", name=f"{FIRST_NAME} {LAST_NAME}")).to_be_visible()
    expect(contacts).to_contain_text("Decision maker")

    # A call with that contact, a little while ago (in the officer's time zone).
    when = (dt.datetime.now(BRUSSELS) - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    form = page.locator("#activity-form")
    if ui.form_factor.mobile:
        # On a phone the form folds away behind a button so the timeline comes sooner.
        expect(form).to_be_hidden()
        ui.press(page.locator("#toggle-activity-form"))
    expect(form).to_be_visible()
    form.locator("#kind").select_option("call")
    form.locator("#occurred_at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    form.locator("#contact_id").select_option(label=f"{FIRST_NAME} {LAST_NAME}")
    form.locator("#subject").fill(SUBJECT)
    form.locator("#body").fill(BODY)
    ui.screenshot("activity-form")
    ui.press(page.locator("#log-activity"))
    expect(page).to_have_url(organisation_url)
    expect(page.get_by_role("status")).to_contain_text("Activity logged.")
    expect(page.locator("#timeline .timeline-entry")).to_have_count(1)

    # Found by the contact's last name...
    ui.search(LAST_NAME, screenshot="menu")
    ui.assert_fits()
    ui.screenshot("search")
    organisation_results = page.locator("#organisation-results .list-group-item")
    expect(organisation_results).to_have_count(1)
    expect(organisation_results.get_by_role("link", name=LEGAL_NAME)).to_be_visible()
    expect(organisation_results).to_contain_text(f"{CITY}, Germany · 1 contact")
    contact_results = page.locator("#contact-results .list-group-item")
    expect(contact_results).to_have_count(1)
    expect(contact_results.get_by_role("link", name=f"{FIRST_NAME} {LAST_NAME}")).to_be_visible()

    # ...and by the city typed without its accent.
    ui.search("koln")
    ui.assert_fits()
    expect(organisation_results).to_have_count(1)
    for other in neighbours:
        expect(page.locator("#organisation-results")).not_to_contain_text(other)
    ui.press(organisation_results.get_by_role("link", name=LEGAL_NAME))

    # The call is on the organisation's timeline.
    expect(page).to_have_url(organisation_url)
    expect(page.locator("#organisation-name")).to_have_text(LEGAL_NAME)
    entry = page.locator("#timeline .timeline-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_class(re.compile(r"\bkind-call\b"))
    expect(entry.locator(".badge")).to_have_text("Call")
    expect(entry).to_contain_text(SUBJECT)
    expect(entry.locator(".activity-body")).to_have_text(BODY)
    expect(entry).to_contain_text(officer.name)
    expect(entry.get_by_role("link", name=f"{FIRST_NAME} {LAST_NAME}")).to_be_visible()
    expected_utc = when.astimezone(dt.UTC).isoformat()
    expect(entry.locator("time")).to_have_attribute("datetime", expected_utc)
    ui.assert_fits()
    ui.screenshot("organisation")

    # The register lists it among the others.
    ui.go_to_register()
    rows = page.locator("#organisations tbody tr")
    expect(rows).to_have_count(len(neighbours) + 1)
    expect(rows.filter(has_text=LEGAL_NAME)).to_contain_text(CITY)
    ui.assert_fits()
    ui.screenshot("organisations")

    ui.watch.assert_clean()
