"""The placement confirmation page: what the employer sees, and what each answer does.

Requests go through the real link page (crm.portal.views → crm.portal.confirm), with the
CSRF token read from the page itself, as a browser sends it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from babel.dates import format_skeleton

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Learner
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink
from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowTransition
from tests.portal.support import Sent, link_path

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
SUPPORT_NEEDS = "Needs-quiet-room-XK42 and dyslexia support"
IP = "203.0.113.7"
BROWSER = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 confirm-test"


# --- helpers ----------------------------------------------------------------------------------


def page_text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def open_page(client: Any, sent: Sent) -> str:
    response = client.get(sent.path)
    assert response.status_code == 200, page_text(response)[:500]
    return page_text(response)


def answer(client: Any, sent: Sent, decision: str, **fields: str) -> Any:
    """Open the page, then post one of its forms with its CSRF token, from a phone."""
    match = CSRF.search(open_page(client, sent))
    assert match, "no CSRF token on the confirmation page"
    return client.post(
        sent.path,
        data={"csrf_token": match.group(1), "decision": decision, **fields},
        headers={"User-Agent": BROWSER},
        environ_overrides={"REMOTE_ADDR": IP},
    )


def field_error(html: str, field_id: str) -> str | None:
    """The error shown under a field (tied to it by aria-describedby), if any."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    if match is None:
        return None
    return unescape(match.group(1)).strip()


def field_value(html: str, name: str) -> str:
    """What an input shows (its value attribute, or a textarea's text)."""
    textarea = re.search(
        rf'<textarea[^>]*name="{name}"[^>]*>(?:\r?\n)?(.*?)</textarea>', html, re.S
    )
    if textarea:
        return unescape(textarea.group(1))
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, f"no input {name!r}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return unescape(value.group(1)) if value else ""


@dataclass(frozen=True)
class Snapshot:
    """Everything an answer could change, as the database has it."""

    state: str
    link: tuple[Any, ...]
    history: int
    outbox: int
    contact: tuple[str, str, str, str]
    open_follow_ups: int


def snapshot(sent: Sent) -> Snapshot:
    db.session.expire_all()
    placement = db.session.get(Placement, sent.placement.id)
    link = db.session.get(ActionLink, sent.link.id)
    contact = db.session.get(Contact, sent.world.supervisor.id)
    assert placement is not None and link is not None and contact is not None
    return Snapshot(
        state=placement.state,
        link=(
            link.spent_at,
            link.ended_at,
            link.decision,
            link.decision_data,
            link.decided_ip,
            link.decided_user_agent,
            link.fresh_requested_at,
        ),
        history=count(WorkflowTransition, WorkflowTransition.record_id == placement.id),
        outbox=count(OutboxMessage),
        contact=(contact.first_name, contact.last_name, contact.email, contact.phone),
        open_follow_ups=count(
            FollowUp,
            FollowUp.record_id == placement.id,
            FollowUp.record_type == "placement",
            FollowUp.status == FollowUpStatus.OPEN,
        ),
    )


def count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def officer_emails(sent: Sent) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "link_answered")
            .order_by(OutboxMessage.id)
        )
    )


def last_transition(sent: Sent) -> WorkflowTransition:
    entry = db.session.scalar(
        sa.select(WorkflowTransition)
        .where(
            WorkflowTransition.record_type == "placement",
            WorkflowTransition.record_id == sent.placement.id,
        )
        .order_by(WorkflowTransition.id.desc())
        .limit(1)
    )
    assert entry is not None
    return entry


def spent_link(sent: Sent) -> ActionLink:
    db.session.expire_all()
    link = db.session.get(ActionLink, sent.link.id)
    assert link is not None
    return link


def day(value: dt.date) -> str:
    """A date as the officer's e-mail and the history write it (English: British formats)."""
    return format_skeleton("yMMMEd", value, locale="en_GB")


