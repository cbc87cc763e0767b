"""Two requests place the same learner in overlapping dates at the same moment: one wins.

These tests commit for real, from two threads with their own sessions and connections, so
they run outside the rolled-back transaction (marker `committed`) on an empty database that
they leave empty. On PostgreSQL both threads pass the service's friendly overlap check before
either inserts, so only the exclusion constraint can stop the second; on SQLite BEGIN
IMMEDIATE serialises the two requests and the second one's check already sees the first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from crm.auth.models import Role, User
from crm.extensions import db
from crm.placements import service as placements
from crm.placements.models import Placement
from crm.workflow.service import ensure_snapshot, forget_verified_snapshots
from tests.factories import make_learner, make_user
from tests.placements.support import SPRING

pytestmark = pytest.mark.committed

MESSAGE = (
    "The learner already has a placement from 1 Mar 2027 to 30 Apr 2027; "
    "the dates must not overlap."
)


@dataclass(frozen=True)
class Arranged:
    learner_id: int
    officer_id: int


@pytest.fixture
def arranged(app: Flask, empty_database: None) -> Iterator[Arranged]:
    """A learner and their officer, committed; the snapshot cache is forgotten afterwards."""
    with app.test_request_context("/"):
        officer = make_user(Role.OFFICER)
        learner = make_learner(officer)
        # The workflow's definition is stored with the first record ever put on it; here it
        # is stored beforehand, as it is once any placement exists (two *first* records at
        # the same moment would race on that row instead).
        ensure_snapshot(placements.definition())
        db.session.commit()
        ids = Arranged(learner.id, officer.id)
        db.session.rollback()  # reading the ids began a transaction: end it before the race
    yield ids
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


def is_postgres(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def race(app: Flask, attempt: Callable[[int], str]) -> list[Any]:
    """Run `attempt(0)` and `attempt(1)` in two threads, each in its own request context."""
    outcomes: list[Any] = ["not run", "not run"]

    def run(index: int) -> None:
        try:
            with app.test_request_context("/", method="POST"):
                outcomes[index] = attempt(index)
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return outcomes


def held_placements(app: Flask, learner_id: int) -> list[tuple[Any, Any]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(Placement.start_date, Placement.end_date).where(
                    Placement.learner_id == learner_id, Placement.period_held.is_(True)
                )
            )
        ]


def test_two_requests_for_overlapping_dates_exactly_one_wins(app, arranged, monkeypatch):
    postgres = is_postgres(app)
    start_together = threading.Barrier(2, timeout=30)
    checked_together = threading.Barrier(2, timeout=30)
    first_checks: list[Placement | None] = []
    real_check = placements.clashing_placement
    local = threading.local()

    def check_then_wait(*args: Any, **kwargs: Any) -> Placement | None:
        found = real_check(*args, **kwargs)
        if not getattr(local, "checked", False):
            local.checked = True
            first_checks.append(found)
            if postgres:
                checked_together.wait()  # both have checked before either inserts
        return found

    monkeypatch.setattr(placements, "clashing_placement", check_then_wait)

    def attempt(index: int) -> str:
        if not postgres:
            start_together.wait()
        learner = placements.get_learner(arranged.learner_id)
        officer = db.session.get(User, arranged.officer_id)
        assert learner is not None and officer is not None
        dates = [SPRING, (SPRING[0].replace(day=15), SPRING[1].replace(month=5))][index]
        try:
            placements.request_placement(
                learner,
                officer,
                placements.PlacementValues(start_date=dates[0], end_date=dates[1]),
            )
        except placements.PlacementError as exc:
            db.session.rollback()
            assert exc.field == "start_date"
            return str(exc)
        db.session.commit()
        return "won"

    outcomes = race(app, attempt)

    unexpected = [o for o in outcomes if isinstance(o, BaseException)]
    assert not unexpected, unexpected
    assert outcomes.count("won") == 1, outcomes
    loser = outcomes[1 - outcomes.index("won")]
    if postgres:
        # Neither check saw the other: the exclusion constraint decided.
        assert first_checks == [None, None]
        # The loser is refused by the constraint (and then names the winner's placement) or,
        # when PostgreSQL picks it as the deadlock victim before the winner has committed, by
        # the plain message: the winner's row is not yet visible to name it.
        assert loser == "The learner already has a placement in these dates." or (
            loser.startswith("The learner already has a placement from ")
            and loser.endswith("the dates must not overlap.")
        ), loser
    else:
        # Serialised: the second request's own check found the first one's placement.
        assert [found is None for found in first_checks] == [True, False]
        assert loser.endswith("the dates must not overlap.")
    assert len(held_placements(app, arranged.learner_id)) == 1


def test_two_raw_inserts_of_overlapping_placements_exactly_one_commits(app, arranged):
    """Without the service: the database alone keeps the second one out."""
    postgres = is_postgres(app)
    barrier = threading.Barrier(2, timeout=30)

    def attempt(index: int) -> str:
        if not postgres:
            barrier.wait()
        learner = placements.get_learner(arranged.learner_id)
        assert learner is not None
        placement = Placement(
            learner_id=learner.id,
            programme_id=learner.programme_id,
            officer_id=arranged.officer_id,
            start_date=SPRING[0],
            end_date=SPRING[1],
            workflow_name="placement",
            workflow_version=1,
            state="requested",
            checklist={},
        )
        db.session.add(placement)
        if postgres:
            barrier.wait()  # both transactions are open; the second insert waits for the first
        try:
            db.session.commit()
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            # The constraint's violation, or (PostgreSQL, both inserted at once) the deadlock
            # victim: either way this one is refused.
            assert placements.is_overlap_refusal(exc), exc
            return "refused"
        return "won"

    outcomes = race(app, attempt)
    assert sorted(outcomes) == ["refused", "won"], outcomes
    assert held_placements(app, arranged.learner_id) == [SPRING]
