"""The calendar feed: a secret, renewable address serving a user's open follow-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from html import unescape

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from crm.auth.models import Role, User
from crm.extensions import db
from crm.followups.models import FollowUpStatus
from tests.core.helpers import database_state, fresh, text
from tests.factories import make_contact, make_organisation, make_user
from tests.followups.support import add_follow_up
from tests.workflow.support import make_partnership

UTC = dt.UTC
BASE_URL = "https://crm.example.org"
_FEED_URL = re.compile(r'id="calendar-url" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _base_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_BASE_URL", BASE_URL)


def renew(client) -> str:
    """Press the account page's button; the feed address it shows (once)."""
    response = client.post_form("/account", {"cal-submit": "1"})
    assert response.status_code == 200
    match = _FEED_URL.search(text(response))
    assert match, "no feed address on the page"
    return unescape(match.group(1))


def feed_path(url: str) -> str:
    assert url.startswith(f"{BASE_URL}/calendar/") and url.endswith(".ics"), url
    return url.removeprefix(BASE_URL)


def events(client, path: str) -> dict[str, dict[str, object]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.get_data())
    found = {}
    for event in calendar.walk("VEVENT"):
        found[str(event["UID"])] = {
            "start": event.decoded("DTSTART"),
            "summary": str(event["SUMMARY"]),
            "description": str(event["DESCRIPTION"]),
            "url": str(event.get("URL", "")),
            "modified": event.decoded("LAST-MODIFIED"),
        }
    return found


def uid(follow_up) -> str:
    return f"follow-up-{follow_up.id}@crm.example.org"


def test_the_feed_holds_exactly_the_users_open_follow_ups(ctx, login_as, officer, client):
    organisation = make_organisation(officer, legal_name="Calendar Crafts GmbH")
    contact = make_contact(organisation, first_name="Carla", last_name="Clock")
    partnership = make_partnership(officer, organisation=organisation)
    due = dt.datetime(2030, 5, 6, 7, 30, tzinfo=UTC)
    on_organisation = add_follow_up(organisation, officer, due, "Send the brochure", notes="PDF")
    on_contact = add_follow_up(contact, officer, due + dt.timedelta(days=1), "Call Carla")
    on_partnership = add_follow_up(partnership, officer, due - dt.timedelta(days=9), "Late one")
    done = add_follow_up(organisation, officer, due, "Done")
    done.status = FollowUpStatus.DONE
    cancelled = add_follow_up(organisation, officer, due, "Cancelled")
    cancelled.status = FollowUpStatus.CANCELLED
    db.session.commit()
    add_follow_up(organisation, make_user(Role.OFFICER), due, "Someone else's")

    path = feed_path(renew(login_as(officer)))
    found = events(client, path)  # an anonymous client: the address is the key
    assert set(found) == {uid(on_organisation), uid(on_contact), uid(on_partnership)}
    first = found[uid(on_organisation)]
    assert first["start"] == due
    assert first["summary"] == "Send the brochure"
    assert first["url"] == f"{BASE_URL}/organisations/{organisation.id}"
    assert first["description"] == (
        f"Calendar Crafts GmbH\n{BASE_URL}/organisations/{organisation.id}\nPDF"
    )
    assert first["modified"] == fresh(on_organisation).updated_at.replace(microsecond=0)
    assert found[uid(on_contact)]["url"] == f"{BASE_URL}/contacts/{contact.id}"
    assert found[uid(on_partnership)]["url"] == f"{BASE_URL}/partnerships/{partnership.id}"
    assert found[uid(on_partnership)]["description"].startswith(
        "Partnership with Calendar Crafts GmbH\n"
    )


def test_uids_stay_while_the_follow_up_moves(ctx, login_as, officer, client):
    organisation = make_organisation(officer)
    follow_up = add_follow_up(organisation, officer, dt.datetime(2030, 5, 6, 7, 30, tzinfo=UTC))
    owner = login_as(officer)
    path = feed_path(renew(owner))
    before = events(client, path)
    owner.post_form(f"/follow-ups/{follow_up.id}/snooze", {"by": "week"})
    after = events(client, path)
    assert set(before) == set(after) == {uid(follow_up)}
    assert after[uid(follow_up)]["start"] == dt.datetime(2030, 5, 13, 7, 30, tzinfo=UTC)
    owner.post_form(f"/follow-ups/{follow_up.id}/complete", {})
    assert events(client, path) == {}


def test_only_the_hash_of_the_token_is_stored(ctx, login_as, officer):
    url = renew(login_as(officer))
    token = url.removeprefix(f"{BASE_URL}/calendar/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    stored = fresh(officer).calendar_token_hash
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    everything = repr(database_state())
    assert token not in everything
    assert stored in everything


def test_the_address_is_shown_once(ctx, login_as, officer):
    client = login_as(officer)
    page = text(client.get("/account"))
    assert "calendar-url" not in page
    assert "Create a feed address" in page
    renew(client)
    page = text(client.get("/account"))
    assert "calendar-url" not in page
    assert 'id="calendar-active"' in page
    assert "Renew the feed address" in page


def test_renewing_stops_the_old_address(ctx, login_as, officer, client):
    add_follow_up(make_organisation(officer), officer)
    owner = login_as(officer)
    old = feed_path(renew(owner))
    assert client.get(old).status_code == 200
    new = feed_path(renew(owner))
    assert new != old
    assert client.get(old).status_code == 404
    assert len(events(client, new)) == 1


@pytest.mark.parametrize(
    "path", ["/calendar/not-a-token.ics", f"/calendar/{'x' * 300}.ics", "/calendar/a.b.ics"]
)
def test_unknown_tokens_are_404(ctx, client, officer, path):
    assert client.get(path).status_code == 404


def test_a_deactivated_account_has_no_feed(ctx, login_as, officer, client):
    path = feed_path(renew(login_as(officer)))
    officer.is_active_account = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_each_user_has_their_own_feed(ctx, login_as, officer, manager, client):
    organisation = make_organisation(officer)
    mine = add_follow_up(organisation, officer)
    theirs = add_follow_up(organisation, manager)
    assert set(events(client, feed_path(renew(login_as(officer))))) == {uid(mine)}
    assert set(events(client, feed_path(renew(login_as(manager))))) == {uid(theirs)}
    hashes = db.session.scalars(sa.select(User.calendar_token_hash).order_by(User.id)).all()
    assert len(set(hashes)) == 2


def test_workflow_subjects_are_in_the_users_language(ctx, login_as, client):
    german = make_user(Role.OFFICER, locale="de")
    organisation = make_organisation(german)
    follow_up = add_follow_up(organisation, german, subject="Call them")
    follow_up.subject = "Send the memorandum of understanding"
    follow_up.created_by_rule = "partnership.analyse_needs"
    db.session.commit()
    by_hand = add_follow_up(organisation, german, subject="Send the memorandum of understanding")
    found = events(client, feed_path(renew(login_as(german))))
    assert found[uid(follow_up)]["summary"] == "Kooperationsvereinbarung versenden"
    assert found[uid(by_hand)]["summary"] == "Send the memorandum of understanding"  # as typed