@pytest.fixture
def placed(sent: Sent) -> Sent:
    """`sent`, with a phone number for the officer and support needs for the learner."""
    sent.world.officer.phone = "+32 2 555 01 23"
    db.session.execute(
        sa.update(Learner)
        .where(Learner.id == sent.world.learner.id)
        .values(support_needs=SUPPORT_NEEDS)
    )
    db.session.commit()
    return sent


# --- what the page shows ----------------------------------------------------------------------


def test_the_page_shows_what_the_supervisor_needs_to_decide_and_nothing_private(placed, client):
    html = open_page(client, placed)

    facts = {
        "learner": "Lena",
        "programme": "Mechatronics",
        "organisation": "Werkzeugbau Kern GmbH",
        "dates": "1 March 2027 to 30 April 2027",
        "hours": "120 hours in all",
        "role": "Assembles gearboxes.",
        "objectives": "Reads technical drawings.",
    }
    for element_id, shown in facts.items():
        match = re.search(rf'<dd id="{element_id}">(.*?)</dd>', html, re.S)
        assert match and unescape(match.group(1)).strip() == shown, element_id
    contact = re.search(r'id="school-contact">(.*?)</section>', html, re.S)
    assert contact is not None
    assert "Olga Officer" in contact.group(1)
    assert f'href="mailto:{placed.world.officer.email}"' in contact.group(1)
    assert 'href="tel:+3225550123"' in contact.group(1)
    assert "+32 2 555 01 23" in contact.group(1)
    # The confirmation is prefilled with the supervisor as on record.
    assert field_value(html, "first_name") == "Sven"
    assert field_value(html, "last_name") == "Supervisor"
    assert field_value(html, "email") == "sven@kern.test"
    # First name only; never the support needs.
    assert "Lernend" not in html
    assert SUPPORT_NEEDS not in html and "XK42" not in html
    # The public layout: no staff navigation, nothing fetched from elsewhere, no script.
    assert "navbar" not in html and "/organisations/" not in html and "/login" not in html
    assert "<script" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_decline_and_other_dates_are_offered_behind_the_confirmation(placed, client):
    html = open_page(client, placed)

    confirm, decline, propose = (
        html.find(f'id="{name}-form"') for name in ("confirm", "decline", "propose")
    )
    assert -1 < confirm < decline < propose
    assert re.search(r'<details class="card answer" id="decline-section">', html)
    assert re.search(r'<details class="card answer" id="propose-section">', html)
    for reason in ("no_capacity", "dates", "role", "no_supervisor", "other"):
        assert f'name="reason" required type="radio" value="{reason}"' in html
    # Every field has a visible label.
    for field_id in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "details",
        "start_date",
        "end_date",
        "note",
    ):
        assert f'<label for="{field_id}">' in html


def test_the_page_speaks_the_supervisors_language(sent, client):
    sent.world.supervisor.preferred_language = "de"
    db.session.commit()
    link = links.issue(sent.link.purpose, sent.placement)  # a new link, in German
    db.session.commit()
    assert link is not None and link.language == "de"

    html = page_text(client.get(link_path(link)))

    assert '<html lang="de">' in html
    assert "1. März 2027" in html


# --- opening changes nothing ------------------------------------------------------------------


def test_head_and_two_gets_change_nothing_before_the_real_answer(placed, client, make_client):
    before = snapshot(placed)

    assert client.head(placed.path).status_code == 200
    assert client.get(placed.path).status_code == 200
    assert make_client().get(placed.path).status_code == 200  # a mail scanner, no cookies

    assert snapshot(placed) == before
    response = answer(
        client, placed, "confirm", first_name="Sven", last_name="Supervisor", email="sven@kern.test"
    )
    assert response.status_code == 303
    assert snapshot(placed).state == "confirmed"


