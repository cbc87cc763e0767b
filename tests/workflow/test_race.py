"""Two people move the same partnership at the same moment: exactly one of them wins.

These tests commit for real, from two threads with their own sessions and connections, so
they run outside the rolled-back transaction (marker `committed`) on an empty database that
they leave empty. On PostgreSQL both threads read the record before either fires (the row
lock and the version decide); on SQLite BEGIN IMMEDIATE serialises the two requests and the
second sees the version the first one wrote.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from flask import Flask

from crm.activities.models import ActivityKind
from crm.auth.models import Role, User
from crm.contacts.models import ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.partnerships.service import get_partnership, start_partnership
from crm.workflow.service import StaleRecord, TransitionBlocked, WorkflowError, fire
from tests.factories import make_activity, make_contact, make_organisation, make_user
from tests.workflow.support import PARTNERSHIP, at, follow_ups_of, history_of

pytestmark = pytest.mark.committed

COMMENTS = {"close": "We stop here.", "research": "", "approach": ""}


@dataclass
class Arranged:
    partnership_id: int
    users: tuple[int, int]
    version: int


def arrange(app: Flask, state: str) -> Arranged:
    """A partnership in `state` whose guards all hold, and two managers; all committed."""
    with app.test_request_context("/"):
        owner = make_user(Role.OFFICER)
        first, second = make_user(Role.MANAGER), make_user(Role.MANAGER)
        organisation = make_organisation(owner)
        make_contact(organisation, role=ContactRole.FOCAL_PERSON)
        make_contact(organisation, role=ContactRole.DECISION_MAKER)
        partnership = start_partnership(organisation, owner)
        partnership.state = state
        partnership.state_entered_at = at(2)
        partnership.checklist = {state: [item.key for item in PARTNERSHIP.state(state).checklist]}
        db.session.commit()
        make_activity(organisation, owner, ActivityKind.CALL, occurred_at=at(1))
        return Arranged(partnership.id, (first.id, second.id), partnership.lock_version)


def race(
    app: Flask, arranged: Arranged, transitions: tuple[str, str], with_version: bool
) -> list[str | BaseException]:
    """Fire the two transitions from two threads at once; what each one got."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str | BaseException] = ["not run", "not run"]

    def attempt(index: int) -> None:
        try:
            with app.test_request_context("/", method="POST"):
                postgres = db.engine.dialect.name == "postgresql"
                if not postgres:
                    barrier.wait()
                user = db.session.get(User, arranged.users[index])
                partnership = get_partnership(arranged.partnership_id)  # as the view does
                assert user is not None and partnership is not None
                if postgres:
                    barrier.wait()  # both have read the record before either fires
                try:
                    fire(
                        partnership,
                        transitions[index],
                        user=user,
                        expected_version=arranged.version if with_version else None,
                        comment=COMMENTS[transitions[index]],
                    )
                except WorkflowError as exc:
                    db.session.rollback()
                    outcomes[index] = exc
                else:
                    db.session.commit()
                    outcomes[index] = "won"
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcomes[index] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return outcomes


FOLLOW_UPS_MADE = {"research": 0, "close": 0, "approach": 1}


@pytest.mark.parametrize(
    ("state", "transitions", "with_version"),
    [
        ("identified", ("research", "close"), True),
        ("identified", ("close", "research"), True),
        ("researched", ("approach", "close"), True),
        # Without the version (as the bulk move fires), the row lock still lets only one
        # through: the second finds the stage already left.
        ("researched", ("approach", "approach"), False),
        ("active", ("close", "close"), False),
    ],
)
def test_exactly_one_of_two_conflicting_transitions_wins(
    app, empty_database, state, transitions, with_version
):
    arranged = arrange(app, state)
    outcomes = race(app, arranged, transitions, with_version)

    unexpected = [o for o in outcomes if o != "won" and not isinstance(o, WorkflowError)]
    assert not unexpected, unexpected
    assert outcomes.count("won") == 1, outcomes
    winner = outcomes.index("won")
    loser = outcomes[1 - winner]
    if with_version:
        assert isinstance(loser, StaleRecord)
    else:
        assert isinstance(loser, StaleRecord | TransitionBlocked)
        if isinstance(loser, TransitionBlocked):
            target = PARTNERSHIP.state(PARTNERSHIP.transition(transitions[winner]).to)
            assert loser.reasons == [f"This cannot be done from the stage {target.label}."]

    with app.test_request_context("/"):
        partnership = get_partnership(arranged.partnership_id)
        assert partnership is not None
        won = PARTNERSHIP.transition(transitions[winner])
        assert (partnership.state, partnership.lock_version) == (won.to, arranged.version + 1)
        (entry,) = history_of(partnership)
        assert (entry.transition, entry.actor_user_id) == (won.name, arranged.users[winner])
        assert len(follow_ups_of(partnership)) == FOLLOW_UPS_MADE[won.name]
        assert entry.occurred_at <= utcnow()
