"""My day: follow-ups by the user's own midnight, records past their SLA, a manager's view."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from crm.auth.models import Role
from crm.extensions import db
from crm.followups.models import FollowUpStatus
from tests.core.helpers import section, text
from tests.factories import make_contact, make_organisation, make_user
from tests.followups.support import add_follow_up, items, plain, subjects
from tests.workflow.support import at, make_partnership

UTC = dt.UTC
# 23:30 in Berlin (CET, UTC+1) on Sunday 10 March 2030: half an hour before the user's midnight,
# when it is still 22:30 on the same day in UTC.
NOW = dt.datetime(2030, 3, 10, 22, 30, tzinfo=UTC)


@pytest.fixture
def frozen():
    """The clock stopped at NOW, from before the logins (their cookies would expire)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def berliner(frozen, ctx):
    return make_user(Role.OFFICER, name="Bettina Berliner", timezone="Europe/Berlin")


@pytest.fixture
def organisation(berliner):
    return make_organisation(berliner, legal_name="Midnight Metal GmbH")


def day_lists(html: str) -> dict[str, list[str]]:
    return {name: subjects(html, name) for name in ("overdue", "today", "upcoming")}


def test_follow_ups_fall_into_overdue_today_and_upcoming_by_the_users_midnight(
    frozen, berliner, organisation, login_as
):
    def due(hours: float, subject: str):
        return add_follow_up(organisation, berliner, NOW + dt.timedelta(hours=hours), subject)

    due(-26, "Two days late")
    due(-0.5, "Half an hour late")  # 23:00 local
    due(0.25, "At a quarter to midnight")  # 23:45 local, still today
    due(0.75, "A quarter past midnight")  # 00:15 local tomorrow, though still today in UTC
    due(24 * 7, "In a week")
    due(24 * 7 + 0.49, "Last minute of the week")  # 23:59 local, seven days after today
    due(24 * 7 + 0.5, "Beyond the week")  # 00:00 local, the eighth day
    cancelled = due(-1, "Cancelled")
    cancelled.status = FollowUpStatus.CANCELLED
    done = due(1, "Done")
    done.status = FollowUpStatus.DONE
    db.session.commit()
    add_follow_up(organisation, make_user(Role.OFFICER), NOW, "Someone else's")

    client = login_as(berliner)
    html = text(client.get("/my-day"))
    assert day_lists(html) == {
        "overdue": ["Two days late", "Half an hour late"],
        "today": ["At a quarter to midnight"],
        "upcoming": ["A quarter past midnight", "In a week", "Last minute of the week"],
    }
    assert [i.overdue for i in items(html, "overdue")] == [True, True]
    assert all(i.record == "Midnight Metal GmbH" for i in items(html))
    assert all(i.can_change for i in items(html))

    # Half an hour later it is tomorrow in Berlin (though not yet in UTC).
    frozen.move_to(NOW + dt.timedelta(minutes=31), tick=False)
    assert day_lists(text(client.get("/my-day"))) == {
        "overdue": ["Two days late", "Half an hour late", "At a quarter to midnight"],
        "today": ["A quarter past midnight"],
        "upcoming": ["In a week", "Last minute of the week", "Beyond the week"],
    }


def test_the_same_moment_is_another_day_in_another_time_zone(frozen, ctx, login_as):
    # 22:30 UTC is 18:30 in New York (EDT since this morning): 23:30 UTC is still today there.
    new_yorker = make_user(Role.OFFICER, timezone="America/New_York")
    organisation = make_organisation(new_yorker)
    add_follow_up(organisation, new_yorker, NOW + dt.timedelta(hours=1), "Before supper")
    add_follow_up(organisation, new_yorker, NOW + dt.timedelta(hours=6, minutes=31), "Tomorrow")
    html = text(login_as(new_yorker).get("/my-day"))
    assert day_lists(html) == {"overdue": [], "today": ["Before supper"], "upcoming": ["Tomorrow"]}


def test_each_follow_up_links_its_record(frozen, berliner, organisation, login_as):
    contact = make_contact(organisation, first_name="Klara", last_name="Kranz")
    partnership = make_partnership(berliner, organisation=organisation)
    add_follow_up(organisation, berliner, NOW + dt.timedelta(hours=1), "Organisation")
    add_follow_up(contact, berliner, NOW + dt.timedelta(hours=2), "Contact")
    add_follow_up(partnership, berliner, NOW + dt.timedelta(hours=3), "Partnership")
    html = text(login_as(berliner).get("/my-day"))
    assert [(i.subject, i.record) for i in items(html, "upcoming")] == [
        ("Organisation", "Midnight Metal GmbH"),
        ("Contact", "Klara Kranz · Midnight Metal GmbH"),
        ("Partnership", "Partnership with Midnight Metal GmbH"),
    ]
    links = re.findall(r'<div class="small follow-up-record"><a href="([^"]+)"', html)
    assert links == [
        f"/organisations/{organisation.id}",
        f"/contacts/{contact.id}",
        f"/partnerships/{partnership.id}",
    ]