def test_a_post_without_the_csrf_token_is_refused(placed, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    before = snapshot(placed)
    open_page(client, placed)  # the session exists; only the token is missing

    response = client.post(
        placed.path,
        data={
            "decision": "confirm",
            "first_name": "Eve",
            "last_name": "Forger",
            "email": "e@f.test",
        },
    )
    forged = client.post(
        placed.path,
        data={"csrf_token": "not-the-token", "decision": "decline", "reason": "dates"},
    )

    assert response.status_code == 400 and forged.status_code == 400
    assert "The form has expired" in page_text(response)
    assert snapshot(placed) == before


# --- confirming -------------------------------------------------------------------------------


def test_confirming_corrects_the_supervisor_fires_confirm_and_tells_the_officer(placed, client):
    moment = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
    # The officer was told to chase the employer; the answer resolves that.
    assert purposes.expired_follow_up(placed.link) is not None
    db.session.commit()
    assert snapshot(placed).open_follow_ups == 1

    with time_machine.travel(moment, tick=False):
        response = answer(
            client,
            placed,
            "confirm",
            first_name="Sven",
            last_name="Supervisor-Berg",
            email=" Sven.Berg@Kern.test ",
            phone="+49 40 123456",
        )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(placed.path)
    after = snapshot(placed)
    assert after.state == "confirmed"
    assert after.contact == ("Sven", "Supervisor-Berg", "sven.berg@kern.test", "+49 40 123456")
    contact = db.session.get(Contact, placed.world.supervisor.id)
    assert contact is not None and contact.sort_name == "supervisor berg sven"
    assert "sven berg kern test" in contact.search_text
    # The history: the employer's contact, through the link, at the moment of the post (UTC).
    entry = last_transition(placed)
    assert (entry.transition, entry.from_state, entry.to_state) == (
        "confirm",
        "awaiting_employer",
        "confirmed",
    )
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_label) == (
        "employer",
        None,
        "Sven Supervisor-Berg",
    )
    assert entry.occurred_at == moment
    assert entry.comment == (
        "Supervisor's details corrected: Last name: Supervisor → Supervisor-Berg; "
        "E-mail: sven@kern.test → sven.berg@kern.test; Phone: — → +49 40 123456"
    )
    # The link is spent, with the evidence of who spent it.
    link = spent_link(placed)
    assert link.spent_at == moment
    assert (link.decision, link.decided_ip, link.decided_user_agent) == ("confirm", IP, BROWSER)
    assert link.decision_data == {
        "first_name": "Sven",
        "last_name": "Supervisor-Berg",
        "email": "sven.berg@kern.test",
        "phone": "+49 40 123456",
        "changed": {
            "last_name": ["Supervisor", "Supervisor-Berg"],
            "email": ["sven@kern.test", "sven.berg@kern.test"],
            "phone": ["", "+49 40 123456"],
        },
    }
    # The officer's e-mail.
    (email,) = officer_emails(placed)
    assert email.to_email == placed.world.officer.email
    assert email.subject == "Sven Supervisor-Berg confirmed the placement of Lena Lernend"
    assert (email.record_type, email.record_id) == ("placement", placed.placement.id)
    text = email.body_text
    assert "through the e-mail link, on Mon, 7 Dec 2026, 10:30" in text  # the officer's zone
    assert "E-mail: sven.berg@kern.test (was sven@kern.test)" in text
    assert "First name: Sven\n" in text
    assert f"/placements/{placed.placement.id}" in text
    assert f"/placements/{placed.placement.id}" in email.body_html
    assert placed.token not in text + email.body_html
    # The follow-up to chase the employer is closed.
    assert after.open_follow_ups == 0


def test_after_answering_the_page_thanks_once_then_shows_the_answer(placed, client):
    response = answer(
        client, placed, "confirm", first_name="Sven", last_name="Supervisor", email="sven@kern.test"
    )

    page = client.get(response.headers["Location"])
    again = client.get(placed.path)

    assert page.status_code == 200
    html = page_text(page)
    assert "Thank you. The placement is confirmed and Olga Officer has been told." in html
    assert "This placement was confirmed on" in html
    assert "Thank you. The placement is confirmed" not in page_text(again)
    assert "This placement was confirmed on" in page_text(again)
    assert 'id="confirm-form"' not in page_text(again)
    # Nothing changed in the supervisor's details, so no correction is noted.
    assert last_transition(placed).comment == ""


