"""The placement agreement signed by every party, from the officer's click to the sealed copy.

Through the real parts: the officer sends the agreement from the confirmed placement's page;
the outbox delivery job sends the signing invitations to an SMTP server on loopback; the
employer's and the learner's links are taken from the e-mails as received and opened in
Chromium on phones (320 px and 390 px wide), without an account; each reads the document's
fingerprint, opens the PDF, types their name, ticks the consent and signs. A manager then
signs for the provider on the agreement's page. The placement is Ready, and the sealed copy
(the original pages plus the evidence page) downloads. Every browser is watched: no console
errors, no request leaving 127.0.0.1, nothing wider than the screen.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, expect
from pypdf import PdfReader

from crm.agreements.models import Agreement, AgreementVersion
from crm.auth.models import Role, User
from crm.extensions import db
from tests.browser.mail import deliver, mail, make_ui, text_of, to  # noqa: F401
from tests.browser.support import DESKTOP, PHONE, UI, Account, FormFactor
from tests.factories import make_user
from tests.outbox.mailserver import MailServer
from tests.placements.support import build_world

pytestmark = pytest.mark.browser

SMALL_PHONE = FormFactor("phone-320", 320, 640, mobile=True)
SUPERVISOR_EMAIL = "sven@kern.test"
LEARNER_EMAIL = "lena@learners.test"


@dataclass(frozen=True)
class Arranged:
    placement_id: int
    placement_path: str


@pytest.fixture
def confirmed(app: Flask, officer: Account) -> Arranged:
    """A placement the employer has confirmed, with everything the agreement prints."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == officer.email))
        assert user is not None
        user.phone = "+32 2 555 01 23"
        world = build_world(user)
        world.learner.email = LEARNER_EMAIL
        placement = world.placement(
            "confirmed",
            supervisor_id=world.supervisor.id,
            hours_target=120,
            workplace_address="Hafenstraße 5, 28195 Bremen",
            role_description="Assembles gearboxes alongside a journeyman.",
            learning_objectives="Read technical drawings.\nSet up a CNC lathe.",
        )
        db.session.commit()
        return Arranged(placement.id, f"/placements/{placement.id}")


@pytest.fixture
def manager(app: Flask) -> Account:
    """A committed manager account, who signs for the provider."""
    with app.app_context():
        user = make_user(Role.MANAGER, name="Mia Manager")
        return Account(email=user.email, name=user.name)


def signing_link(server: MailServer, address: str, base: str, subject: str) -> str:
    (invitation,) = to(server, address)
    assert invitation.message["Subject"] == subject
    found = re.findall(rf"{re.escape(base)}/l/sign/\d+/[A-Za-z0-9_-]{{43}}", text_of(invitation))
    assert found, text_of(invitation)
    return found[0]


def current_version(app: Flask, placement_id: int) -> tuple[int, bytes, str, int]:
    """(agreement id, PDF, SHA-256, pages) of the placement's agreement's current version."""
    with app.app_context():
        agreement = db.session.scalar(
            sa.select(Agreement).where(Agreement.placement_id == placement_id)
        )
        assert agreement is not None
        version = db.session.scalar(
            sa.select(AgreementVersion).where(
                AgreementVersion.agreement_id == agreement.id,
                AgreementVersion.number == agreement.current_number,
            )
        )
        assert version is not None
        return agreement.id, version.pdf, version.sha256, version.pages


