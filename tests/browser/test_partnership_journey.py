"""A partnership from first idea to first approach, on the board, and a manager's bulk move.

Runs at desktop size and at phone size, watched like the other journeys: no console errors,
no request leaving 127.0.0.1, nothing wider than the screen.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Locator, expect

from crm.auth.models import User
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import start_partnership
from crm.workflow import service as workflow
from tests.browser.support import UI, Account
from tests.factories import make_contact, make_organisation, make_user

pytestmark = pytest.mark.browser

BRUSSELS = ZoneInfo("Europe/Brussels")

LEGAL_NAME = "Feinmechanik Rheinland GmbH"
OTHER_NAME = "Padaria Lusitana, Lda."
FOCAL = ("Jonas", "Wegener")
DECIDER = ("Sabine", "Ostermann-Kühn")
CALL_SUBJECT = "First call about apprenticeship places"

CHECKLIST_MESSAGE = (
    "Tick the checklist before moving to Researched: Sector and size fit our programmes; "
    "Website and public information reviewed."
)
FOCAL_MESSAGE = "Record a focal person before moving to Researched."
DECIDER_MESSAGE = "Record a decision maker before moving to Researched."
APPROACH_MESSAGE = (
    "Log a contact with the employer (call, e-mail, meeting, visit) before moving to Approached."
)
FOLLOW_UP = "Follow up the first approach and book a needs-analysis meeting"


@dataclass(frozen=True)
class Colleague:
    name: str
    organisation: str


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


def _start(organisation: Organisation, owner: User) -> Partnership:
    partnership = start_partnership(organisation, owner)
    db.session.commit()
    return partnership


@pytest.fixture
def employer(app: Flask, officer: Account) -> str:
    """An organisation the officer owns, without contacts or partnership yet."""
    with app.app_context():
        return make_organisation(
            _user(officer.email), legal_name=LEGAL_NAME, country="DE", city="Bonn"
        ).legal_name


@pytest.fixture
def colleague(app: Flask) -> Colleague:
    """Someone else's partnership, still Identified, so that the board has to filter."""
    with app.app_context():
        user = make_user("officer", name="Colin Colleague")
        organisation = make_organisation(user, legal_name=OTHER_NAME, country="PT", city="Lisboa")
        _start(organisation, user)
        return Colleague(name=user.name, organisation=organisation.legal_name)


def _transition(ui: UI, name: str) -> Locator:
    return ui.page.locator(f".transition-form[data-transition={name}]")


def _fire(ui: UI, name: str) -> None:
    button = _transition(ui, name).locator("button[type=submit]")
    expect(button).to_be_enabled()
    ui.press(button)


def _add_contact(ui: UI, first: str, last: str, role: str) -> None:
    """From the organisation page: add a contact through the form, back to the page."""
    page = ui.page
    organisation_url = page.url
    ui.press(page.locator("#add-contact"))
    expect(page).to_have_url(re.compile(r"/contacts/new/\d+$"))
    page.locator("#first_name").fill(first)
    page.locator("#last_name").fill(last)
    page.locator("#role").select_option(role)
    ui.press(page.locator("#save-contact"))
    expect(page).to_have_url(organisation_url)
    expect(page.locator("#contacts").get_by_role("link", name=f"{first} {last}")).to_be_visible()


def _open_partnership(ui: UI, stage: str) -> None:
    """From the organisation page, follow the partnership in its section."""
    page = ui.page
    ui.press(page.locator("#partnerships").get_by_role("link", name=stage))
    expect(page).to_have_url(re.compile(r"/partnerships/\d+$"))
    expect(page.locator("#current-stage")).to_have_text(stage)


def _open_organisation(ui: UI) -> None:
    """From the partnership page, back to the organisation by the breadcrumb."""
    page = ui.page
    ui.press(page.locator(".breadcrumb").get_by_role("link", name=LEGAL_NAME))
    expect(page.locator("#organisation-name")).to_have_text(LEGAL_NAME)


