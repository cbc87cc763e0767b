"""A manager opens the dashboard, filters it by programme, opens a partnership at risk from
it and sees why on the partnership page. Runs at desktop and phone size, watched like the
other journeys: no console errors (a CSP violation by the charts would be one), no request
leaving 127.0.0.1, nothing wider than the screen."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import expect

from crm.extensions import db
from crm.health.service import recompute
from tests.browser.support import UI, Account
from tests.factories import (
    make_learner,
    make_organisation,
    make_placement,
    make_programme,
    make_user,
)
from tests.health.support import Scored, call, days_ago
from tests.workflow.support import make_partnership

pytestmark = pytest.mark.browser

AT_RISK = "Gießerei Hansen & Söhne KG"
THRIVING = "Bäckerei Morgenrot GmbH"
PROGRAMME = "Mechatronics"


@dataclass(frozen=True)
class World:
    manager: Account
    programme_id: int
    partnership_id: int


@pytest.fixture
def world(app: Flask) -> World:
    """A partnership at risk (active for 100 days: no two-way contact for 94 days, no
    memorandum, no placement hosted of the two pledged), a healthier one, and a programme
    with a learner requested at the organisation at risk."""
    with app.app_context():
        manager = make_user("manager", name="Mia Manager")
        officer = make_user("officer", name="Olga Officer")
        programme = make_programme(acting=manager, name=PROGRAMME, code="MEC3")
        make_programme(acting=manager, name="Bakery", code="BAK2")
        at_risk = make_organisation(officer, legal_name=AT_RISK, capacity_pledge=2)
        partnership = make_partnership(
            officer, "active", entered_at=days_ago(100), organisation=at_risk
        )
        call(Scored(officer, at_risk, partnership), days_ago(94))
        healthy = make_organisation(officer, legal_name=THRIVING, capacity_pledge=2)
        other = make_partnership(officer, "active", entered_at=days_ago(100), organisation=healthy)
        call(Scored(officer, healthy, other), days_ago(3))
        learner = make_learner(officer, programme)
        make_placement(learner, organisation=at_risk)
        recompute()
        db.session.commit()
        return World(
            manager=Account(email=manager.email, name=manager.name),
            programme_id=programme.id,
            partnership_id=partnership.id,
        )


def test_a_manager_finds_a_partnership_at_risk_and_sees_why(ui: UI, world: World) -> None:
    page = ui.page
    ui.log_in(world.manager.email, world.manager.password)
    ui.open_menu()
    ui.press(page.locator("#nav-dashboard"))
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#freshness")).to_contain_text("Figures as of")
    # The charts are drawn over their tables by the app's own scripts.
    expect(page.locator("#chart-partnership-funnel canvas")).to_have_count(1)
    expect(page.locator("#chart-placements-per-month canvas")).to_have_count(1)
    expect(page.locator("#partnership-funnel-table")).to_be_visible()
    ui.assert_fits()
    ui.screenshot("dashboard")

    # Filter by programme: the page keeps the choice and says what the filter leaves out.
    page.locator("#programme").select_option(label=f"{PROGRAMME} (MEC3)")
    ui.press(page.locator("#apply-filters"))
    expect(page).to_have_url(re.compile(rf"[?&]programme={world.programme_id}(&|$)"))
    expect(page.locator("#programme")).to_have_value(str(world.programme_id))
    expect(page.locator("#dashboard-notes")).to_be_visible()

    # The partnership at risk is listed (the healthy one is not), with its reason.
    rows = page.locator("#at-risk-table .at-risk-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(AT_RISK)
    expect(rows.first).to_contain_text("at risk")
    expect(page.locator("#at-risk-table")).not_to_contain_text(THRIVING)
    ui.assert_fits()
    ui.screenshot("dashboard-filtered")

    ui.press(rows.first.get_by_role("link", name=AT_RISK))
    expect(page).to_have_url(re.compile(rf"/partnerships/{world.partnership_id}$"))
    breakdown = page.locator("#health-breakdown")
    expect(breakdown).to_be_visible()
    expect(page.locator("#health-score")).to_contain_text("at risk")
    expect(breakdown).to_contain_text("no two-way contact for 94 days")
    ui.watch.assert_clean()


def test_the_dashboard_works_without_javascript(browser, base_url: str, world: World) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    try:
        page.goto("/login")
        page.locator("#email").fill(world.manager.email)
        page.locator("#password").fill(world.manager.password)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/dashboard/?programme={world.programme_id}")
        expect(page.locator("#at-risk-table")).to_contain_text(AT_RISK)
        expect(page.locator(".dashboard-chart canvas")).to_have_count(0)
        expect(page.locator("#placements-per-month-table tbody tr")).to_have_count(12)
        # "Refresh now" is a plain form post.
        page.locator("#refresh-now").click()
        expect(page).to_have_url(re.compile(rf"/dashboard/\?programme={world.programme_id}$"))
        expect(page.get_by_role("status")).to_contain_text("The figures have been refreshed.")
    finally:
        context.close()
