"""A learner from first record to a placement the employer is asked to confirm.

An officer adds a learner, finds the one organisation that can take them, matches it, fills
in what the workflow's guards ask for (dates, role, objectives, a supervisor with an e-mail
address) and asks the employer to confirm. Runs at desktop size and at phone size, watched
like the other journeys: no console errors, no request leaving 127.0.0.1, nothing wider
than the screen.
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
from crm.contacts.models import ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import CapacityPeriod, Organisation
from crm.partnerships.service import start_partnership
from tests.browser.support import UI, Account
from tests.factories import make_cohort, make_contact, make_organisation, make_programme, make_user

pytestmark = pytest.mark.browser

BRUSSELS = ZoneInfo("Europe/Brussels")

PROGRAMME = ("Industrial Mechanics", "IMECH-4")
COHORT = "Current year"
LEARNER = ("Amélie", "Fontaine-Nowak")
BIRTH_DATE = dt.date(2005, 3, 14)  # an adult: no guardian's consent in the way
EMPLOYER = "Präzisionsteile Albers GmbH"
SUPERVISOR = ("Wiebke", "Hartmann")
SUPERVISOR_EMAIL = "w.hartmann@albers.test"
NOT_ACTIVE = "Stahlbau Nordlicht GmbH"  # the right sector, but the partnership is not active
WRONG_SECTOR = "Café Rosé am Markt"  # an active partnership, but in food service
ROLE = "Assembly of hydraulic units in the workshop, alongside a journeyman."
OBJECTIVES = "Read technical drawings.\nSet up and run a CNC lathe under supervision."

LEARNER_NAME = " ".join(LEARNER)
SUPERVISOR_NAME = " ".join(SUPERVISOR)
MATCHED_BLOCKED = "Set the start and end dates before moving to Matched."
ASK_BLOCKED = [
    "Fill in the workplace supervisor's e-mail address before moving to Awaiting employer.",
    "Fill in the role description before moving to Awaiting employer.",
    "Fill in the learning objectives before moving to Awaiting employer.",
]


@dataclass(frozen=True)
class Period:
    """The programme year (around today) and the placement's dates inside it."""

    year_start: dt.date
    year_end: dt.date
    start: dt.date
    end: dt.date


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


def _partnership(organisation: Organisation, owner: User, state: str) -> None:
    """A partnership started properly, then put straight into `state`."""
    partnership = start_partnership(organisation, owner)
    partnership.state = state
    partnership.state_entered_at = utcnow()
    db.session.commit()


@pytest.fixture
def period() -> Period:
    today = dt.datetime.now(BRUSSELS).date()
    return Period(
        year_start=today - dt.timedelta(days=60),
        year_end=today + dt.timedelta(days=300),
        start=today + dt.timedelta(days=21),
        end=today + dt.timedelta(days=81),
    )


@pytest.fixture
def employers(app: Flask, officer: Account, period: Period) -> None:
    """A programme in manufacturing with a year around today; one organisation that can take
    a learner (active partnership, two places, a supervisor without an e-mail address yet)
    and two that cannot."""
    with app.app_context():
        owner = _user(officer.email)
        manager = make_user("manager", name="Maria Manager")
        programme = make_programme(
            manager, name=PROGRAMME[0], code=PROGRAMME[1], sector="C", cohort=None
        )
        make_cohort(
            programme, manager, name=COHORT, starts_on=period.year_start, ends_on=period.year_end
        )
        employer = make_organisation(
            owner,
            legal_name=EMPLOYER,
            nace_code="25",
            city="Bremen",
            address="Hafenstraße 12",
            capacity_pledge=2,
            capacity_period=CapacityPeriod.YEAR,
        )
        _partnership(employer, owner, "active")
        make_contact(
            employer,
            first_name=SUPERVISOR[0],
            last_name=SUPERVISOR[1],
            role=ContactRole.WORKPLACE_SUPERVISOR,
            email="",
        )
        not_active = make_organisation(
            owner, legal_name=NOT_ACTIVE, nace_code="25", city="Kiel", capacity_pledge=3
        )
        _partnership(not_active, owner, "approached")
        wrong_sector = make_organisation(
            owner, legal_name=WRONG_SECTOR, nace_code="56", city="Bremen", capacity_pledge=3
        )
        _partnership(wrong_sector, owner, "active")


def _transition(ui: UI, name: str) -> Locator:
    return ui.page.locator(f".transition-form[data-transition={name}]")


def _fire(ui: UI, name: str) -> None:
    button = _transition(ui, name).locator("button[type=submit]")
    expect(button).to_be_enabled()
    ui.press(button)


def _statuses(ui: UI) -> Locator:
    return ui.page.get_by_role("status")


