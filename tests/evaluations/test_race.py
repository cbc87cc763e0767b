"""Two submissions of one evaluation link at the same moment: exactly one is recorded.

These tests commit for real, from two threads posting through the real link page with their
own clients, sessions and connections, so they run outside the rolled-back transaction
(marker `committed`) on an empty database that they leave empty. As for the confirmation
link (tests/portal/test_confirm_race.py), both defences are tried: the row lock the page
takes for a POST, and `spend`'s conditional UPDATE alone (PostgreSQL: both submissions read
the link open; only one UPDATE changes it, and the other request changes nothing else —
no second evaluation, pledge change, transition or e-mail).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.activities.models import Activity
from crm.auth.models import Role
from crm.evaluations.models import Evaluation, EvaluationRating
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import forget_verified_snapshots
from tests.evaluations.support import employer_form, with_skills
from tests.factories import make_user
from tests.portal.support import completed

pytestmark = pytest.mark.committed

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@dataclass(frozen=True)
class Arranged:
    placement_id: int
    organisation_id: int
    link_id: int
    path: str
    answers: list[dict[str, str]]  # what each browser sends: 3 learners per term, or none


@pytest.fixture
def arranged(app: Flask, empty_database: None) -> Iterator[Arranged]:
    """A completed placement with skills, its evaluation link sent; all committed."""
    with app.test_request_context("/"):
        world = with_skills(completed(make_user(Role.OFFICER, name="Olga Officer")))
        yes = employer_form(world, satisfaction="5", host_again_count="3")
        no = employer_form(world, satisfaction="2", host_again="no")
        ids = Arranged(
            world.placement.id,
            world.placement.organisation_id,
            world.link.id,
            world.path,
            [yes, no],
        )
        db.session.rollback()  # reading the ids began a transaction: end it before the race
    yield ids
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


def is_postgres(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def race(app: Flask, make_client: Callable[[], Any], arranged: Arranged) -> list[Any]:
    """Post the two answers from two browsers at once; (status, page) of each, or the error."""
    clients = [make_client(), make_client()]
    tokens = []
    for client in clients:  # both pages open, as in life
        match = CSRF.search(client.get(arranged.path).get_data(as_text=True))
        assert match
        tokens.append(match.group(1))
    outcomes: list[Any] = ["not run", "not run"]

    def post(index: int) -> None:
        try:
            response = clients[index].post(
                arranged.path,
                data={"csrf_token": tokens[index], **arranged.answers[index]},
                headers={"User-Agent": f"browser-{index}"},
            )
            outcomes[index] = (response.status_code, response.get_data(as_text=True))
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcomes[index] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return outcomes


@dataclass(frozen=True)
class Outcome:
    """What the database holds after the race."""

    state: str
    evaluations: list[int]  # satisfaction of each
    ratings: int
    pledge: int
    transitions: list[tuple[str, str]]
    officer_emails: int
    pledge_notes: int
    link_user_agent: str


def outcome(app: Flask, arranged: Arranged) -> Outcome:
    with app.app_context():
        placement = db.session.get(Placement, arranged.placement_id)
        organisation = db.session.get(Organisation, arranged.organisation_id)
        link = db.session.get(ActionLink, arranged.link_id)
        assert placement and organisation and link and link.spent_at is not None

        def count(model: Any, *where: Any) -> int:
            return int(
                db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0
            )

        return Outcome(
            placement.state,
            list(db.session.scalars(sa.select(Evaluation.satisfaction))),
            count(EvaluationRating),
            organisation.capacity_pledge,
            [
                (row.transition, row.actor_kind)
                for row in db.session.execute(
                    sa.select(WorkflowTransition.transition, WorkflowTransition.actor_kind)
                    .where(
                        WorkflowTransition.record_id == arranged.placement_id,
                        WorkflowTransition.transition == "evaluate",
                    )
                    .order_by(WorkflowTransition.id)
                )
            ],
            count(OutboxMessage, OutboxMessage.kind == "evaluation_received"),
            count(Activity, Activity.organisation_id == arranged.organisation_id),
            link.decided_user_agent,
        )


@pytest.mark.parametrize("row_lock", [True, False], ids=["row lock", "conditional update alone"])
def test_two_evaluations_at_the_same_moment_exactly_one_is_recorded(
    app, arranged, make_client, monkeypatch, row_lock
):
    postgres = is_postgres(app)
    real_find, real_spend = links.find, links.spend
    # SQLite's write transactions begin IMMEDIATE at the first statement, so there the two
    # requests meet before the link is read; on PostgreSQL without the row lock they meet
    # after both have read it open, just before spending it.
    together = threading.Barrier(2, timeout=30)
    meet_before_spend = postgres and not row_lock
    spent: list[bool] = []

    def find(token: str, *, lock: bool = False) -> Any:
        if lock and not meet_before_spend:
            together.wait()
        return real_find(token, lock=lock and row_lock)

    def spend(link: ActionLink, *args: Any, **kwargs: Any) -> bool:
        if meet_before_spend:
            together.wait()
        result = real_spend(link, *args, **kwargs)
        spent.append(result)
        return result

    monkeypatch.setattr(links, "find", find)
    monkeypatch.setattr(links, "spend", spend)

    outcomes = race(app, make_client, arranged)

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    assert sorted(status for status, _page in outcomes) == [200, 303], outcomes
    winner = next(i for i, (status, _page) in enumerate(outcomes) if status == 303)
    assert "your evaluation was received on" in outcomes[1 - winner][1]
    assert outcome(app, arranged) == Outcome(
        state="evaluated",
        evaluations=[[5, 2][winner]],
        ratings=3,
        pledge=[3, 0][winner],
        transitions=[("evaluate", "employer")],
        officer_emails=1,
        pledge_notes=1,
        link_user_agent=f"browser-{winner}",
    )
    if meet_before_spend:
        assert sorted(spent) == [False, True]
    else:
        assert spent == [True]