def sign_on_a_phone(
    phone: UI, link: str, typed_name: str, sha256: str, pdf: bytes, screenshot: str
) -> None:
    """Open the link, check the document, sign; the answered page follows."""
    page = phone.page
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Please read and sign the agreement")
    expect(page.locator("#agreement-title")).to_have_text(
        "Placement agreement for Lena at Werkzeugbau Kern GmbH"
    )
    expect(page.locator("#version")).to_contain_text("Version 1, issued on")
    grouped = " ".join(sha256[i : i + 4] for i in range(0, 64, 4))
    expect(page.locator("#document-hash")).to_have_text(grouped)
    expect(page.locator("nav")).to_have_count(0)
    phone.assert_fits()
    # The PDF behind the button is the version issued, byte for byte.
    href = page.locator("#open-document").get_attribute("href")
    assert href is not None and href.endswith("/document.pdf")
    document = page.request.get(href)
    assert document.status == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.body() == pdf
    # Declining folds away and still fits; the buttons are large targets.
    page.locator("#decline-section > summary").tap()
    expect(page.locator("#decline-section")).to_have_attribute("open", "")
    phone.assert_fits()
    for button in ("#sign", "#decline", "#open-document"):
        box = page.locator(button).bounding_box()
        assert box is not None and box["height"] >= 44, (button, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= phone.form_factor.width, (button, box)
    phone.screenshot(screenshot)

    # Signing without the consent is refused next to the box, nothing else lost.
    page.locator("#typed_name").fill(typed_name)
    page.locator("#sign").tap()
    expect(page.locator("#consent-error")).to_have_text(
        "Tick the box to confirm that you have read the agreement and sign it."
    )
    expect(page.locator("#typed_name")).to_have_value(typed_name)
    phone.assert_fits()
    # That refusal was the one 400 the watch saw (and the browser logged): expected here.
    assert phone.watch.error_responses == [f"400 POST {link}"], phone.watch.error_responses
    assert len(phone.watch.console_errors) == 1 and "400" in phone.watch.console_errors[0]
    phone.watch.error_responses.clear()
    phone.watch.console_errors.clear()

    page.locator("#consent").check()
    page.locator("#sign").tap()
    expect(page).to_have_url(link)
    expect(page.get_by_role("status")).to_have_text(
        "Thank you. Your signature is recorded and Olga Officer has been told."
    )
    expect(page.locator("#answer")).to_contain_text("You signed this agreement on")
    expect(page.locator("form#sign-form")).to_have_count(0)
    phone.assert_fits()


def test_every_party_signs_the_placement_agreement_and_the_sealed_copy_downloads(
    app: Flask,
    new_context: Callable[..., BrowserContext],
    officer: Account,
    manager: Account,
    confirmed: Arranged,
    mail: MailServer,  # noqa: F811 (the fixture imported above)
    live_server_url: str,
):
    # The officer sends the agreement from the confirmed placement.
    desk = make_ui(new_context, DESKTOP)
    desk.log_in(officer.email, officer.password)
    desk.page.goto(confirmed.placement_path)
    send = desk.page.locator(".transition-form[data-transition=send_agreement] button[type=submit]")
    expect(send).to_be_enabled()
    desk.press(send)
    expect(desk.page.locator("#current-stage")).to_have_text("Agreement out")
    expect(desk.page.locator("#agreements .agreement-state")).to_have_text("Issued")
    agreement_id, pdf, sha256, pages = current_version(app, confirmed.placement_id)

    # The invitations go out; each link is taken from the e-mail as its recipient gets it.
    deliver(app)
    employer_link = signing_link(
        mail, SUPERVISOR_EMAIL, live_server_url, "Please sign the placement agreement for Lena"
    )
    learner_link = signing_link(
        mail, LEARNER_EMAIL, live_server_url, "Please sign your placement agreement"
    )
    assert f"/l/sign/{agreement_id}/" in employer_link != learner_link

    # The supervisor signs on a 320 px phone, the learner on a larger one.
    supervisor = make_ui(new_context, SMALL_PHONE)
    sign_on_a_phone(supervisor, employer_link, "Sven Supervisor", sha256, pdf, "agreement-sign")
    supervisor.screenshot("agreement-signed")
    supervisor.watch.assert_clean()
    learner = make_ui(new_context, PHONE)
    sign_on_a_phone(learner, learner_link, "Lena Lernend", sha256, pdf, "agreement-sign-learner")
    learner.watch.assert_clean()

    # The manager signs for the provider on the agreement's page.
    boss = make_ui(new_context, DESKTOP)
    boss.log_in(manager.email, manager.password)
    boss.page.goto(f"/agreements/{agreement_id}")
    signers = boss.page.locator("#signers")
    expect(signers.locator("[data-party=employer]")).to_have_attribute("data-status", "signed")
    expect(signers.locator("[data-party=learner]")).to_have_attribute("data-status", "signed")
    form = boss.page.locator("#sign-form")
    form.locator("#typed_name").fill("Mia Manager")
    form.locator("#consent").check()
    boss.press(form.locator("#sign-button"))
    expect(signers.locator("[data-party=provider]")).to_have_attribute("data-status", "signed")
    expect(boss.page.locator("#sign-form")).to_have_count(0)

    # The sealed copy downloads: the original pages, then the evidence page.
    sealed_link = boss.page.locator("#versions .download-sealed").first
    expect(sealed_link).to_be_visible()
    with boss.page.expect_download() as download_info:
        sealed_link.click()
    download = download_info.value
    path = download.path()
    assert path is not None
    sealed = path.read_bytes()
    assert sealed.startswith(pdf)
    reader = PdfReader(io.BytesIO(sealed))
    assert len(reader.pages) == pages + 1
    evidence = " ".join(reader.pages[-1].extract_text().split())
    assert "Sven Supervisor" in evidence and "Lena Lernend" in evidence
    assert "Mia Manager" in evidence
    assert sha256 in "".join(reader.pages[-1].extract_text().split())
    with app.app_context():
        stored = db.session.scalar(
            sa.select(AgreementVersion.sealed_sha256).where(
                AgreementVersion.agreement_id == agreement_id
            )
        )
    assert stored == hashlib.sha256(sealed).hexdigest()
    boss.watch.assert_clean()

    # The officer's placement is ready for its start.
    desk.page.reload()
    expect(desk.page.locator("#current-stage")).to_have_text("Ready")
    expect(desk.page.locator("#agreements .agreement-state")).to_have_text("Signed")
    desk.watch.assert_clean()

    # And the officer was told of each signature.
    deliver(app)
    subjects = sorted(received.message["Subject"] for received in to(mail, officer.email))
    assert subjects == [
        "Every party has signed: Placement agreement for Lena at Werkzeugbau Kern GmbH",
        "Lena Lernend signed: Placement agreement for Lena at Werkzeugbau Kern GmbH",
        "Sven Supervisor signed: Placement agreement for Lena at Werkzeugbau Kern GmbH",
    ]
