"""The placement pages send as many statements for 30 placements as for 3."""

from __future__ import annotations

import datetime as dt
import itertools

from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.workflow import service as workflow
from tests.core.helpers import text
from tests.factories import make_contact, make_learner, make_placement
from tests.partnerships.pages import board_columns
from tests.placements.support import PLACEMENT, YEAR_START, World, employer

STATES = list(PLACEMENT.states)


class Register:
    """Placements of many learners at many organisations, plus a focus learner, organisation
    and placement whose panels and history grow with them."""

    def __init__(self, world: World, manager) -> None:
        self.world = world
        self.manager = manager
        self.focus = world.placement(
            "requested", start_date=dt.date(2027, 7, 1), end_date=dt.date(2027, 7, 31)
        )
        self.size = 0
        self._n = itertools.count()

    def grow_to(self, size: int) -> None:
        while self.size < size:
            n = next(self._n)
            world = self.world
            organisation = employer(world.officer, nace_code=["25", "28", "10"][n % 3], pledge=3)
            make_contact(organisation, role=ContactRole.WORKPLACE_SUPERVISOR)
            learner = make_learner(world.officer, world.programme)
            make_placement(
                learner,
                STATES[n % len(STATES)],
                organisation=organisation,
                start_date=dt.date(2027, 3, 1),
                end_date=dt.date(2027, 4, 30),
            )
            # The focus learner's placements (five days each, one after another) at the focus
            # organisation, and two more steps in the focus placement's history.
            start = YEAR_START + dt.timedelta(days=8 * n)
            world.placement("completed", start_date=start, end_date=start + dt.timedelta(days=4))
            make_contact(world.organisation, role=ContactRole.WORKPLACE_SUPERVISOR)
            workflow.fire(self.focus, "postpone", user=self.manager, comment=f"Round {n}")
            workflow.fire(self.focus, "resume", user=self.manager)
            db.session.commit()
            self.size += 1


def statements(client, count_statements, urls: dict[str, str]) -> dict[str, int]:
    counts = {}
    for name, url in urls.items():
        with count_statements() as counter:
            response = client.get(url)
        assert response.status_code == 200, (url, text(response)[:500])
        counts[name] = counter.count
    return counts


def test_statement_counts_do_not_grow_with_the_data(
    ctx, login_as, world, manager, count_statements
):
    register = Register(world, manager)
    client = login_as(manager)
    learner, organisation = world.learner.id, world.organisation.id
    urls = {
        "list": "/placements/",
        "filtered list": f"/placements/?q=learner&cohort={world.cohort.id}&from=2027-01-01",
        "searched list": "/placements/?q=lernend",
        "board": "/placements/board",
        "searched board": "/placements/board?q=lernend&cohort=" + str(world.cohort.id),
        "placement": f"/placements/{register.focus.id}",
        "edit": f"/placements/{register.focus.id}/edit",
        "learner": f"/learners/{learner}",
        "matching": f"/placements/match?learner_id={learner}",
        "matching a request": (
            f"/placements/match?learner_id={learner}&placement_id={register.focus.id}"
        ),
        "organisation": f"/organisations/{organisation}",
    }

    register.grow_to(3)
    small = statements(client, count_statements, urls)
    board = board_columns(text(client.get(urls["board"])))
    assert sum(c.count for c in board.values()) == 3 + 3 + 1

    register.grow_to(30)
    large = statements(client, count_statements, urls)
    board = board_columns(text(client.get(urls["board"])))
    assert sum(c.count for c in board.values()) == 30 + 30 + 1
    assert "Showing 1–50 of 61" in text(client.get(urls["list"]))
    matching = text(client.get(urls["matching"]))
    assert matching.count('class="match-row"') > 10

    assert large == small