def test_actions_on_my_day_come_back_to_it(frozen, berliner, organisation, login_as):
    follow_up = add_follow_up(organisation, berliner, NOW - dt.timedelta(hours=1), "Late")
    client = login_as(berliner)
    html = text(client.get("/my-day"))
    assert 'name="next" value="/my-day"' in html
    response = client.post_form(
        f"/follow-ups/{follow_up.id}/snooze", {"by": "day", "next": "/my-day"}
    )
    assert response.location == "/my-day#follow-ups"
    assert day_lists(text(client.get("/my-day")))["today"] == []
    assert day_lists(text(client.get("/my-day")))["upcoming"] == ["Late"]


def late_partnerships(html: str, element_id: str) -> list[str]:
    block = section(html, element_id, "section")
    return [
        plain(name)
        for name in re.findall(r'<a href="/partnerships/\d+" class="fw-medium">(.*?)</a>', block)
    ]


def test_records_past_their_sla_split_by_whose_move_it_is(frozen, berliner, login_as):
    def partnership(name: str, state: str, days: float, owner=berliner):
        organisation = make_organisation(owner, legal_name=name)
        return make_partnership(owner, state, entered_at=at(days), organisation=organisation)

    partnership("Researched Late", "researched", 20)  # SLA 14, our move
    partnership("Identified Just Late", "identified", 22)  # SLA 21: 22 whole days is over
    partnership("Identified On Time", "identified", 21.9)  # 21 whole days: not yet
    partnership("Approached Late", "approached", 45)  # SLA 30, the employer's move
    partnership("Agreeing Late", "agreeing", 31)  # SLA 30, the employer's move
    partnership("Agreeing On Time", "agreeing", 10)
    partnership("Closed Long Ago", "closed", 400)  # final: no SLA
    partnership("Not Mine", "researched", 90, owner=make_user(Role.OFFICER))

    html = text(login_as(berliner).get("/my-day"))
    # Longest over first.
    assert late_partnerships(html, "waiting-on-us") == ["Researched Late", "Identified Just Late"]
    assert late_partnerships(html, "waiting-on-others") == ["Approached Late", "Agreeing Late"]
    others = plain(section(html, "waiting-on-others", "section"))
    assert "Approached" in others
    assert "15 days over" in others
    assert "employer's move" in others
    assert "1 day over" in plain(section(html, "waiting-on-us", "section"))


def test_nothing_to_do(frozen, berliner, login_as):
    html = text(login_as(berliner).get("/my-day"))
    assert items(html) == []
    for empty in (
        "Nothing overdue.",
        "Nothing else due today.",
        "Nothing planned for the next seven days.",
        "Nothing waits on us past its SLA.",
        "Nothing waits on the employer or learner past its SLA.",
    ):
        assert empty in html


def test_my_day_is_first_in_the_menu(frozen, berliner, make_client):
    client = make_client()
    assert client.login(berliner.email).location == "/organisations/"  # login leads on as before
    html = text(client.get("/organisations/"))
    menu = re.findall(r'<li class="nav-item"><a class="nav-link[^"]*" href="([^"]+)"', html)
    assert menu[:2] == ["/my-day", "/organisations/"]
    assert 'class="nav-link active" href="/my-day"' in text(client.get("/my-day"))


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_see_an_officers_day(frozen, berliner, organisation, login_as, role):
    boss = make_user(role, name="Bernd Boss")
    add_follow_up(organisation, berliner, NOW - dt.timedelta(hours=2), "Berliner's task")
    add_follow_up(organisation, boss, NOW - dt.timedelta(hours=2), "Boss's task")
    make_partnership(berliner, "researched", entered_at=at(30), organisation=organisation)
    client = login_as(boss)

    own = text(client.get("/my-day"))
    assert subjects(own, "overdue") == ["Boss's task"]
    assert 'id="officer-picker"' in own

    html = text(client.get(f"/my-day?officer={berliner.id}"))
    assert re.search(r'<h1[^>]*id="day-title">The day of Bettina Berliner</h1>', html)
    assert subjects(html, "overdue") == ["Berliner's task"]
    assert all(i.can_change for i in items(html))
    assert late_partnerships(html, "waiting-on-us") == ["Midnight Metal GmbH"]
    assert f'<option value="{berliner.id}" selected>Bettina Berliner</option>' in html
    assert f'name="next" value="/my-day?officer={berliner.id}"' in html

    assert client.get("/my-day?officer=999999").status_code == 404
    assert client.get("/my-day?officer=abc").status_code == 404


def test_officers_see_only_their_own_day(frozen, berliner, organisation, login_as):
    colleague = make_user(Role.OFFICER)
    add_follow_up(organisation, colleague, NOW - dt.timedelta(hours=2), "Colleague's task")
    client = login_as(berliner)
    assert client.get(f"/my-day?officer={colleague.id}").status_code == 404
    own = client.get(f"/my-day?officer={berliner.id}")
    assert own.status_code == 200
    assert items(text(own)) == []
    assert 'id="officer-picker"' not in text(own)


def test_anonymous_visitors_are_sent_to_the_login(ctx, client):
    assert client.get("/my-day").location.startswith("/login")
