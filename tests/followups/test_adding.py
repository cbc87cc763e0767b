"""Adding follow-ups by hand from organisation, contact and partnership pages."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from tests.core.helpers import count_rows, field_error, flashes, form_field, text
from tests.factories import make_contact, make_organisation, make_user
from tests.followups.support import add_follow_up, items
from tests.workflow.support import at, make_partnership

UTC = dt.UTC


@pytest.fixture
def colleague(ctx):
    """Another placement officer, in Helsinki, who owns none of the records."""
    return make_user(Role.OFFICER, name="Colin Colleague", timezone="Europe/Helsinki")


def add_form(subject="Send the brochure", due="2030-07-01T09:30", assignee=None, notes=""):
    data = {"follow_up-subject": subject, "follow_up-due_at": due, "follow_up-notes": notes}
    if assignee is not None:
        data["follow_up-assignee_id"] = str(assignee.id)
    return data


def only_follow_up() -> FollowUp:
    (follow_up,) = db.session.scalars(sa.select(FollowUp)).all()
    return follow_up


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2030-07-01T09:30", dt.datetime(2030, 7, 1, 6, 30, tzinfo=UTC)),  # summer: UTC+3
        ("2030-01-15T09:30", dt.datetime(2030, 1, 15, 7, 30, tzinfo=UTC)),  # winter: UTC+2
    ],
)
def test_the_due_time_is_typed_in_the_users_time_zone_and_stored_in_utc(
    ctx, login_as, officer, colleague, typed, stored
):
    organisation = make_organisation(officer)
    client = login_as(colleague)
    response = client.post_form(
        f"/follow-ups/new/organisation/{organisation.id}",
        add_form(due=typed, assignee=colleague, notes="Ask for Ms Weber."),
    )
    assert response.status_code == 302
    assert response.location == f"/organisations/{organisation.id}#follow-ups"
    page = text(client.get(response.location))
    assert flashes(page) == ["Follow-up added."]
    follow_up = only_follow_up()
    assert (follow_up.due_at, follow_up.subject, follow_up.notes) == (
        stored,
        "Send the brochure",
        "Ask for Ms Weber.",
    )
    assert (follow_up.record_type, follow_up.record_id, follow_up.organisation_id) == (
        "organisation",
        organisation.id,
        organisation.id,
    )
    assert (follow_up.assignee_id, follow_up.created_by_id, follow_up.created_by_rule) == (
        colleague.id,
        colleague.id,
        "",
    )
    assert follow_up.status == FollowUpStatus.OPEN
    # Shown back in the user's time zone, to the minute they typed.
    (shown,) = items(page, "follow-ups")
    assert f"due {typed[8:10]}/{typed[5:7]}/{typed[:4]}, {typed[11:]}" in shown.text


def test_anyone_may_add_to_any_record_and_it_goes_to_the_owner_by_default(
    ctx, login_as, officer, colleague
):
    organisation = make_organisation(officer)
    contact = make_contact(organisation)
    partnership = make_partnership(officer, organisation=organisation)
    client = login_as(colleague)
    for record_type, record_id, page in [
        ("organisation", organisation.id, f"/organisations/{organisation.id}"),
        ("contact", contact.id, f"/contacts/{contact.id}"),
        ("partnership", partnership.id, f"/partnerships/{partnership.id}"),
    ]:
        html = text(client.get(page))
        assert form_field(html, "follow_up-subject")["id"] == "follow_up-subject"
        owner_option = f'<option selected value="{officer.id}">Olga Officer</option>'
        assert owner_option in html, record_type
        form = client.get(f"/follow-ups/new/{record_type}/{record_id}")
        assert owner_option in text(form)
        response = client.post_form(
            f"/follow-ups/new/{record_type}/{record_id}",
            add_form(subject=f"About the {record_type}", assignee=officer),
        )
        assert response.location == f"{page}#follow-ups"
        assert [i.subject for i in items(text(client.get(page)), "follow-ups")] == [
            f"About the {record_type}"
        ]
    rows = db.session.scalars(sa.select(FollowUp).order_by(FollowUp.id)).all()
    assert [(f.record_type, f.organisation_id, f.assignee_id) for f in rows] == [
        ("organisation", organisation.id, officer.id),
        ("contact", organisation.id, officer.id),
        ("partnership", organisation.id, officer.id),
    ]


def test_an_officer_may_give_a_new_follow_up_to_anyone(ctx, login_as, officer, manager):
    organisation = make_organisation(officer)
    client = login_as(officer)
    client.post_form(f"/follow-ups/new/organisation/{organisation.id}", add_form(assignee=manager))
    assert only_follow_up().assignee_id == manager.id


def test_a_missing_subject_or_time_shows_the_form_again(ctx, login_as, officer):
    organisation = make_organisation(officer)
    client = login_as(officer)
    response = client.post_form(
        f"/follow-ups/new/organisation/{organisation.id}",
        add_form(subject="", due="", assignee=officer),
    )
    assert response.status_code == 422
    html = text(response)
    assert field_error(html, "follow_up-subject") == "This field is required."
    assert field_error(html, "follow_up-due_at") == "This field is required."
    assert count_rows(FollowUp) == 0


def test_a_deactivated_account_cannot_be_given_a_follow_up(ctx, login_as, officer):
    gone = make_user(Role.OFFICER, is_active_account=False)
    organisation = make_organisation(officer)
    response = login_as(officer).post_form(
        f"/follow-ups/new/organisation/{organisation.id}", add_form(assignee=gone)
    )
    assert response.status_code == 422
    assert field_error(text(response), "follow_up-assignee_id") == "Not a valid choice."
    assert count_rows(FollowUp) == 0


@pytest.mark.parametrize(
    "url", ["/follow-ups/new/organisation/999999", "/follow-ups/new/users/1", "/follow-ups/new/x/1"]
)
def test_unknown_records_are_404(ctx, login_as, officer, url):
    client = login_as(officer)
    assert client.get(url).status_code == 404
    assert client.post_form(url, add_form(assignee=officer)).status_code == 404


def test_anonymous_visitors_cannot_add(ctx, client, officer):
    organisation = make_organisation(officer)
    response = client.post_form(
        f"/follow-ups/new/organisation/{organisation.id}", add_form(assignee=officer)
    )
    assert response.location.startswith("/login")
    assert count_rows(FollowUp) == 0


def test_each_record_page_lists_only_its_own_open_follow_ups(ctx, login_as, officer, manager):
    organisation = make_organisation(officer)
    contact = make_contact(organisation)
    partnership = make_partnership(officer, "active", entered_at=at(3), organisation=organisation)
    late = add_follow_up(organisation, officer, utcnow() - dt.timedelta(hours=2), "Late one")
    soon = add_follow_up(organisation, manager, utcnow() + dt.timedelta(hours=2), "Soon one")
    add_follow_up(contact, officer, subject="About the contact")
    add_follow_up(partnership, officer, subject="About the partnership")
    done = add_follow_up(organisation, officer, subject="Done already")
    done.status = FollowUpStatus.DONE
    db.session.commit()

    client = login_as(officer)
    listed = items(text(client.get(f"/organisations/{organisation.id}")), "follow-ups")
    assert [(i.id, i.subject, i.overdue) for i in listed] == [
        (late.id, "Late one", True),
        (soon.id, "Soon one", False),
    ]
    assert "Mia Manager" in listed[1].text
    contact_page = text(client.get(f"/contacts/{contact.id}"))
    assert [i.subject for i in items(contact_page, "follow-ups")] == ["About the contact"]
    partnership_page = text(client.get(f"/partnerships/{partnership.id}"))
    assert [i.subject for i in items(partnership_page, "follow-ups")] == ["About the partnership"]
