"""My day and the record pages send as many statements for 30 follow-ups as for 3."""

from __future__ import annotations

import datetime as dt
import itertools

from crm.auth.models import Role
from crm.db import utcnow
from tests.core.helpers import text
from tests.factories import make_contact, make_organisation, make_user
from tests.followups.support import add_follow_up, items
from tests.workflow.support import at, make_partnership

STATES = [("researched", 20), ("approached", 45), ("identified", 30), ("agreeing", 40)]


class Portfolio:
    """An officer's records with follow-ups in every bucket and partnerships past their SLA."""

    def __init__(self, officer, colleague) -> None:
        self.officer = officer
        self.colleague = colleague
        self.home = make_organisation(officer, legal_name="Home Base GmbH")
        self.home_contact = make_contact(self.home)
        self.home_partnership = make_partnership(officer, organisation=self.home)
        self.follow_ups = 0
        self._n = itertools.count()

    def grow_to(self, follow_ups: int) -> None:
        while self.follow_ups < follow_ups:
            n = next(self._n)
            organisation = make_organisation(self.officer)
            contact = make_contact(organisation)
            state, days = STATES[n % len(STATES)]
            partnership = make_partnership(
                self.officer, state, entered_at=at(days), organisation=organisation
            )
            record = (organisation, contact, partnership)[n % 3]
            hours = (-30, -1, 1, 30, 100)[n % 5]
            creator = (self.officer, self.colleague)[n % 2]
            add_follow_up(
                record, self.officer, utcnow() + dt.timedelta(hours=hours), f"Task {n}", creator
            )
            # The same on the home records, whose pages are counted too.
            home = (self.home, self.home_contact, self.home_partnership)[n % 3]
            add_follow_up(home, (self.officer, self.colleague)[n % 2], subject=f"Home {n}")
            self.follow_ups += 1


def statements(client, count_statements, url: str) -> tuple[int, str]:
    with count_statements() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, text(response)


def test_the_same_number_of_statements_for_3_and_30_follow_ups(
    ctx, login_as, officer, manager, count_statements
):
    colleague = make_user(Role.OFFICER)
    portfolio = Portfolio(officer, colleague)
    urls = {
        "my day": (officer, "/my-day"),
        "an officer's day": (manager, f"/my-day?officer={officer.id}"),
        "organisation": (colleague, f"/organisations/{portfolio.home.id}"),
        "contact": (colleague, f"/contacts/{portfolio.home_contact.id}"),
        "partnership": (colleague, f"/partnerships/{portfolio.home_partnership.id}"),
    }
    clients = {user.id: login_as(user) for user in (officer, manager, colleague)}
    counts = {}
    for size in (3, 30):
        portfolio.grow_to(size)
        for name, (user, url) in urls.items():
            count, html = statements(clients[user.id], count_statements, url)
            shown = items(html)
            assert len(shown) >= (size * 4 // 5 if "day" in name else size // 3), (name, size)
            counts[name, size] = count
            if "day" in name:  # the partnerships past their SLA are listed too
                assert html.count("late-record") >= size * 3 // 4, (name, size)
    for name in urls:
        assert counts[name, 3] == counts[name, 30], (name, counts)
    # My day: the user, the follow-ups with their records, the late partnerships, the people.
    assert counts["my day", 30] <= 5, counts