def test_identify_research_approach_and_board(
    ui: UI, officer: Account, employer: str, colleague: Colleague
):
    page = ui.page
    ui.log_in(officer.email, officer.password)
    ui.press(page.locator("#organisations").get_by_role("link", name=employer))
    expect(page.locator("#organisation-name")).to_have_text(employer)
    expect(page.locator("#partnerships")).to_contain_text("No partnership yet.")

    # Start: the partnership opens in its first stage, with guidance and checklist.
    ui.press(page.locator("#start-partnership"))
    expect(page).to_have_url(re.compile(r"/partnerships/\d+$"))
    partnership_url = page.url
    expect(page.get_by_role("status")).to_contain_text("Partnership started.")
    expect(page.locator("h1")).to_have_text(f"Partnership with {employer}")
    expect(page.locator("#current-stage")).to_have_text("Identified")
    expect(page.locator("#guidance")).to_contain_text("Find the focal person")
    items = page.locator("#checklist .checklist-item")
    expect(items).to_have_count(2)
    expect(items.and_(page.locator("[aria-pressed=false]"))).to_have_count(2)

    # Researching is blocked, and the page says why.
    research = _transition(ui, "research")
    expect(research.locator("button")).to_have_text("Mark as researched → Researched")
    expect(research.locator("button")).to_be_disabled()
    reasons = research.locator(".blocked-reasons li")
    expect(reasons).to_have_text([CHECKLIST_MESSAGE, FOCAL_MESSAGE, DECIDER_MESSAGE])
    ui.assert_fits()
    ui.screenshot("partnership-identified")

    # The checklist, one item at a time (each tick reloads the page).
    for key in ("fit_checked", "website_reviewed"):
        item = page.locator(f".checklist-item[data-item={key}]")
        ui.press(item)
        expect(item).to_have_attribute("aria-pressed", "true")
    expect(reasons).to_have_text([FOCAL_MESSAGE, DECIDER_MESSAGE])
    expect(research.locator("button")).to_be_disabled()

    # The two contacts, added on the organisation's page.
    _open_organisation(ui)
    _add_contact(ui, *FOCAL, role="focal_person")
    _add_contact(ui, *DECIDER, role="decision_maker")
    _open_partnership(ui, "Identified")
    expect(page).to_have_url(partnership_url)
    expect(research.locator(".blocked-reasons")).to_have_count(0)
    _fire(ui, "research")
    expect(page).to_have_url(partnership_url)
    expect(page.get_by_role("status")).to_contain_text("Moved to Researched.")
    expect(page.locator("#current-stage")).to_have_text("Researched")

    # The first approach needs a logged contact with the employer.
    approach = _transition(ui, "approach")
    expect(approach.locator("button")).to_have_text("Record the first approach → Approached")
    expect(approach.locator("button")).to_be_disabled()
    expect(approach.locator(".blocked-reasons li")).to_have_text([APPROACH_MESSAGE])

    # The call, logged just now on the organisation's page.
    _open_organisation(ui)
    now = dt.datetime.now(BRUSSELS)
    form = page.locator("#activity-form")
    if ui.form_factor.mobile:
        expect(form).to_be_hidden()
        ui.press(page.locator("#toggle-activity-form"))
    expect(form).to_be_visible()
    form.locator("#kind").select_option("call")
    form.locator("#occurred_at").fill(now.strftime("%Y-%m-%dT%H:%M"))
    form.locator("#contact_id").select_option(label=" ".join(FOCAL))
    form.locator("#subject").fill(CALL_SUBJECT)
    ui.press(page.locator("#log-activity"))
    expect(page.get_by_role("status")).to_contain_text("Activity logged.")
    _open_partnership(ui, "Researched")

    _fire(ui, "approach")
    expect(page.get_by_role("status")).to_contain_text("Moved to Approached.")
    expect(page.locator("#current-stage")).to_have_text("Approached")
    follow_ups = page.locator("#follow-ups li")
    expect(follow_ups).to_have_count(1)
    expect(follow_ups).to_contain_text(FOLLOW_UP)
    expect(follow_ups).to_contain_text(officer.name)

    # Both steps on the timeline, newest first, next to the call.
    transitions = page.locator("#timeline .timeline-entry.kind-transition")
    expect(transitions).to_have_count(2)
    expect(transitions.nth(0)).to_contain_text("Record the first approach")
    expect(transitions.nth(0)).to_contain_text("Researched → Approached")
    expect(transitions.nth(1)).to_contain_text("Mark as researched")
    expect(transitions.nth(1)).to_contain_text("Identified → Researched")
    expect(transitions).to_contain_text([officer.name, officer.name])
    expect(page.locator("#timeline .timeline-entry.kind-call")).to_contain_text(CALL_SUBJECT)
    ui.assert_fits()
    ui.screenshot("partnership-approached")

    # The board, from the navbar: the card waits in the Approached column.
    ui.open_menu()
    ui.press(page.locator("#main-nav").get_by_role("link", name="Partnerships"))
    expect(page).to_have_url(re.compile(r"/partnerships/board$"))
    approached = page.locator("#column-approached")
    expect(approached.locator(".column-count")).to_have_text("1")
    expect(approached.locator(".board-card")).to_have_count(1)
    expect(approached.locator(".board-card")).to_contain_text(employer)
    expect(approached.locator(".board-card")).to_contain_text(officer.name)
    identified = page.locator("#column-identified")
    expect(identified.locator(".column-count")).to_have_text("1")
    expect(identified.locator(".board-card")).to_contain_text(colleague.organisation)
    ui.assert_fits()
    ui.screenshot("board")

    # Only the officer's own partnerships.
    page.locator("#owner").select_option(label=officer.name)
    ui.press(page.locator("form.filters").get_by_role("button", name="Apply"))
    expect(page).to_have_url(re.compile(r"/partnerships/board\?.*owner=\d+"))
    expect(page.locator("#owner option:checked")).to_have_text(officer.name)
    expect(approached.locator(".column-count")).to_have_text("1")
    expect(approached.locator(".board-card")).to_contain_text(employer)
    expect(identified.locator(".column-count")).to_have_text("0")
    expect(identified.locator(".board-card")).to_have_count(0)
    expect(identified).to_contain_text("None")
    ui.assert_fits()

    # The card leads back to the partnership.
    ui.press(approached.locator(".board-card"))
    expect(page).to_have_url(partnership_url)
    expect(page.locator("#current-stage")).to_have_text("Approached")

    ui.watch.assert_clean()


