"""Completing, snoozing, reassigning and cancelling follow-ups, and who may do it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine

from crm.activities.models import Activity, ActivityKind
from crm.auth.models import Role
from crm.extensions import db
from crm.followups.models import FollowUpStatus
from tests.core.helpers import count_rows, database_state, flashes, fresh, text
from tests.factories import make_contact, make_organisation, make_user
from tests.followups.support import add_follow_up, items

UTC = dt.UTC
NOW = dt.datetime(2030, 3, 12, 9, 0, tzinfo=UTC)  # 10:00 in Brussels


@pytest.fixture
def frozen():
    """The clock stopped at NOW (ask for it first, so that logins happen at NOW too: the
    session cookie of a login made earlier would have expired by then)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(ctx, officer, manager, admin):
    """The record's owner (officer), the assignee, the creator, and an outsider."""
    return {
        "owner": officer,
        "assignee": make_user(Role.OFFICER, name="Anna Assignee"),
        "creator": make_user(Role.OFFICER, name="Carl Creator"),
        "outsider": make_user(Role.OFFICER, name="Otto Outsider"),
        "manager": manager,
        "admin": admin,
    }


@pytest.fixture
def organisation(people):
    return make_organisation(people["owner"], legal_name="Follow Works GmbH")


@pytest.fixture
def follow_up(people, organisation):
    follow_up = add_follow_up(
        organisation,
        people["assignee"],
        NOW + dt.timedelta(days=2),
        "Send the placement brochure",
        created_by=people["creator"],
    )
    follow_up.reminder_sent_at = NOW - dt.timedelta(hours=1)
    db.session.commit()
    return follow_up


ACTIONS = {
    "complete": {},
    "snooze": {"by": "day"},
    "reassign": {"assignee_id": "{owner}"},
    "cancel": {},
}


def act(client, follow_up, action: str, people, **data):
    payload = {k: v.format(owner=people["owner"].id) for k, v in ACTIONS[action].items()}
    payload.update(data)
    return client.post_form(f"/follow-ups/{follow_up.id}/{action}", payload)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", ["assignee", "creator", "owner", "manager", "admin"])
def test_the_assignee_creator_owner_managers_and_admins_may_act(
    ctx, login_as, people, follow_up, organisation, action, who
):
    client = login_as(people[who])
    (shown,) = items(text(client.get(f"/organisations/{organisation.id}")), "follow-ups")
    assert shown.can_change
    response = act(client, follow_up, action, people)
    assert response.status_code == 302
    assert response.location == f"/organisations/{organisation.id}#follow-ups"
    assert flashes(text(client.get(response.location)))
    changed = fresh(follow_up)
    assert (changed.status, changed.due_at, changed.assignee_id) != (
        FollowUpStatus.OPEN,
        NOW + dt.timedelta(days=2),
        people["assignee"].id,
    )


@pytest.mark.parametrize("action", list(ACTIONS))
def test_another_officer_sees_no_actions_and_gets_404(
    ctx, login_as, people, follow_up, organisation, action
):
    client = login_as(people["outsider"])
    (shown,) = items(text(client.get(f"/organisations/{organisation.id}")), "follow-ups")
    assert not shown.can_change
    assert shown.subject == "Send the placement brochure"  # the register is shared
    before = database_state()
    assert act(client, follow_up, action, people).status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_missing_follow_up_answers_like_a_forbidden_one(ctx, login_as, people, action):
    response = login_as(people["manager"]).post_form(f"/follow-ups/999999/{action}", {})
    assert response.status_code == 404


def test_actions_need_the_csrf_token(ctx, login_as, people, follow_up):
    client = login_as(people["assignee"])
    response = client.post(f"/follow-ups/{follow_up.id}/cancel", data={})
    assert response.status_code == 400
    assert fresh(follow_up).status == FollowUpStatus.OPEN


def test_complete_without_activity(frozen, ctx, login_as, people, follow_up):
    client = login_as(people["assignee"])
    response = act(client, follow_up, "complete", people, kind="", text="")
    page = text(client.get(response.location))
    assert flashes(page) == ["Follow-up done."]
    assert items(page, "follow-ups") == []
    done = fresh(follow_up)
    assert (done.status, done.completed_at, done.completed_by_id) == (
        FollowUpStatus.DONE,
        NOW,
        people["assignee"].id,
    )
    assert count_rows(Activity) == 0


def test_complete_with_an_activity_on_a_contact_follow_up(
    frozen, ctx, login_as, people, organisation
):
    contact = make_contact(organisation, first_name="Petra", last_name="Paulsen")
    follow_up = add_follow_up(contact, people["assignee"], NOW + dt.timedelta(hours=1))
    client = login_as(people["assignee"])
    response = act(
        client, follow_up, "complete", people, kind="call", text="She will host two learners."
    )
    assert response.location == f"/contacts/{contact.id}#follow-ups"
    page = text(client.get(response.location))
    assert flashes(page) == ["Follow-up done; the activity is on the timeline."]
    (activity,) = db.session.scalars(sa.select(Activity)).all()
    assert (
        activity.kind,
        activity.occurred_at,
        activity.subject,
        activity.body,
        activity.organisation_id,
        activity.contact_id,
        activity.author_id,
    ) == (
        ActivityKind.CALL,
        NOW,
        "Call back about placements",
        "She will host two learners.",
        organisation.id,
        contact.id,
        people["assignee"].id,
    )
    assert fresh(follow_up).status == FollowUpStatus.DONE
    assert "She will host two learners." in page  # on the contact's timeline
    assert fresh(contact).last_activity_at == NOW


