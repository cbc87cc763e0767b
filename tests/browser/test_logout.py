"""Logging out from the user menu; the back button must not bring the register back."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import expect

from crm.auth.service import find_user_by_email
from tests.browser.support import UI, Account
from tests.factories import make_contact, make_organisation

pytestmark = pytest.mark.browser

LEGAL_NAME = "Back Button Bakery BV"
CONTACT = "Pieter Claes"


@pytest.fixture
def organisation_id(app: Flask, officer: Account) -> int:
    with app.app_context():
        owner = find_user_by_email(officer.email)
        assert owner is not None
        organisation = make_organisation(owner, legal_name=LEGAL_NAME, country="BE", city="Gent")
        make_contact(organisation, first_name="Pieter", last_name="Claes")
        return organisation.id


def test_logout_then_back_shows_no_register_data(ui: UI, officer: Account, organisation_id: int):
    page = ui.page
    ui.log_in(officer.email, officer.password)
    expect(page.locator("#organisations")).to_contain_text(LEGAL_NAME)
    with page.expect_response(re.compile(rf"/organisations/{organisation_id}$")) as shown:
        ui.press(page.get_by_role("link", name=LEGAL_NAME))
    expect(page.locator("#contacts")).to_contain_text(CONTACT)
    assert shown.value.headers.get("cache-control") == "no-store"

    ui.log_out()
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")
    expect(page.locator("#email")).to_be_visible()
    expect(page.locator("nav.navbar")).to_have_count(0)

    # Back to the organisation page, then to the register: each time the login page instead.
    for _ in range(2):
        response = page.go_back()
        assert response is not None, "the page came back from a cache, not from the server"
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.locator("#email")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text(LEGAL_NAME)
        expect(page.locator("body")).not_to_contain_text(CONTACT)
        expect(page.locator("#user-menu")).to_have_count(0)

    ui.watch.assert_clean()