def test_the_officer_sees_the_confirmation_on_the_placement_and_organisation_pages(
    placed, client, login_as
):
    answer(
        client, placed, "confirm", first_name="Sven", last_name="Supervisor", email="sven@kern.test"
    )
    staff = login_as(placed.world.officer)

    placement_page = page_text(staff.get(f"/placements/{placed.placement.id}"))
    organisation_page = page_text(staff.get(f"/organisations/{placed.world.organisation.id}"))

    for html in (placement_page, organisation_page):
        timeline = html[html.index('id="timeline"') :]
        entry = timeline[: timeline.index("</li>")]
        assert "Confirm the placement" in entry
        assert "Awaiting employer → Confirmed" in unescape(entry)
        assert "Sven Supervisor via the e-mail link" in entry


# --- declining --------------------------------------------------------------------------------


def test_declining_fires_decline_with_the_reason_and_tells_the_officer(placed, client):
    response = answer(
        client,
        placed,
        "decline",
        reason="dates",
        details="We close for stocktaking in March.",
        # Fields of the other forms are ignored.
        first_name="Mallory",
        email="mallory@evil.test",
    )

    assert response.status_code == 303
    after = snapshot(placed)
    assert after.state == "declined"
    assert after.contact == ("Sven", "Supervisor", "sven@kern.test", "")
    placement = db.session.get(Placement, placed.placement.id)
    assert placement is not None
    assert placement.decline_reason == "The dates do not suit: We close for stocktaking in March."
    entry = last_transition(placed)
    assert (entry.transition, entry.actor_kind, entry.actor_label) == (
        "decline",
        "employer",
        "Sven Supervisor",
    )
    assert entry.comment == "The dates do not suit: We close for stocktaking in March."
    link = spent_link(placed)
    assert link.decision == "decline"
    assert link.decision_data == {
        "reason": "dates",
        "details": "We close for stocktaking in March.",
    }
    (email,) = officer_emails(placed)
    assert email.subject == "Sven Supervisor declined the placement of Lena Lernend"
    assert "Reason: The dates do not suit" in email.body_text
    assert "In their words: We close for stocktaking in March." in email.body_text
    assert "This placement was declined on" in page_text(client.get(placed.path))


def test_declining_with_a_listed_reason_needs_no_words(placed, client):
    response = answer(client, placed, "decline", reason="no_capacity")

    assert response.status_code == 303
    assert last_transition(placed).comment == "No capacity at that time"


def test_another_reason_must_be_given_in_words(placed, client):
    before = snapshot(placed)

    response = answer(client, placed, "decline", reason="other", details="  ")

    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, "details") == "Tell us the reason."
    assert '<details class="card answer" id="decline-section" open>' in html
    assert (
        'value="other" checked' in html
        or 'checked id="reason-4"' in html
        or re.search(r'<input[^>]*checked[^>]*value="other"', html)
    )
    assert snapshot(placed) == before


# --- proposing other dates --------------------------------------------------------------------


