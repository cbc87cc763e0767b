"""The partnership pages send as many statements for 30 partnerships as for 3."""

from __future__ import annotations

import datetime as dt
import itertools

from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.partnerships.models import Partnership
from crm.workflow import service as workflow
from tests.core.helpers import text
from tests.factories import make_activity, make_organisation, make_user
from tests.partnerships.pages import board_columns
from tests.workflow.support import PARTNERSHIP, at, make_partnership

STATES = list(PARTNERSHIP.states)
NACE = ["25", "62", "10", "43", "86"]
COUNTRIES = ["DE", "FR", "NL", "AT", "IT"]


class Register:
    """Partnerships across organisations, plus one organisation with a long history."""

    def __init__(self, officer, colleague, manager) -> None:
        self.owners = [officer, colleague]
        self.manager = manager
        self.focus_organisation = make_organisation(officer, legal_name="Focus Works GmbH")
        self.focus = make_partnership(
            officer, "approached", entered_at=at(40), organisation=self.focus_organisation
        )
        self.size = 0
        self._n = itertools.count()

    def grow_to(self, size: int) -> None:
        """Add partnerships elsewhere, and history to the focus organisation, up to `size`."""
        while self.size < size:
            n = next(self._n)
            owner = self.owners[n % 2]
            organisation = make_organisation(
                owner, nace_code=NACE[n % len(NACE)], country=COUNTRIES[n % len(COUNTRIES)]
            )
            state = STATES[n % len(STATES)]
            make_partnership(owner, state, entered_at=at(5 + 7 * n), organisation=organisation)
            self._grow_focus(owner, n)
            self.size += 1

    def _grow_focus(self, owner, n: int) -> None:
        old = Partnership(organisation_id=self.focus_organisation.id, owner_id=owner.id)
        workflow.start(old, PARTNERSHIP, now=at(400 + n))
        old.state = "closed"
        db.session.add(old)
        kind = (ActivityKind.CALL, ActivityKind.NOTE, ActivityKind.VISIT)[n % 3]
        make_activity(self.focus_organisation, owner, kind, occurred_at=at(1 + n / 10))
        db.session.add(
            FollowUp(
                subject=f"Follow-up {n}",
                due_at=utcnow() + dt.timedelta(days=n),
                assignee_id=owner.id,
                record_type="partnership",
                record_id=self.focus.id,
                organisation_id=self.focus_organisation.id,
            )
        )
        fire_at = at(30 - n / 10)
        workflow.fire(self.focus, "close", user=self.manager, comment=f"Round {n}", now=fire_at)
        workflow.fire(self.focus, "reopen", user=self.manager, comment="Again", now=fire_at)
        self.focus.state, self.focus.state_entered_at = "approached", at(40)
        db.session.commit()


def statements(client, count_statements, urls: dict[str, str]) -> dict[str, int]:
    counts = {}
    for name, url in urls.items():
        with count_statements() as counter:
            response = client.get(url)
        assert response.status_code == 200, (url, text(response)[:500])
        counts[name] = counter.count
    return counts


def test_statement_counts_do_not_grow_with_the_data(
    ctx, login_as, officer, manager, count_statements
):
    colleague = make_user(Role.OFFICER, name="Colin Colleague")
    register = Register(officer, colleague, manager)
    client = login_as(manager)
    urls = {
        "list": "/partnerships/",
        "board": "/partnerships/board",
        "partnership": f"/partnerships/{register.focus.id}",
        "organisation": f"/organisations/{register.focus_organisation.id}",
        "filtered list": "/partnerships/?sector=C&overdue=1",
    }

    register.grow_to(3)
    small = statements(client, count_statements, urls)
    board = board_columns(text(client.get(urls["board"])))
    assert sum(c.count for c in board.values()) == 3 + 1 + 3  # others, focus, closed at focus

    register.grow_to(30)
    large = statements(client, count_statements, urls)
    board = board_columns(text(client.get(urls["board"])))
    assert sum(c.count for c in board.values()) == 30 + 1 + 30
    list_page = text(client.get(urls["list"]))
    assert "Showing 1–50 of 61" in list_page

    assert large == small
