"""Two submissions of one confirmation link at the same moment: exactly one decides.

The race tests commit for real, from two threads that post through the real link page with
their own clients, sessions and connections, so they run outside the rolled-back transaction
(marker `committed`) on an empty database that they leave empty.

Two defences are proved. The page locks the link's row for a POST (PostgreSQL: the second
submission waits for the first one's commit, then finds the link spent; SQLite: BEGIN
IMMEDIATE serialises the two requests). And `spend` is a conditional UPDATE: with the row
lock taken away, both submissions read the link open on PostgreSQL, and still only one
UPDATE changes it; the other changes nothing else.
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

from crm.auth.models import Role
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import forget_verified_snapshots
from tests.factories import make_user
from tests.portal.support import Sent, awaiting_employer

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
ANSWERS = {
    "confirm": {
        "decision": "confirm",
        "first_name": "Sven",
        "last_name": "Supervisor",
        "email": "sven@kern.test",
    },
    "decline": {"decision": "decline", "reason": "no_capacity", "details": ""},
}
STATES = {"confirm": "confirmed", "decline": "declined"}
TRANSITIONS = {"confirm": "confirm", "decline": "decline"}


def csrf_token(client: Any, path: str) -> str:
    """Open the page as the employer's browser does; the token of its form."""
    response = client.get(path)
    assert response.status_code == 200
    match = CSRF.search(response.get_data(as_text=True))
    assert match
    return match.group(1)


# --- racing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arranged:
    placement_id: int
    link_id: int
    path: str


@pytest.fixture
def arranged(app: Flask, empty_database: None) -> Iterator[Arranged]:
    """A placement awaiting the employer, its link sent; all committed."""
    with app.test_request_context("/"):
        sent = awaiting_employer(make_user(Role.OFFICER, name="Olga Officer"))
        ids = Arranged(sent.placement.id, sent.link.id, sent.path)
        db.session.rollback()  # reading the ids began a transaction: end it before the race
    yield ids
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


def is_postgres(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def race(app: Flask, make_client: Callable[[], Any], path: str, answers: list[str]) -> list[Any]:
    """Post the two answers from two browsers at once; (status, page) of each, or the error."""
    clients = [make_client() for _ in answers]
    tokens = [csrf_token(client, path) for client in clients]  # both pages open, as in life
    outcomes: list[Any] = ["not run", "not run"]

    def post(index: int) -> None:
        try:
            response = clients[index].post(
                path,
                data={"csrf_token": tokens[index], **ANSWERS[answers[index]]},
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
    transitions: list[tuple[str, str]]
    officer_emails: int
    link_decision: str
    link_user_agent: str


def outcome(app: Flask, arranged: Arranged) -> Outcome:
    with app.app_context():
        placement = db.session.get(Placement, arranged.placement_id)
        link = db.session.get(ActionLink, arranged.link_id)
        assert placement is not None and link is not None and link.spent_at is not None
        transitions = db.session.execute(
            sa.select(WorkflowTransition.transition, WorkflowTransition.actor_kind)
            .where(
                WorkflowTransition.record_type == "placement",
                WorkflowTransition.record_id == arranged.placement_id,
                WorkflowTransition.transition != "ask_employer",
            )
            .order_by(WorkflowTransition.id)
        ).all()
        emails = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "link_answered")
        )
        return Outcome(
            placement.state,
            [tuple(row) for row in transitions],  # type: ignore[misc]
            int(emails or 0),
            link.decision,
            link.decided_user_agent,
        )


@pytest.mark.committed
@pytest.mark.parametrize("row_lock", [True, False], ids=["row lock", "conditional update alone"])
@pytest.mark.parametrize(
    "answers", [["confirm", "confirm"], ["confirm", "decline"]], ids=lambda a: "+".join(a)
)
def test_two_submissions_at_the_same_moment_exactly_one_decides(
    app, arranged, make_client, monkeypatch, row_lock, answers
):
    postgres = is_postgres(app)
    real_find, real_spend = links.find, links.spend
    # Both requests pass here together. SQLite's write transactions begin IMMEDIATE at the
    # first statement, so there they meet before the link is read; on PostgreSQL without the
    # row lock they meet after both have read it open, just before spending it.
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

    outcomes = race(app, make_client, arranged.path, answers)

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    statuses = sorted(status for status, _page in outcomes)
    assert statuses == [200, 303], outcomes
    winner = next(i for i, (status, _page) in enumerate(outcomes) if status == 303)
    loser_page = outcomes[1 - winner][1]
    # The one who lost the race sees the answer that won, never an error.
    assert "This link has been answered" in loser_page
    won = answers[winner]
    assert outcome(app, arranged) == Outcome(
        state=STATES[won],
        transitions=[(TRANSITIONS[won], "employer")],
        officer_emails=1,
        link_decision=won,
        link_user_agent=f"browser-{winner}",
    )
    if meet_before_spend:
        # Both read the link open; the conditional UPDATE let exactly one through.
        assert sorted(spent) == [False, True]
    else:
        # The second request waited for the first and found the link already spent.
        assert spent == [True]


# --- replaying --------------------------------------------------------------------------------


def test_a_replayed_submission_shows_the_answer_and_changes_nothing(sent: Sent, client):
    token = csrf_token(client, sent.path)
    first = client.post(sent.path, data={"csrf_token": token, **ANSWERS["confirm"]})
    assert first.status_code == 303

    def state() -> tuple[Any, ...]:
        db.session.expire_all()
        link = db.session.get(ActionLink, sent.link.id)
        placement = db.session.get(Placement, sent.placement.id)
        assert link is not None and placement is not None
        return (
            placement.state,
            placement.lock_version,
            link.spent_at,
            link.decision,
            link.decision_data,
            db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowTransition)),
            db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)),
        )

    before = state()
    assert before[0] == "confirmed"

    again = client.post(sent.path, data={"csrf_token": token, **ANSWERS["confirm"]})
    other = client.post(sent.path, data={"csrf_token": token, **ANSWERS["decline"]})

    for response in (again, other):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "This placement was confirmed on" in page
        assert 'id="confirm-form"' not in page
    assert state() == before
