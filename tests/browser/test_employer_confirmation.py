"""The employer confirms a placement from the link in their e-mail, on a small phone.

Through the real parts: the officer asks the employer to confirm on the placement page; the
outbox delivery job sends the invitation to an SMTP server on loopback; the link is taken from
the e-mail as received and opened in Chromium at 320 px wide, without an account; the
supervisor corrects their phone number and confirms. The officer's page then shows the
placement confirmed by the supervisor through the link, and the officer's e-mail arrives.
Both browsers are watched: no console errors, no request leaving 127.0.0.1, nothing wider
than the screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, expect

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from tests.browser.mail import deliver, mail, make_ui, text_of, to  # noqa: F401
from tests.browser.support import DESKTOP, Account, FormFactor
from tests.outbox.mailserver import MailServer
from tests.placements.support import build_world

pytestmark = pytest.mark.browser

SMALL_PHONE = FormFactor("phone-320", 320, 640, mobile=True)
SUPERVISOR_EMAIL = "sven@kern.test"
NEW_PHONE = "+49 40 1234 5678"


@dataclass(frozen=True)
class Arranged:
    placement_id: int
    placement_path: str
    supervisor_id: int


@pytest.fixture
def matched(app: Flask, officer: Account) -> Arranged:
    """A placement matched by the officer, with everything the employer is asked about."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == officer.email))
        assert user is not None
        user.phone = "+32 2 555 01 23"
        world = build_world(user)
        placement = world.placement(
            "matched",
            supervisor_id=world.supervisor.id,
            hours_target=120,
            workplace_address="Hafenstraße 5, 28195 Bremen",
            role_description="Assembles gearboxes alongside a journeyman.",
            learning_objectives="Read technical drawings.\nSet up a CNC lathe.",
        )
        db.session.commit()
        return Arranged(placement.id, f"/placements/{placement.id}", world.supervisor.id)


def test_the_supervisor_confirms_from_the_email_on_a_small_phone(
    app: Flask,
    new_context: Callable[..., BrowserContext],
    officer: Account,
    matched: Arranged,
    mail: MailServer,  # noqa: F811 (the fixture imported above)
    live_server_url: str,
):
    # The officer asks the employer to confirm.
    desk = make_ui(new_context, DESKTOP)
    desk.log_in(officer.email, officer.password)
    desk.page.goto(matched.placement_path)
    ask = desk.page.locator(".transition-form[data-transition=ask_employer] button[type=submit]")
    expect(ask).to_be_enabled()
    desk.press(ask)
    expect(desk.page.locator("#current-stage")).to_have_text("Awaiting employer")

    # The invitation goes out; its link is taken from the e-mail as the supervisor gets it.
    deliver(app)
    (invitation,) = to(mail, SUPERVISOR_EMAIL)
    assert invitation.message["Subject"] == "Please confirm a placement for Lena"
    links = re.findall(
        rf"{re.escape(live_server_url)}/l/confirm/{matched.placement_id}/[A-Za-z0-9_-]{{43}}",
        text_of(invitation),
    )
    assert links, text_of(invitation)
    link = links[0]

    # The supervisor opens it on a 320 px phone: no account, everything needed to decide.
    phone = make_ui(new_context, SMALL_PHONE)
    page = phone.page
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Can you host Lena?")
    expect(page.locator("#learner")).to_have_text("Lena")
    expect(page.locator("#programme")).to_have_text("Mechatronics")
    expect(page.locator("#dates")).to_have_text("1 March 2027 to 30 April 2027")
    expect(page.locator("#hours")).to_have_text("120 hours in all")
    expect(page.locator("#address")).to_have_text("Hafenstraße 5, 28195 Bremen")
    expect(page.locator("#objectives")).to_contain_text("Set up a CNC lathe.")
    expect(page.locator("#school-contact")).to_contain_text("Olga Officer")
    expect(page.locator("#officer-phone")).to_have_attribute("href", "tel:+3225550123")
    expect(page.locator("main")).not_to_contain_text("Lernend")
    expect(page.locator("nav")).to_have_count(0)
    phone.assert_fits()
    # The other answers unfold and still fit; every button is a large target.
    for section in ("#decline-section", "#propose-section"):
        page.locator(f"{section} > summary").tap()
        expect(page.locator(section)).to_have_attribute("open", "")
        phone.assert_fits()
    for button in ("#confirm", "#decline", "#propose"):
        box = page.locator(button).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] <= 320, (button, box)
    phone.screenshot("employer-confirmation")

    # They correct their phone number and confirm.
    expect(page.locator("#first_name")).to_have_value("Sven")
    expect(page.locator("#email")).to_have_value(SUPERVISOR_EMAIL)
    page.locator("#phone").fill(NEW_PHONE)
    page.locator("#confirm").tap()
    expect(page).to_have_url(link)
    expect(page.get_by_role("status")).to_have_text(
        "Thank you. The placement is confirmed and Olga Officer has been told."
    )
    expect(page.locator("#answer")).to_contain_text("This placement was confirmed on")
    expect(page.locator("form#confirm-form")).to_have_count(0)
    phone.assert_fits()
    phone.screenshot("employer-confirmed")
    phone.watch.assert_clean()

    with app.app_context():
        contact = db.session.get(Contact, matched.supervisor_id)
        assert contact is not None and contact.phone == NEW_PHONE

    # The officer sees it on the placement: confirmed by the supervisor, through the link.
    desk.page.reload()
    expect(desk.page.locator("#current-stage")).to_have_text("Confirmed")
    latest = desk.page.locator("#timeline .timeline-entry.kind-transition").first
    expect(latest).to_contain_text("Confirm the placement")
    expect(latest).to_contain_text("Awaiting employer → Confirmed")
    expect(latest).to_contain_text("Sven Supervisor via the e-mail link")
    expect(latest).to_contain_text(f"Phone: — → {NEW_PHONE}")

    # And gets an e-mail that leads back to the placement.
    deliver(app)
    (told,) = to(mail, officer.email)
    assert told.message["Subject"] == "Sven Supervisor confirmed the placement of Lena Lernend"
    told_text = text_of(told)
    assert f"Phone: {NEW_PHONE} (was —)" in told_text
    placement_url = f"{live_server_url}{matched.placement_path}"
    assert placement_url in told_text
    desk.page.goto(placement_url)
    expect(desk.page.locator("#current-stage")).to_have_text("Confirmed")
    desk.watch.assert_clean()