def test_complete_with_an_activity_on_an_organisation_follow_up(
    ctx, login_as, people, follow_up, organisation
):
    client = login_as(people["owner"])
    act(client, follow_up, "complete", people, kind="meeting", text="")
    (activity,) = db.session.scalars(sa.select(Activity)).all()
    assert (activity.kind, activity.subject, activity.contact_id, activity.author_id) == (
        ActivityKind.MEETING,
        "Send the placement brochure",
        None,
        people["owner"].id,
    )
    assert "Send the placement brochure" in text(client.get(f"/organisations/{organisation.id}"))


@pytest.mark.parametrize(
    ("by", "due", "expected"),
    [
        ("day", NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=3)),
        ("week", NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=9)),
        # Late: from now, not from the past due time, or it would still be late.
        ("day", NOW - dt.timedelta(days=3), NOW + dt.timedelta(days=1)),
    ],
)
def test_snooze_by_a_day_or_a_week_and_be_reminded_again(
    frozen, ctx, login_as, people, follow_up, by, due, expected
):
    follow_up.due_at = due
    db.session.commit()
    client = login_as(people["assignee"])
    response = act(client, follow_up, "snooze", people, by=by)
    assert flashes(text(client.get(response.location))) == ["Follow-up snoozed."]
    snoozed = fresh(follow_up)
    assert (snoozed.due_at, snoozed.reminder_sent_at, snoozed.status) == (
        expected,
        None,
        FollowUpStatus.OPEN,
    )


def test_snooze_until_a_time_typed_in_the_users_time_zone(frozen, ctx, login_as, people, follow_up):
    people["assignee"].timezone = "America/New_York"
    db.session.commit()
    client = login_as(people["assignee"])
    act(client, follow_up, "snooze", people, by="until", until="2030-03-20T08:15")
    snoozed = fresh(follow_up)
    assert snoozed.due_at == dt.datetime(2030, 3, 20, 12, 15, tzinfo=UTC)  # EDT, UTC-4
    assert snoozed.reminder_sent_at is None


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("", "Choose the date and time to snooze until."),
        ("2030-03-12T09:59", "Choose a time in the future."),  # 08:59 UTC, a minute ago
        ("yesterday", "Not a valid datetime value."),
    ],
)
def test_snooze_until_needs_a_time_in_the_future(
    frozen, ctx, login_as, people, follow_up, until, message
):
    client = login_as(people["assignee"])
    before = database_state()
    response = act(client, follow_up, "snooze", people, by="until", until=until)
    assert flashes(text(client.get(response.location))) == [message]
    assert database_state() == before


def test_reassign_to_a_colleague_who_is_reminded_again(ctx, login_as, people, follow_up):
    client = login_as(people["creator"])
    response = act(client, follow_up, "reassign", people, assignee_id=str(people["manager"].id))
    assert flashes(text(client.get(response.location))) == ["Follow-up given to Mia Manager."]
    moved = fresh(follow_up)
    assert (moved.assignee_id, moved.reminder_sent_at) == (people["manager"].id, None)
    # The former assignee is no longer involved: the follow-up is neither theirs nor their
    # record's, and they did not create it.
    assert act(login_as(people["assignee"]), follow_up, "cancel", people).status_code == 404


def test_reassign_to_a_deactivated_account_is_refused(ctx, login_as, people, follow_up):
    gone = make_user(Role.OFFICER, is_active_account=False)
    client = login_as(people["assignee"])
    response = act(client, follow_up, "reassign", people, assignee_id=str(gone.id))
    assert flashes(text(client.get(response.location))) == ["Not a valid choice."]
    assert fresh(follow_up).assignee_id == people["assignee"].id


def test_cancel(frozen, ctx, login_as, people, follow_up, organisation):
    client = login_as(people["manager"])
    response = act(client, follow_up, "cancel", people)
    page = text(client.get(response.location))
    assert flashes(page) == ["Follow-up cancelled."]
    assert items(page, "follow-ups") == []
    cancelled = fresh(follow_up)
    assert (cancelled.status, cancelled.completed_at, cancelled.completed_by_id) == (
        FollowUpStatus.CANCELLED,
        NOW,
        people["manager"].id,
    )


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_follow_up_that_is_no_longer_open_is_left_alone(ctx, login_as, people, follow_up, action):
    follow_up.status = FollowUpStatus.DONE
    db.session.commit()
    client = login_as(people["assignee"])
    before = database_state()
    response = act(client, follow_up, action, people)
    assert flashes(text(client.get(response.location))) == ["This follow-up is no longer open."]
    assert database_state() == before


def test_actions_return_to_the_page_they_came_from(ctx, login_as, people, follow_up):
    client = login_as(people["assignee"])
    response = act(client, follow_up, "snooze", people, next="/my-day")
    assert response.location == "/my-day#follow-ups"
    # Only to pages of this site.
    response = act(client, follow_up, "snooze", people, next="https://evil.example/")
    assert response.location.startswith("/organisations/")


def test_due_times_move_with_the_clock(frozen, ctx, login_as, people, follow_up, organisation):
    client = login_as(people["assignee"])
    url = f"/organisations/{organisation.id}"
    frozen.move_to(follow_up.due_at - dt.timedelta(minutes=1), tick=False)
    (shown,) = items(text(client.get(url)), "follow-ups")
    assert not shown.overdue
    frozen.move_to(follow_up.due_at + dt.timedelta(minutes=1), tick=False)
    (shown,) = items(text(client.get(url)), "follow-ups")
    assert shown.overdue