def test_proposing_dates_returns_the_placement_to_the_officer_with_the_proposal(
    placed, client, login_as
):
    start = utcnow().date() + dt.timedelta(days=120)
    end = start + dt.timedelta(days=55)

    response = answer(
        client,
        placed,
        "propose",
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        note="Mornings only, please.",
    )

    assert response.status_code == 303
    assert snapshot(placed).state == "matched"
    entry = last_transition(placed)
    assert (entry.transition, entry.actor_kind, entry.actor_label) == (
        "propose_dates",
        "employer",
        "Sven Supervisor",
    )
    assert entry.comment == f"Proposed dates: {day(start)} – {day(end)}\nMornings only, please."
    link = spent_link(placed)
    assert (link.decision, link.decision_data) == (
        "propose",
        {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "note": "Mornings only, please.",
        },
    )
    (email,) = officer_emails(placed)
    assert email.subject == "Sven Supervisor proposed other dates for the placement of Lena Lernend"
    assert f"Proposed start: {day(start)}" in email.body_text
    assert "The placement is back with you as matched." in email.body_text
    # The officer finds the proposal on the placement, now back in Matched.
    html = unescape(
        page_text(login_as(placed.world.officer).get(f"/placements/{placed.placement.id}"))
    )
    assert f"Proposed dates: {day(start)} – {day(end)}" in html
    assert "Mornings only, please." in html
    assert "Sven Supervisor via the e-mail link" in html
    assert "You proposed other dates on" in page_text(client.get(placed.path))


@pytest.mark.parametrize(
    ("start_days", "end_days", "field_id", "message"),
    [
        (30, 10, "end_date", "The end date must be after the start date."),
        (30, 30, "end_date", "The end date must be after the start date."),
        (-3, 30, "start_date", "The start date cannot be in the past."),
        (None, 30, "start_date", "Enter the first day you propose."),
    ],
)
def test_proposed_dates_must_make_sense(placed, client, start_days, end_days, field_id, message):
    today = utcnow().date()
    before = snapshot(placed)

    response = answer(
        client,
        placed,
        "propose",
        start_date=""
        if start_days is None
        else (today + dt.timedelta(days=start_days)).isoformat(),
        end_date=(today + dt.timedelta(days=end_days)).isoformat(),
        note="Typed note stays.",
    )

    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, field_id) == message
    assert '<details class="card answer" id="propose-section" open>' in html
    assert field_value(html, "note") == "Typed note stays."
    assert snapshot(placed) == before


# --- form errors ------------------------------------------------------------------------------


def test_an_invalid_confirmation_comes_back_with_the_errors_and_what_was_typed(placed, client):
    before = snapshot(placed)

    response = answer(
        client,
        placed,
        "confirm",
        first_name="  ",
        last_name="Typed-Lastname",
        email="not-an-address",
        phone="+49 170 1234567",
    )

    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, "first_name") == "This field is required."
    assert field_error(html, "email") == "Enter a valid e-mail address."
    assert field_error(html, "last_name") is None
    assert re.search(r'<input[^>]*aria-describedby="email-error"[^>]*aria-invalid="true"', html)
    assert field_value(html, "last_name") == "Typed-Lastname"
    assert field_value(html, "email") == "not-an-address"
    assert field_value(html, "phone") == "+49 170 1234567"
    assert "Your answer was not sent yet" in html
    assert snapshot(placed) == before


@pytest.mark.parametrize("decision", ["", "accept", "confirm_all"])
def test_an_unknown_decision_is_refused(placed, client, decision):
    before = snapshot(placed)

    response = answer(client, placed, decision, first_name="Sven", last_name="S", email="s@k.test")

    assert response.status_code == 400
    assert "Choose one of the answers below." in page_text(response)
    assert snapshot(placed) == before


def test_without_a_reason_the_decline_is_refused(placed, client):
    before = snapshot(placed)

    response = answer(client, placed, "decline", reason="", details="Just no.")

    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, "reason") == "Choose a reason."
    assert field_value(html, "details") == "Just no."
    assert snapshot(placed) == before


def test_a_blocked_transition_is_told_plainly_and_undone(placed, client, monkeypatch):
    before = snapshot(placed)

    def blocked(*args: Any, **kwargs: Any) -> Any:
        # Called once the link is spent and the contact corrected: the rollback undoes both.
        raise workflow.TransitionBlocked(["The placement cannot be confirmed at the moment."])

    monkeypatch.setattr(workflow, "fire", blocked)

    response = answer(
        client, placed, "confirm", first_name="Sven", last_name="Other", email="other@kern.test"
    )

    assert response.status_code == 409
    html = page_text(response)
    assert "The placement cannot be confirmed at the moment." in html
    assert field_value(html, "last_name") == "Other"
    assert snapshot(placed) == before  # the link unspent, the contact as it was, no e-mail


