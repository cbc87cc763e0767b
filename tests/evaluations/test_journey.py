"""The supervisor evaluates a placement and the learner gives feedback, from the links in their
e-mails, on a small phone.

Through the real parts: the officer completes the placement on its page; the outbox delivery
job sends both links to an SMTP server on loopback; each link is taken from its e-mail as
received and opened in Chromium at 320 px wide, without an account. The supervisor first
sends the form half filled (the problems come back next to the answers, nothing typed is
lost), then completes it. The officer's page then shows the placement evaluated by the
supervisor and both evaluations in its panel, and the officer's e-mails arrive. Every browser
is watched: no console errors, no request leaving 127.0.0.1, nothing wider than the screen.

The server is served from a thread here (as in tests/browser) and the tables are emptied
afterwards (`empty_database`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from crm.extensions import db
from crm.organisations.models import CapacityPeriod, Organisation
from crm.workflow.service import forget_verified_snapshots
from tests.browser.mail import deliver, mail, make_ui, text_of  # noqa: F401
from tests.browser.support import DESKTOP, Account, FormFactor
from tests.evaluations.support import SKILLS, add_skills
from tests.factories import make_user
from tests.outbox.mailserver import MailServer
from tests.placements.support import build_world

pytestmark = pytest.mark.browser

SMALL_PHONE = FormFactor("phone-320", 320, 640, mobile=True)
SUPERVISOR_EMAIL = "sven@kern.test"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture(scope="session")
def live_server_url(app: Flask) -> Iterator[str]:
    """The app served by werkzeug from a thread on 127.0.0.1, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server_url: str) -> str:
    return live_server_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (`playwright install` cannot download browsers here)."""
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@dataclass(frozen=True)
class Arranged:
    officer: Account
    placement_id: int
    organisation_id: int
    learner_email: str


@pytest.fixture
def in_progress(app: Flask, empty_database: None) -> Iterator[Arranged]:
    """A placement in progress with its hours logged, of a programme with skills."""
    with app.app_context():
        user = make_user("officer", name="Olga Officer", phone="+32 2 555 01 23")
        world = build_world(user)
        placement = world.placement(
            "in_progress", supervisor_id=world.supervisor.id, hours_target=80, hours_logged=80
        )
        add_skills(world.programme.id, SKILLS, retired="Files paper records")
        db.session.commit()
        arranged = Arranged(
            Account(email=user.email, name=user.name),
            placement.id,
            world.organisation.id,
            world.learner.email,
        )
    yield arranged
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


def text_to(server: MailServer, address: str) -> list[str]:
    return [text_of(r) for r in server.received if address in r.rcpt_tos]


def link_in(texts: list[str], base: str, slug: str, placement_id: int) -> str:
    pattern = rf"{re.escape(base)}/l/{slug}/{placement_id}/[A-Za-z0-9_-]{{43}}"
    found = re.findall(pattern, "\n".join(texts))
    assert found, texts
    return str(found[0])


def test_the_supervisor_evaluates_and_the_learner_gives_feedback_on_a_small_phone(
    app: Flask,
    new_context: Callable[..., BrowserContext],
    in_progress: Arranged,
    mail: MailServer,  # noqa: F811 (the fixture imported above)
    live_server_url: str,
):
    placement_path = f"/placements/{in_progress.placement_id}"
    # The officer completes the placement.
    desk = make_ui(new_context, DESKTOP)
    desk.log_in(in_progress.officer.email, in_progress.officer.password)
    desk.page.goto(placement_path)
    complete = desk.page.locator(".transition-form[data-transition=complete] button[type=submit]")
    desk.press(complete)
    expect(desk.page.locator("#current-stage")).to_have_text("Completed")
    expect(desk.page.locator("#no-evaluations")).to_be_visible()

    # Both links go out; each is taken from its e-mail as received.
    deliver(app)
    link = link_in(
        text_to(mail, SUPERVISOR_EMAIL), live_server_url, "evaluate", in_progress.placement_id
    )
    feedback_link = link_in(
        text_to(mail, in_progress.learner_email),
        live_server_url,
        "feedback",
        in_progress.placement_id,
    )

    # The supervisor opens theirs on a 320 px phone.
    phone = make_ui(new_context, SMALL_PHONE)
    page = phone.page
    page.goto(link)
    expect(page.locator("h1")).to_have_text("How did Lena's placement go?")
    expect(page.locator("#programme")).to_have_text("Mechatronics")
    expect(page.locator("main")).not_to_contain_text("Lernend")
    expect(page.locator("main")).not_to_contain_text("Files paper records")
    expect(page.locator("nav")).to_have_count(0)
    expect(page.locator("script")).to_have_count(0)
    expect(page.locator("legend", has_text=SKILLS[1])).to_be_visible()
    phone.assert_fits()
    for target in (page.locator("#satisfaction-3 >> xpath=.."), page.locator("#send-evaluation")):
        box = target.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] <= 320, box

    # Half filled: the problems come back beside the answers, and what was chosen stays.
    page.locator("label[for=satisfaction-3]").tap()
    page.get_by_role("group", name=SKILLS[0]).get_by_label("5", exact=True).check()
    page.locator("#comments").fill("Careful with tools; ask more questions.")
    page.locator("label[for=host_again-0]").tap()
    page.locator("#send-evaluation").tap()
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator(f"#skill_{_skill_id(page, SKILLS[1])}-error")).to_have_text(
        "Rate this skill, or choose “not observed”."
    )
    expect(page.locator("#host_again_count-error")).to_have_text(
        "Enter how many learners you could host, from 1 to 50."
    )
    expect(page.locator("#satisfaction-3")).to_be_checked()
    expect(page.locator("#comments")).to_have_value("Careful with tools; ask more questions.")
    phone.assert_fits()
    phone.screenshot("employer-evaluation-problems")
    # That 400 was the answer expected; the browser reports it as an error: forget it.
    assert phone.watch.error_responses == [f"400 POST {link}"]
    assert all("status of 400" in error for error in phone.watch.console_errors)
    phone.watch.error_responses.clear()
    phone.watch.console_errors.clear()

    # Completed and sent.
    page.get_by_role("group", name=SKILLS[1]).get_by_label("3", exact=True).check()
    page.get_by_role("group", name=SKILLS[2]).get_by_label("Not observed").check()
    page.locator("#host_again_count").fill("3")
    page.locator("label[for=host_again_period-0]").tap()  # per term
    page.locator("#send-evaluation").tap()
    expect(page).to_have_url(link)
    expect(page.get_by_role("status")).to_have_text(
        "Thank you. Your answers have been sent to the school."
    )
    expect(page.locator("#answer")).to_contain_text("your evaluation was received on")
    expect(page.locator("form")).to_have_count(0)
    phone.assert_fits()
    phone.watch.assert_clean()

    # The learner gives feedback from theirs.
    learner = make_ui(new_context, SMALL_PHONE)
    learner.page.goto(feedback_link)
    expect(learner.page.locator("h1")).to_have_text(
        "How was your placement at Werkzeugbau Kern GmbH?"
    )
    learner.assert_fits()
    learner.page.locator("label[for=satisfaction-4]").tap()
    learner.page.locator("label[for=objectives-3]").tap()
    learner.page.locator("#went_well").fill("A patient supervisor.")
    learner.page.locator("label[for=recommends-0]").tap()
    learner.page.locator("#send-feedback").tap()
    expect(learner.page.locator("#answer")).to_contain_text("your feedback was received on")
    learner.assert_fits()
    learner.watch.assert_clean()

    # The officer sees the placement evaluated by the supervisor, and both evaluations.
    desk.page.reload()
    expect(desk.page.locator("#current-stage")).to_have_text("Evaluated")
    latest = desk.page.locator("#timeline .timeline-entry.kind-transition").first
    expect(latest).to_contain_text("Sven Supervisor")
    employer = desk.page.locator("#evaluation-employer")
    expect(employer.locator(".satisfaction")).to_have_text("4 of 5")
    expect(employer.locator(".host-again")).to_have_text("Yes, 3 learners per term")
    expect(employer.locator(".ratings")).to_contain_text("not observed")
    expect(employer).to_contain_text("Careful with tools; ask more questions.")
    feedback = desk.page.locator("#evaluation-learner")
    expect(feedback.locator(".objectives")).to_have_text("4 of 5")
    expect(feedback).to_contain_text("A patient supervisor.")
    desk.screenshot("officer-evaluations")
    desk.watch.assert_clean()
    with app.app_context():
        pledge = db.session.execute(
            sa.select(Organisation.capacity_pledge, Organisation.capacity_period).where(
                Organisation.id == in_progress.organisation_id
            )
        ).one()
        assert tuple(pledge) == (3, CapacityPeriod.TERM)

    # And the officer's e-mails lead back to the placement.
    deliver(app)
    told = text_to(mail, in_progress.officer.email)
    assert len(told) == 2
    assert "Overall satisfaction: 4 of 5" in told[0]
    assert f"{live_server_url}{placement_path}#evaluations" in told[0]
    assert "Recommends the workplace to other learners: yes" in told[1]


def _skill_id(page: Any, text: str) -> str:
    """The id of a skill's field, read from its fieldset."""
    fieldset = page.locator("fieldset", has=page.locator("legend", has_text=text))
    return str(fieldset.get_attribute("id")).removeprefix("skill_")
