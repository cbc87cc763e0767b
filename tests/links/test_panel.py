"""The links panel of the placement page: what became of each link, withdrawing one, sending
a new one, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import time_machine

from crm.extensions import db
from crm.links import service as links
from crm.links.jobs import send_link_reminders
from crm.links.models import ActionLink, LinkEnd, LinkPurpose
from crm.outbox.models import OutboxMessage
from crm.workflow.service import fire
from tests.core.helpers import count_rows, database_state, flashes, section, text
from tests.portal.support import link_path, newest_link

EVIDENCE_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"


def panel(client, placement) -> str:
    response = client.get(f"/placements/{placement.id}")
    assert response.status_code == 200
    return section(text(response), "links", "section")


def link_item(html: str, link: ActionLink) -> str:
    match = re.search(rf'<li [^>]*id="link-{link.id}".*?</li>', html, re.S)
    assert match, f"link {link.id} not on the panel"
    return match.group(0)


def state_of(html: str, link: ActionLink) -> str:
    match = re.search(r'data-state="(\w+)"', link_item(html, link))
    assert match
    return match.group(1)


def withdraw_url(link: ActionLink) -> str:
    return f"/links/{link.id}/withdraw"


def send_url(placement, purpose: str = "confirm") -> str:
    return f"/links/placement/{placement.id}/{purpose}/new"


def link_emails(placement) -> int:
    return count_rows(
        OutboxMessage,
        OutboxMessage.kind.like("link_%"),
        OutboxMessage.record_id == placement.id,
    )


# --- what the panel shows ----------------------------------------------------------------------


def test_the_officer_sees_the_open_link_with_its_buttons(sent, login_as, officer):
    html = panel(login_as(officer), sent.placement)
    item = link_item(html, sent.link)
    assert state_of(html, sent.link) == "open"
    assert "Confirm the placement" in item
    assert "Sven Supervisor" in item and "sven@kern.test" in item
    assert "0 reminders" in item
    assert "expires" in item
    assert 'class="mt-1 link-withdraw"' in item
    assert 'data-purpose="confirm"' in html  # "Send a new confirmation link"
    assert "Send a new confirmation link" in html
    # What a new link is offered for follows the stage: no evaluation while confirming.
    assert "evaluation link" not in html
    assert sent.token not in html and "/l/" not in html


def test_a_manager_sees_and_may_use_the_buttons(sent, login_as, manager):
    html = panel(login_as(manager), sent.placement)
    assert state_of(html, sent.link) == "open"
    assert "link-withdraw" in html and "link-send" in html


def test_another_officer_reads_the_panel_without_buttons_or_evidence(
    sent, login_as, officer, colleague
):
    assert links.spend(sent.link, "confirm", ip="203.0.113.44", user_agent=EVIDENCE_AGENT)
    db.session.commit()
    html = panel(login_as(colleague), sent.placement)
    item = link_item(html, sent.link)
    assert state_of(html, sent.link) == "answered"
    assert "Confirmed" in item
    assert "203.0.113.44" not in html and "Pixel 8" not in html
    assert "link-withdraw" not in html and "link-send" not in html
    # The officer sees the evidence.
    item = link_item(panel(login_as(officer), sent.placement), sent.link)
    assert "203.0.113.44" in item and EVIDENCE_AGENT in item


def test_another_officer_can_neither_withdraw_nor_send(sent, login_as, colleague):
    client = login_as(colleague)
    before = database_state()
    assert client.post_form(withdraw_url(sent.link)).status_code == 404
    assert client.post_form(send_url(sent.placement)).status_code == 404
    assert database_state() == before


def test_unknown_links_purposes_and_records_are_not_found(sent, login_as, officer):
    client = login_as(officer)
    before = database_state()
    for url in (
        "/links/999999/withdraw",
        send_url(sent.placement, "nonsense"),
        f"/links/placement/{sent.placement.id + 999}/confirm/new",
        f"/links/organisation/{sent.world.organisation.id}/confirm/new",
    ):
        assert client.post_form(url).status_code == 404, url
    assert database_state() == before


def test_the_buttons_refuse_a_post_without_csrf_token(sent, login_as, officer):
    client = login_as(officer)
    before = database_state()
    for url in (withdraw_url(sent.link), send_url(sent.placement)):
        response = client.post(url, data={})
        assert response.status_code == 400, url
    assert database_state() == before


def test_each_link_says_what_became_of_it(sent, login_as, officer, manager):
    first = sent.link
    second = links.send_new_link(LinkPurpose.CONFIRM_PLACEMENT, sent.placement, officer)
    db.session.commit()
    assert second is not None
    links.withdraw(second, manager)
    third = links.send_new_link(LinkPurpose.CONFIRM_PLACEMENT, sent.placement, officer)
    db.session.commit()
    assert third is not None
    sent.placement.hours_target += 4  # changed behind the service's back
    db.session.commit()

    html = panel(login_as(officer), sent.placement)

    assert state_of(html, first) == "replaced"
    assert state_of(html, second) == "withdrawn"
    assert "Withdrawn by Mia Manager" in link_item(html, second)
    assert state_of(html, third) == "changed"
    assert "link-withdraw" not in html  # none is open
    # Newest first.
    assert html.index(f"link-{third.id}") < html.index(f"link-{second.id}")
    assert html.index(f"link-{second.id}") < html.index(f"link-{first.id}")


def test_a_completed_placement_offers_the_evaluation_and_feedback_links(
    evaluation_sent, login_as, officer
):
    html = panel(login_as(officer), evaluation_sent.placement)
    assert "Send a new evaluation link" in html
    assert "Send a new feedback link" in html
    assert "confirmation link" not in html
    feedback = newest_link(evaluation_sent.placement, LinkPurpose.LEARNER_FEEDBACK)
    assert state_of(html, feedback) == "open"
    assert state_of(html, evaluation_sent.link) == "open"
    # The placement page shows the evaluations panel too (none yet).
    page = text(login_as(officer).get(f"/placements/{evaluation_sent.placement.id}"))
    assert 'id="evaluations"' in page


def test_an_answered_question_is_not_offered_again(evaluation_sent, login_as, officer):
    feedback = newest_link(evaluation_sent.placement, LinkPurpose.LEARNER_FEEDBACK)
    assert links.spend(feedback, "feedback", ip="198.51.100.3", user_agent="Phone")
    db.session.commit()
    client = login_as(officer)
    html = panel(client, evaluation_sent.placement)
    assert "Send a new feedback link" not in html
    assert "Feedback given" in link_item(html, feedback)
    before = count_rows(ActionLink)
    response = client.post_form(send_url(evaluation_sent.placement, "feedback"))
    assert flashes(text(client.get(response.location))) == [
        "This has already been answered: no new link is needed."
    ]
    assert count_rows(ActionLink) == before


def test_the_panel_costs_the_same_statements_for_one_link_as_for_twelve(
    sent, login_as, officer, manager, count_statements
):
    client = login_as(officer)
    url = f"/placements/{sent.placement.id}"

    def statements() -> int:
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    links.withdraw(sent.link, manager)
    db.session.commit()
    few = statements()
    for n in range(11):
        link = links.send_new_link(LinkPurpose.CONFIRM_PLACEMENT, sent.placement, officer)
        assert link is not None
        if n % 2:
            links.withdraw(link, officer if n % 4 == 1 else manager)
        db.session.commit()
    html = panel(client, sent.placement)
    assert html.count('class="py-2 border-top action-link"') == 12
    assert statements() == few


# --- withdrawing -------------------------------------------------------------------------------


def test_the_officer_withdraws_a_link_and_its_page_then_is_unavailable(
    sent, login_as, officer, client
):
    assert client.get(sent.path).status_code == 200
    staff = login_as(officer)

    response = staff.post_form(withdraw_url(sent.link))

    assert response.status_code == 302
    assert response.location.endswith(f"/placements/{sent.placement.id}#links")
    page = text(staff.get(response.location))
    assert flashes(page) == ["The link was withdrawn: it no longer works."]
    db.session.expire_all()
    link = links.get_link(sent.link.id)
    assert link is not None
    assert (link.end_reason, link.ended_by_id) == (LinkEnd.REVOKED, officer.id)
    item = link_item(section(page, "links", "section"), link)
    assert 'data-state="withdrawn"' in item and "Withdrawn by Olga Officer" in item
    # The employer's page now says only that the link no longer works.
    assert client.get(sent.path).status_code == 410
    # Withdrawn once: a second click (another tab) changes nothing.
    before = database_state()
    response = staff.post_form(withdraw_url(sent.link))
    assert flashes(text(staff.get(response.location))) == [
        "This link has already been answered or withdrawn."
    ]
    assert database_state() == before


def test_an_answered_link_cannot_be_withdrawn(sent, login_as, officer):
    assert links.spend(sent.link, "confirm", ip="203.0.113.5", user_agent="Phone")
    db.session.commit()
    client = login_as(officer)
    before = database_state()
    response = client.post_form(withdraw_url(sent.link))
    assert flashes(text(client.get(response.location))) == [
        "This link has already been answered or withdrawn."
    ]
    assert database_state() == before


# --- sending a new link --------------------------------------------------------------------------


def test_sending_a_new_link_replaces_the_open_one(sent, login_as, manager, client):
    staff = login_as(manager)
    emails_before = link_emails(sent.placement)

    response = staff.post_form(send_url(sent.placement))

    page = text(staff.get(response.location))
    assert flashes(page) == [
        "A new link was sent to Sven Supervisor (sven@kern.test). Earlier links no longer work."
    ]
    newer = newest_link(sent.placement, LinkPurpose.CONFIRM_PLACEMENT)
    assert newer.id != sent.link.id
    assert newer.created_by_id == manager.id
    assert link_emails(sent.placement) == emails_before + 1
    db.session.expire_all()
    assert links.get_link(sent.link.id).end_reason == LinkEnd.SUPERSEDED  # type: ignore[union-attr]
    html = section(page, "links", "section")
    assert state_of(html, sent.link) == "replaced"
    assert state_of(html, newer) == "open"
    assert client.get(sent.path).status_code == 410
    assert client.get(link_path(newer)).status_code == 200


def test_no_new_link_for_a_purpose_of_another_stage(sent, login_as, officer):
    client = login_as(officer)
    before = database_state()
    response = client.post_form(send_url(sent.placement, "evaluate"))
    assert flashes(text(client.get(response.location))) == [
        "A link for this cannot be sent at this stage."
    ]
    assert database_state() == before


def test_no_new_link_once_the_placement_moved_on(sent, login_as, officer):
    fire(sent.placement, "confirm", user=officer)
    db.session.commit()
    client = login_as(officer)
    assert "link-send" not in panel(client, sent.placement)
    before = count_rows(ActionLink)
    response = client.post_form(send_url(sent.placement))
    assert flashes(text(client.get(response.location))) == [
        "A link for this cannot be sent at this stage."
    ]
    assert count_rows(ActionLink) == before


def test_a_supervisor_without_address_gets_no_link_and_the_old_one_stays(sent, login_as, officer):
    sent.world.supervisor.email = ""
    db.session.commit()
    client = login_as(officer)
    before = database_state()
    response = client.post_form(send_url(sent.placement))
    assert flashes(text(client.get(response.location))) == [
        "No confirmation link could be sent: the supervisor has no e-mail address"
    ]
    assert database_state() == before


def test_the_panel_counts_the_reminders_sent(sent, login_as, officer, run_job):
    with time_machine.travel(sent.link.created_at + dt.timedelta(days=3), tick=False):
        assert run_job(send_link_reminders).handled == 1
    item = link_item(panel(login_as(officer), sent.placement), sent.link)
    assert "1 reminder (last " in item