@pytest.fixture
def manager(app: Flask) -> Account:
    with app.app_context():
        user = make_user("manager", name="Maria Manager")
        return Account(email=user.email, name=user.name)


@pytest.fixture
def two_identified(app: Flask, officer: Account) -> tuple[str, str]:
    """Two Identified partnerships: one ready to be marked as researched, one not."""
    with app.app_context():
        owner = _user(officer.email)
        ready = make_organisation(owner, legal_name=LEGAL_NAME)
        make_contact(ready, first_name=FOCAL[0], last_name=FOCAL[1], role="focal_person")
        make_contact(ready, first_name=DECIDER[0], last_name=DECIDER[1], role="decision_maker")
        partnership = _start(ready, owner)
        for key in ("fit_checked", "website_reviewed"):
            workflow.set_checklist_item(partnership, "identified", key, True, owner)
        db.session.commit()
        not_ready = make_organisation(owner, legal_name=OTHER_NAME, country="PT", city="Porto")
        _start(not_ready, owner)
        return ready.legal_name, not_ready.legal_name


def test_manager_bulk_moves_one_and_is_told_why_not_the_other(
    ui: UI, manager: Account, two_identified: tuple[str, str]
):
    ready, not_ready = two_identified
    page = ui.page
    ui.log_in(manager.email, manager.password)
    ui.open_menu()
    ui.press(page.locator("#main-nav").get_by_role("link", name="Partnerships"))
    expect(page).to_have_url(re.compile(r"/partnerships/board$"))
    ui.press(page.get_by_role("link", name="List", exact=True))
    expect(page).to_have_url(re.compile(r"/partnerships/$"))
    rows = page.locator("#partnerships tbody tr")
    expect(rows).to_have_count(2)
    for name in (ready, not_ready):
        row = rows.filter(has_text=name)
        expect(row).to_contain_text("Identified")
        row.locator("input[name=ids]").check()
    page.locator("#transition").select_option("research")
    ui.assert_fits()
    ui.screenshot("bulk-move")
    ui.press(page.locator("#bulk-move"))

    expect(page).to_have_url(re.compile(r"/partnerships/bulk$"))
    expect(page.locator("h1")).to_have_text("Mark as researched: result")
    expect(page.locator(".lead")).to_contain_text("1 partnership moved. 1 could not be moved.")
    results = page.locator("#bulk-results > li")
    expect(results).to_have_count(2)
    moved = results.filter(has_text=ready)
    expect(moved).to_have_class(re.compile(r"\blist-group-item-success\b"))
    expect(moved).to_contain_text("moved to Researched")
    blocked = results.filter(has_text=not_ready)
    expect(blocked).to_have_class(re.compile(r"\blist-group-item-danger\b"))
    expect(blocked).to_contain_text("not moved:")
    expect(blocked.locator(".blocked-reasons li")).to_have_text(
        [CHECKLIST_MESSAGE, FOCAL_MESSAGE, DECIDER_MESSAGE]
    )
    expect(moved.locator(".blocked-reasons")).to_have_count(0)
    ui.assert_fits()
    ui.screenshot("bulk-result")

    # The list shows the outcome too.
    ui.press(page.get_by_role("link", name="Back to the list"))
    expect(rows.filter(has_text=ready)).to_contain_text("Researched")
    expect(rows.filter(has_text=not_ready)).to_contain_text("Identified")

    ui.watch.assert_clean()
