"""Activities: logging notes, calls, e-mails, meetings and visits; the timelines."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity, ActivityKind
from crm.activities.service import ActivityError, ActivityValues, log_activity
from crm.extensions import db
from tests.core.helpers import count_rows, field_error, flashes, fresh, is_invalid, section, text
from tests.factories import make_activity, make_contact, make_organisation, make_user
from tests.register.forms import activity_form

UTC = dt.UTC


@pytest.fixture
def organisation(officer):
    return make_organisation(officer, legal_name="Timeline Works GmbH")


def logged(organisation) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.organisation_id == organisation.id)
            .order_by(Activity.id)
        )
    )


def timeline_subjects(html: str) -> list[str]:
    return re.findall(r"<strong>(.*?)</strong>", section(html, "timeline", "ol"))


def test_log_every_kind_of_activity_on_an_organisation(ctx, login_as, officer, organisation):
    client = login_as(officer)
    kinds = ["note", "call", "email", "meeting", "visit"]
    for day, kind in enumerate(kinds, start=1):
        response = client.post_form(
            f"/activities/new/{organisation.id}",
            activity_form(
                kind=kind,
                occurred_at=f"2024-05-0{day}T10:30",
                subject=f"{kind} subject",
                body=f"What happened in the {kind}.",
            ),
        )
        assert response.status_code == 302
        assert response.location == f"/organisations/{organisation.id}"
    activities = logged(organisation)
    assert [a.kind for a in activities] == [ActivityKind(k) for k in kinds]
    assert {a.author_id for a in activities} == {officer.id}
    assert all(a.contact_id is None for a in activities)

    page = text(client.get(f"/organisations/{organisation.id}"))
    assert "Activity logged." in flashes(page)
    timeline = section(page, "timeline", "ol")
    # Newest first.
    assert timeline_subjects(page) == [f"{kind} subject" for kind in reversed(kinds)]
    for label in ("Note", "Call", "E-mail", "Meeting", "Visit"):
        assert f">{label}</span>" in timeline
    assert "What happened in the meeting." in timeline
    assert timeline.count("Olga Officer") == len(kinds)
    assert fresh(organisation).last_activity_at == dt.datetime(2024, 5, 5, 8, 30, tzinfo=UTC)


def test_timeline_is_newest_first_whatever_the_order_of_logging(
    ctx, login_as, officer, organisation
):
    colleague = make_user("officer", name="Colin Colleague")
    make_activity(
        organisation, officer, occurred_at=dt.datetime(2024, 3, 1, tzinfo=UTC), subject="March"
    )
    make_activity(
        organisation, colleague, occurred_at=dt.datetime(2024, 5, 1, tzinfo=UTC), subject="May"
    )
    make_activity(
        organisation, officer, occurred_at=dt.datetime(2024, 4, 1, tzinfo=UTC), subject="April"
    )
    page = text(login_as(officer).get(f"/organisations/{organisation.id}"))
    assert timeline_subjects(page) == ["May", "April", "March"]
    timeline = section(page, "timeline", "ol")
    assert timeline.index("Colin Colleague") < timeline.index("Olga Officer")
    # The latest activity counts, not the last one logged.
    assert fresh(organisation).last_activity_at == dt.datetime(2024, 5, 1, tzinfo=UTC)


def test_empty_timeline_says_so(ctx, login_as, officer, organisation):
    page = text(login_as(officer).get(f"/organisations/{organisation.id}"))
    assert 'id="timeline-empty"' in page
    assert "Nothing logged yet." in page


def test_log_an_activity_from_a_contact_page(ctx, login_as, officer, organisation):
    contact = make_contact(organisation, first_name="Ana", last_name="Silva")
    client = login_as(officer)
    contact_page = text(client.get(f"/contacts/{contact.id}"))
    assert 'name="back" value="contact"' in contact_page
    response = client.post_form(
        f"/activities/new/{organisation.id}",
        activity_form(
            kind="meeting",
            contact_id=str(contact.id),
            back="contact",
            subject="Visit planning",
            occurred_at="2024-06-03T14:00",
        ),
    )
    assert response.status_code == 302
    assert response.location == f"/contacts/{contact.id}"
    (activity,) = logged(organisation)
    assert (activity.contact_id, activity.kind) == (contact.id, ActivityKind.MEETING)
    expected_time = dt.datetime(2024, 6, 3, 12, 0, tzinfo=UTC)  # Brussels is UTC+2 in June
    assert fresh(contact).last_activity_at == expected_time
    assert fresh(organisation).last_activity_at == expected_time

    page = text(client.get(response.location))
    assert "Activity logged." in flashes(page)
    assert timeline_subjects(page) == ["Visit planning"]
    organisation_page = text(client.get(f"/organisations/{organisation.id}"))
    timeline = section(organisation_page, "timeline", "ol")
    assert "Visit planning" in timeline
    assert f'with <a href="/contacts/{contact.id}">Ana Silva</a>' in timeline


def test_contact_timeline_shows_only_that_contacts_activities(ctx, login_as, officer, organisation):
    ana = make_contact(organisation, first_name="Ana", last_name="Silva")
    ben = make_contact(organisation, first_name="Ben", last_name="Berg")
    make_activity(organisation, officer, subject="With Ana", contact_id=ana.id)
    make_activity(organisation, officer, subject="With Ben", contact_id=ben.id)
    make_activity(organisation, officer, subject="With nobody")
    client = login_as(officer)
    assert timeline_subjects(text(client.get(f"/contacts/{ana.id}"))) == ["With Ana"]
    assert set(timeline_subjects(text(client.get(f"/organisations/{organisation.id}")))) == {
        "With Ana",
        "With Ben",
        "With nobody",
    }


def test_future_time_is_a_field_error(ctx, login_as, officer, organisation):
    next_week = (dt.datetime.now(UTC) + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = login_as(officer).post_form(
        f"/activities/new/{organisation.id}", activity_form(occurred_at=next_week)
    )
    assert response.status_code == 422
    page = text(response)
    assert is_invalid(page, "occurred_at")
    assert field_error(page, "occurred_at") == (
        "An activity cannot lie in the future; plan it as a follow-up."
    )
    assert "They can take two learners in autumn." in page  # what was typed is kept
    assert count_rows(Activity) == 0


def test_a_few_minutes_ahead_is_tolerated(ctx, login_as, officer, organisation):
    # Clocks differ a little; "now" on a fast device must not be refused.
    in_two_minutes = dt.datetime.now(UTC) + dt.timedelta(minutes=2)
    values = ActivityValues(kind=ActivityKind.CALL, occurred_at=in_two_minutes, subject="Now")
    log_activity(organisation, values, officer)
    assert count_rows(Activity) == 1


def test_empty_subject_and_body_is_a_field_error(ctx, login_as, officer, organisation):
    response = login_as(officer).post_form(
        f"/activities/new/{organisation.id}", activity_form(subject="  ", body="")
    )
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "body") == "Write a subject or a few words about what happened."
    assert count_rows(Activity) == 0


def test_missing_or_bad_time_is_a_field_error(ctx, login_as, officer, organisation):
    client = login_as(officer)
    for value in ("", "yesterday", "2024-13-01T10:00"):
        response = client.post_form(
            f"/activities/new/{organisation.id}", activity_form(occurred_at=value)
        )
        assert response.status_code == 422, value
        assert is_invalid(text(response), "occurred_at"), value
    assert count_rows(Activity) == 0


def test_a_contact_of_another_organisation_is_refused(ctx, login_as, officer, organisation):
    elsewhere = make_organisation(officer, legal_name="Elsewhere Ltd")
    stranger = make_contact(elsewhere, first_name="Sam", last_name="Stranger")
    response = login_as(officer).post_form(
        f"/activities/new/{organisation.id}", activity_form(contact_id=str(stranger.id))
    )
    assert response.status_code == 422
    assert is_invalid(text(response), "contact_id")
    assert count_rows(Activity) == 0
    assert fresh(stranger).last_activity_at is None


def test_the_service_refuses_a_contact_of_another_organisation(ctx, officer, organisation):
    elsewhere = make_organisation(officer, legal_name="Elsewhere Ltd")
    stranger = make_contact(elsewhere)
    values = ActivityValues(
        kind=ActivityKind.CALL,
        occurred_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
        subject="x",
        contact_id=stranger.id,
    )
    with pytest.raises(ActivityError, match="does not belong to the organisation"):
        log_activity(organisation, values, officer)


def test_activity_on_an_unknown_organisation_is_404(ctx, login_as, officer):
    client = login_as(officer)
    assert client.get("/activities/new/999999").status_code == 404
    assert client.post_form("/activities/new/999999", activity_form()).status_code == 404


def test_the_activity_page_shows_the_form(ctx, login_as, officer, organisation):
    page = text(login_as(officer).get(f"/activities/new/{organisation.id}"))
    assert 'id="activity-form"' in page
    assert "Timeline Works GmbH" in page


@pytest.mark.parametrize(
    ("timezone", "entered", "stored_utc"),
    [
        ("Europe/Lisbon", "2024-01-15T10:00", dt.datetime(2024, 1, 15, 10, 0, tzinfo=UTC)),
        ("Europe/Berlin", "2024-01-15T10:00", dt.datetime(2024, 1, 15, 9, 0, tzinfo=UTC)),
        ("Europe/Berlin", "2024-07-15T10:00", dt.datetime(2024, 7, 15, 8, 0, tzinfo=UTC)),
        ("Europe/Helsinki", "2024-01-15T10:00", dt.datetime(2024, 1, 15, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_time_entered_is_in_the_users_time_zone(ctx, login_as, timezone, entered, stored_utc):
    user = make_user("officer", timezone=timezone)
    organisation = make_organisation(user)
    client = login_as(user)
    response = client.post_form(
        f"/activities/new/{organisation.id}", activity_form(occurred_at=entered)
    )
    assert response.status_code == 302
    (activity,) = logged(organisation)
    assert activity.occurred_at == stored_utc
    # ... and it is shown back in the same local time.
    page = text(client.get(f"/organisations/{organisation.id}"))
    assert "10:00" in section(page, "timeline", "ol")


def test_the_same_moment_is_shown_in_each_users_time_zone(ctx, login_as, organisation, officer):
    make_activity(organisation, officer, occurred_at=dt.datetime(2024, 1, 15, 10, 0, tzinfo=UTC))
    lisbon = login_as(make_user("officer", timezone="Europe/Lisbon"))
    berlin = login_as(make_user("officer", timezone="Europe/Berlin"))
    lisbon_timeline = section(
        text(lisbon.get(f"/organisations/{organisation.id}")), "timeline", "ol"
    )
    berlin_timeline = section(
        text(berlin.get(f"/organisations/{organisation.id}")), "timeline", "ol"
    )
    assert "10:00" in lisbon_timeline
    assert "11:00" in berlin_timeline
