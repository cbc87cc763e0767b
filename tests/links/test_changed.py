"""Details changed while the employer is asked to confirm: the link already sent stops
working (CHANGED) and a new one goes to the supervisor now on record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink, LinkEnd, LinkPurpose
from crm.outbox.models import OutboxMessage
from crm.placements import service as placements
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from tests.core.helpers import count_rows, flashes, text
from tests.factories import make_contact
from tests.placements.support import build_world
from tests.portal.support import link_path, newest_link

CONFIRM = LinkPurpose.CONFIRM_PLACEMENT


def edit_form(placement: Placement, **changes: str) -> dict[str, str]:
    form = {
        "organisation_id": str(placement.organisation_id or 0),
        "supervisor_id": str(placement.supervisor_id or 0),
        "start_date": placement.start_date.isoformat() if placement.start_date else "",
        "end_date": placement.end_date.isoformat() if placement.end_date else "",
        "hours_target": str(placement.hours_target),
        "hours_logged": str(placement.hours_logged),
        "workplace_address": placement.workplace_address,
        "role_description": placement.role_description,
        "learning_objectives": placement.learning_objectives,
        "guardian_consent_on": "",
        "hours_shortfall_reason": "",
    }
    form.update(changes)
    return form


def save(client: Any, placement: Placement, **changes: str) -> list[str]:
    """Post the edit form; the messages shown on the placement page afterwards."""
    response = client.post_form(f"/placements/{placement.id}/edit", edit_form(placement, **changes))
    assert response.status_code == 302, text(response)[:2000]
    return flashes(text(client.get(response.location)))


def confirm_emails(placement: Placement) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(
                OutboxMessage.kind == "link_confirm_placement",
                OutboxMessage.record_id == placement.id,
            )
            .order_by(OutboxMessage.id)
        )
    )


def reread(link: ActionLink) -> ActionLink:
    db.session.expire_all()
    found = links.get_link(link.id)
    assert found is not None
    return found


def test_new_dates_end_the_old_link_and_send_a_new_one(sent, login_as, officer, client):
    messages = save(login_as(officer), sent.placement, end_date="2027-04-16")

    assert messages == [
        "Changes saved.",
        "The details asked about changed: the link already sent no longer works, and a new "
        "one was sent to Sven Supervisor (sven@kern.test).",
    ]
    old = reread(sent.link)
    assert (old.end_reason, old.ended_by_id) == (LinkEnd.CHANGED, officer.id)
    newer = newest_link(sent.placement, CONFIRM)
    assert newer.id != old.id and newer.spent_at is None and newer.ended_at is None
    assert newer.fingerprint != old.fingerprint
    _invitation, new_invitation = confirm_emails(sent.placement)
    assert new_invitation.to_email == "sven@kern.test"
    assert (new_invitation.template_values or {})["end_date"] == "16 April 2027"
    # The old link decides nothing any more; the new one shows the new dates.
    assert client.get(sent.path).status_code == 410
    page = client.get(link_path(newer))
    assert page.status_code == 200
    assert "16 April 2027" in text(page)


def test_the_old_link_no_longer_confirms(sent, login_as, officer, client):
    save(login_as(officer), sent.placement, start_date="2027-03-08")
    transitions = count_rows(WorkflowTransition)
    response = client.post_form(
        sent.path,
        {
            "decision": "confirm",
            "first_name": "Sven",
            "last_name": "Supervisor",
            "email": "sven@kern.test",
            "phone": "+49 40 123",
        },
    )
    assert response.status_code == 410
    db.session.expire_all()
    assert db.session.get(Placement, sent.placement.id).state == "awaiting_employer"  # type: ignore[union-attr]
    assert count_rows(WorkflowTransition) == transitions
    assert reread(sent.link).spent_at is None


def test_a_new_supervisor_gets_the_new_link(sent, login_as, officer):
    deputy = make_contact(
        sent.world.organisation,
        role=ContactRole.WORKPLACE_SUPERVISOR,
        first_name="Dora",
        last_name="Deputy",
        email="dora@kern.test",
    )
    messages = save(login_as(officer), sent.placement, supervisor_id=str(deputy.id))

    assert messages[-1].endswith("sent to Dora Deputy (dora@kern.test).")
    newer = newest_link(sent.placement, CONFIRM)
    assert (newer.recipient_email, newer.contact_id) == ("dora@kern.test", deputy.id)
    assert confirm_emails(sent.placement)[-1].to_email == "dora@kern.test"
    assert reread(sent.link).end_reason == LinkEnd.CHANGED


def test_a_new_supervisor_without_address_gets_no_link_and_the_officer_is_told(
    sent, login_as, officer
):
    nobody = make_contact(sent.world.organisation, role=ContactRole.WORKPLACE_SUPERVISOR, email="")
    messages = save(login_as(officer), sent.placement, supervisor_id=str(nobody.id))

    assert messages[-1] == (
        "The details asked about changed: the link already sent no longer works. "
        "No confirmation link could be sent: the supervisor has no e-mail address."
    )
    assert reread(sent.link).end_reason == LinkEnd.CHANGED
    assert newest_link(sent.placement, CONFIRM).id == sent.link.id
    assert count_rows(FollowUp, FollowUp.record_id == sent.placement.id) == 1


def test_a_change_the_employer_was_not_asked_about_keeps_the_link(sent, login_as, officer):
    # The address as the form saves it (an empty one becomes the organisation's), asked about.
    sent.placement.workplace_address = placements.organisation_address(sent.world.organisation)
    sent.link.fingerprint = purposes.placement_fingerprint(sent.placement)
    db.session.commit()

    messages = save(login_as(officer), sent.placement, hours_logged="6")

    assert messages == ["Changes saved."]
    assert reread(sent.link).ended_at is None
    assert newest_link(sent.placement, CONFIRM).id == sent.link.id
    assert len(confirm_emails(sent.placement)) == 1


def test_a_placement_not_awaiting_the_employer_sends_nothing(ctx, officer):
    world = build_world(officer)
    placement = world.placement(
        "matched", supervisor_id=world.supervisor.id, role_description="Welds."
    )
    reissued = placements.update_placement(
        placement,
        placements.values_of(placement, end_date=placement.end_date - dt.timedelta(days=7)),
        officer,
    )
    db.session.commit()
    assert reissued == []
    assert count_rows(ActionLink) == 0


def test_an_answered_link_is_not_replaced(sent, officer):
    assert links.spend(sent.link, "propose", ip="203.0.113.8", user_agent="Phone")
    db.session.commit()
    reissued = placements.update_placement(
        sent.placement, placements.values_of(sent.placement, hours_target=140), officer
    )
    db.session.commit()
    assert reissued == []
    assert count_rows(ActionLink) == 1