# --- links that do not decide ------------------------------------------------------------------


def _confirm(client: Any, path: str, token_source: Sent) -> Any:
    match = CSRF.search(open_page(client, token_source))
    assert match
    return client.post(
        path,
        data={
            "csrf_token": match.group(1),
            "decision": "confirm",
            "first_name": "Sven",
            "last_name": "Supervisor",
            "email": "sven@kern.test",
        },
    )


@pytest.mark.parametrize("kind", ["tampered", "wrong record", "wrong purpose"])
def test_a_post_to_an_address_that_is_not_the_link_decides_nothing(placed, client, kind):
    before = snapshot(placed)
    token = placed.token
    if kind == "tampered":
        path = link_path(placed.link, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    elif kind == "wrong record":
        path = f"/l/confirm/{placed.placement.id + 1000}/{token}"
    else:
        path = f"/l/evaluate/{placed.placement.id}/{token}"

    response = _confirm(client, path, placed)

    assert response.status_code == 410
    assert "This link no longer works" in page_text(response)
    assert snapshot(placed) == before


def test_a_post_to_an_expired_link_decides_nothing(placed, client):
    match = CSRF.search(open_page(client, placed))
    assert match
    before = snapshot(placed)

    with time_machine.travel(placed.link.expires_at + dt.timedelta(minutes=1), tick=False):
        response = client.post(
            placed.path,
            data={"csrf_token": match.group(1), "decision": "decline", "reason": "dates"},
        )

    assert response.status_code == 410
    assert snapshot(placed) == before


def test_a_post_to_a_revoked_link_decides_nothing(placed, client):
    match = CSRF.search(open_page(client, placed))
    assert match
    links.revoke(placed.link, placed.world.officer)
    db.session.commit()
    before = snapshot(placed)

    response = client.post(
        placed.path,
        data={"csrf_token": match.group(1), "decision": "decline", "reason": "dates"},
    )

    assert response.status_code == 410
    assert snapshot(placed) == before


# --- nothing private in any e-mail --------------------------------------------------------------


def test_no_email_of_the_journey_carries_the_support_needs(placed, client):
    answer(
        client, placed, "confirm", first_name="Sven", last_name="Supervisor", email="sven@kern.test"
    )

    messages = list(db.session.scalars(sa.select(OutboxMessage)))
    kinds = {message.kind for message in messages}
    assert {"link_confirm_placement", "link_answered"} <= kinds
    for message in messages:
        text, html = outbox.bodies(message)
        for part in (message.subject, text, html):
            assert "XK42" not in part, message.kind


# --- the officer's e-mail -------------------------------------------------------------------------

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_the_officers_email_matches_the_snapshot(placed, client):
    with time_machine.travel(dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC), tick=False):
        answer(
            client,
            placed,
            "confirm",
            first_name="Sven",
            last_name="Supervisor",
            email="sven@kern.test",
            phone="+49 40 123456",
        )

    (email,) = officer_emails(placed)
    text = email.body_text.replace(f"/placements/{placed.placement.id}", "/placements/ID")
    snapshot = (SNAPSHOTS / "link_answered.en.txt").read_text(encoding="utf-8")
    assert text.rstrip("\n") == snapshot.rstrip("\n")


def test_the_officer_is_told_in_their_own_language_and_time_zone(placed, client):
    placed.world.officer.locale = "de"
    placed.world.officer.timezone = "America/New_York"
    db.session.commit()

    with time_machine.travel(dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC), tick=False):
        answer(client, placed, "decline", reason="no_supervisor")

    (email,) = officer_emails(placed)
    assert email.language == "de"
    assert '<html lang="de">' in email.body_html
    assert "Mo., 7. Dez. 2026, 04:30" in email.body_text  # German, New York time