def _edit_placement(ui: UI) -> None:
    page = ui.page
    ui.press(page.locator("#edit-placement"))
    expect(page).to_have_url(re.compile(r"/placements/\d+/edit$"))
    expect(page.locator("h1")).to_have_text("Placement details")


def _save_placement(ui: UI, placement_url: str) -> None:
    page = ui.page
    ui.press(page.locator("#save-placement"))
    expect(page).to_have_url(placement_url)
    expect(_statuses(ui)).to_have_text("Changes saved.")


def test_learner_match_and_ask_the_employer(
    ui: UI, officer: Account, employers: None, period: Period
):
    page = ui.page
    ui.log_in(officer.email, officer.password)

    # Learners, from the navbar.
    ui.open_menu()
    ui.press(page.locator("#nav-learners"))
    expect(page).to_have_url(re.compile(r"/learners/$"))
    expect(page.locator("#result-count")).to_have_text("No learners match.")

    # A new learner.
    ui.press(page.locator("#new-learner"))
    expect(page).to_have_url(re.compile(r"/learners/new$"))
    form = page.locator("#learner-form")
    form.locator("#first_name").fill(LEARNER[0])
    form.locator("#last_name").fill(LEARNER[1])
    form.locator("#programme_id").select_option(label=f"{PROGRAMME[0]} ({PROGRAMME[1]})")
    form.locator("#cohort_id").select_option(label=COHORT)
    form.locator("#birth_date").fill(BIRTH_DATE.isoformat())
    form.locator("#consent_basis").select_option("contract")
    ui.assert_fits()
    ui.press(page.locator("#save-learner"))
    expect(page).to_have_url(re.compile(r"/learners/\d+$"))
    learner_url = page.url
    expect(_statuses(ui)).to_have_text(f"{LEARNER_NAME} added.")
    expect(page.locator("#learner-name")).to_have_text(LEARNER_NAME)
    expect(page.locator("#programme-year")).to_contain_text(COHORT)
    expect(page.locator("#under-18")).to_have_count(0)
    expect(page.locator("#no-placements")).to_have_text("No placement yet.")
    ui.assert_fits()
    ui.screenshot("learner-new")

    # Matching: only the organisation with an active partnership in the sector.
    ui.press(page.locator("#find-organisations"))
    expect(page).to_have_url(re.compile(r"/placements/match\?learner_id=\d+$"))
    expect(page.locator("h1")).to_have_text(f"Organisations for {LEARNER_NAME}")
    expect(page.locator("#match-count")).to_have_text("1 organisation found.")
    rows = page.locator("#matches .match-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.get_by_role("link", name=EMPLOYER)).to_be_visible()
    expect(row.locator(".capacity")).to_have_text("0 of 2 places taken")
    expect(page.locator("#matches")).not_to_contain_text(NOT_ACTIVE)
    expect(page.locator("#matches")).not_to_contain_text(WRONG_SECTOR)
    supervisors = row.locator("td").nth(3)
    expect(supervisors).to_contain_text(f"{SUPERVISOR_NAME} (no e-mail)")
    if ui.form_factor.mobile:
        expect(supervisors).to_be_hidden()  # a column the phone leaves out
    else:
        expect(supervisors).to_be_visible()
    ui.assert_fits()
    ui.screenshot("placement-match")

    # Matching without dates: the organisation is kept, the move waits for the dates.
    ui.press(row.get_by_role("button", name="Match"))
    expect(page).to_have_url(re.compile(r"/placements/\d+$"))
    placement_url = page.url
    expect(_statuses(ui)).to_have_text(
        [f"{EMPLOYER} is saved on the placement; before it is matched:", MATCHED_BLOCKED]
    )
    expect(page.locator("#placement-title")).to_have_text(
        f"Placement of {LEARNER_NAME} at {EMPLOYER}"
    )
    expect(page.locator("#current-stage")).to_have_text("Requested")
    expect(page.locator("#capacity .capacity")).to_have_text("0 of 2 places taken")
    match = _transition(ui, "match")
    expect(match.locator("button")).to_have_text("Match to the organisation → Matched")
    expect(match.locator("button")).to_be_disabled()
    expect(match.locator(".blocked-reasons li")).to_have_text([MATCHED_BLOCKED])
    ui.assert_fits()

    # The dates, through the placement's form; then the match goes through.
    _edit_placement(ui)
    expect(page.locator("#organisation_id option:checked")).to_have_text(EMPLOYER)
    page.locator("#start_date").fill(period.start.isoformat())
    page.locator("#end_date").fill(period.end.isoformat())
    ui.assert_fits()
    _save_placement(ui, placement_url)
    expect(match.locator(".blocked-reasons")).to_have_count(0)
    _fire(ui, "match")
    expect(page).to_have_url(placement_url)
    expect(_statuses(ui)).to_have_text("Moved to Matched.")
    expect(page.locator("#current-stage")).to_have_text("Matched")
    expect(page.locator("#capacity .capacity")).to_have_text("1 of 2 places taken")
    expect(page.locator("#find-organisations")).to_have_count(0)

    # Asking the employer waits for the supervisor's e-mail, the role and the objectives.
    ask = _transition(ui, "ask_employer")
    expect(ask.locator("button")).to_have_text("Ask the employer to confirm → Awaiting employer")
    expect(ask.locator("button")).to_be_disabled()
    expect(ask.locator(".blocked-reasons li")).to_have_text(ASK_BLOCKED)
    ui.assert_fits()
    ui.screenshot("placement-matched")

    _edit_placement(ui)
    page.locator("#supervisor_id").select_option(label=SUPERVISOR_NAME)
    page.locator("#role_description").fill(ROLE)
    page.locator("#learning_objectives").fill(OBJECTIVES)
    _save_placement(ui, placement_url)
    supervisor = page.locator("#supervisor")
    expect(supervisor).to_contain_text(f"{SUPERVISOR_NAME} · no e-mail address")
    expect(page.locator("#details")).to_contain_text(ROLE)
    expect(ask.locator("button")).to_be_disabled()
    expect(ask.locator(".blocked-reasons li")).to_have_text(ASK_BLOCKED[:1])

    # The supervisor's e-mail address, on the contact's page.
    ui.press(supervisor.get_by_role("link", name=SUPERVISOR_NAME))
    expect(page).to_have_url(re.compile(r"/contacts/\d+$"))
    contact_url = page.url
    expect(page.locator("h1")).to_have_text(SUPERVISOR_NAME)
    ui.press(page.locator("main").get_by_role("link", name="Edit", exact=True))
    expect(page).to_have_url(re.compile(r"/contacts/\d+/edit$"))
    page.locator("#email").fill(SUPERVISOR_EMAIL)
    ui.press(page.locator("#save-contact"))
    expect(page).to_have_url(contact_url)
    expect(_statuses(ui)).to_have_text("Changes saved.")
    expect(page.get_by_role("link", name=SUPERVISOR_EMAIL)).to_be_visible()

    # Back to the placement through the organisation's learners.
    ui.press(page.locator(".breadcrumb").get_by_role("link", name=EMPLOYER))
    expect(page.locator("#organisation-name")).to_have_text(EMPLOYER)
    learners = page.locator("#organisation-learners .organisation-learner")
    expect(learners).to_have_count(1)
    expect(learners).to_contain_text("Matched")
    ui.press(learners.get_by_role("link", name=LEARNER_NAME))
    expect(page).to_have_url(placement_url)
    expect(supervisor).to_contain_text(f"{SUPERVISOR_NAME} · {SUPERVISOR_EMAIL}")
    expect(ask.locator(".blocked-reasons")).to_have_count(0)
    ui.assert_fits()

    # Asked: the employer has the next move, with a confirmation link.
    _fire(ui, "ask_employer")
    expect(page).to_have_url(placement_url)
    expect(_statuses(ui)).to_have_text("Moved to Awaiting employer.")
    expect(page.locator("#current-stage")).to_have_text("Awaiting employer")
    expect(page.locator("#guidance")).to_contain_text("The supervisor has been sent")
    expect(_transition(ui, "confirm")).to_have_count(1)
    expect(_transition(ui, "ask_employer")).to_have_count(0)
    # The supervisor has been e-mailed a confirmation link; the officer sees it, not its address.
    links = page.locator("#links .action-link")
    expect(links).to_have_count(1)
    expect(links.nth(0)).to_have_attribute("data-state", "open")
    expect(links.nth(0)).to_contain_text(SUPERVISOR_EMAIL)
    expect(page.locator("#links a[href*='/l/']")).to_have_count(0)

    # The history, newest first.
    moves = page.locator("#timeline .timeline-entry.kind-transition")
    expect(moves).to_have_count(2)
    expect(moves.nth(0)).to_contain_text("Ask the employer to confirm")
    expect(moves.nth(0)).to_contain_text("Matched → Awaiting employer")
    expect(moves.nth(1)).to_contain_text("Match to the organisation")
    expect(moves.nth(1)).to_contain_text("Requested → Matched")
    expect(moves).to_contain_text([officer.name, officer.name])
    ui.assert_fits()
    ui.screenshot("placement-awaiting-employer")

    # The learner's page lists the placement in its new stage.
    ui.press(page.locator(".breadcrumb").get_by_role("link", name=LEARNER_NAME))
    expect(page).to_have_url(learner_url)
    item = page.locator("#learner-placements .placement-item")
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text("Awaiting employer")
    expect(item.get_by_role("link", name=EMPLOYER)).to_be_visible()
    expect(item).to_contain_text(f"supervisor: {SUPERVISOR_NAME}")
    ui.assert_fits()

    ui.watch.assert_clean()
