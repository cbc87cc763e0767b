"""Partnerships in the demo and in the generated register: stages, histories, follow-ups."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.db import utcnow
from crm.demo.demo import load_demo
from crm.demo.generate import ScaleTargets, generate_register
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import definition, is_open
from crm.workflow import engine
from crm.workflow.definitions import WorkflowDef
from crm.workflow.models import WorkflowSnapshot, WorkflowTransition
from crm.workflow.service import fire_due_timers, options_for


def _partnerships() -> list[Partnership]:
    return list(db.session.scalars(sa.select(Partnership).order_by(Partnership.id)))


def _histories() -> dict[int, list[WorkflowTransition]]:
    rows = db.session.scalars(
        sa.select(WorkflowTransition)
        .where(WorkflowTransition.record_type == "partnership")
        .order_by(WorkflowTransition.occurred_at, WorkflowTransition.id)
    )
    histories: dict[int, list[WorkflowTransition]] = defaultdict(list)
    for row in rows:
        histories[row.record_id].append(row)
    return histories


def _open_follow_ups() -> dict[int, list[FollowUp]]:
    """The open follow-ups the workflow's effects wrote (not those officers made themselves)."""
    rows = db.session.scalars(
        sa.select(FollowUp).where(
            FollowUp.record_type == "partnership",
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.created_by_id.is_(None),
        )
    )
    by_record: dict[int, list[FollowUp]] = defaultdict(list)
    for row in rows:
        by_record[row.record_id].append(row)
    return by_record


def _assert_valid_history(
    partnership: Partnership, rows: list[WorkflowTransition], wf: WorkflowDef
) -> None:
    """The rows are a walk through the definition that ends where the partnership is."""
    if not rows:
        assert partnership.state == wf.initial
        assert partnership.state_entered_at == partnership.created_at
        return
    assert rows[0].from_state == wf.initial
    for row, after in itertools.pairwise(rows):
        assert row.to_state == after.from_state, (partnership.id, row.transition, after.transition)
        assert row.occurred_at < after.occurred_at
    for row in rows:
        transition = wf.transition(row.transition)
        assert row.from_state in wf.from_states_of(transition), (partnership.id, row.transition)
        assert row.to_state == transition.to
        assert row.transition_label == transition.label
        assert (row.workflow_name, row.workflow_version) == (wf.name, wf.version)
        assert row.organisation_id == partnership.organisation_id
        if transition.comment == "required":
            assert row.comment.strip()
    assert partnership.state == rows[-1].to_state
    assert partnership.state_entered_at == rows[-1].occurred_at
    assert partnership.created_at <= rows[0].occurred_at
    assert rows[-1].occurred_at <= utcnow()


def _assert_guards_left_their_marks(
    partnership: Partnership, rows: list[WorkflowTransition], wf: WorkflowDef
) -> None:
    """The fields and checklists the fired transitions' guards checked are filled."""
    for row in rows:
        for call in wf.transition(row.transition).guards:
            if call.name == "field_filled":
                value = getattr(partnership, call.params["field"])
                assert value not in (None, ""), (partnership.id, row.transition, value)
            elif call.name == "checklist_done":
                state = call.params.get("state") or row.from_state
                wanted = {item.key for item in wf.states[state].checklist}
                assert wanted <= set(partnership.checklist.get(state, [])), partnership.id


def _assert_follow_ups_match(
    partnership: Partnership, rows: list[WorkflowTransition], open_ones: list[FollowUp]
) -> None:
    """Closed partnerships keep no open follow-up; an open one has at most its last step's."""
    if not is_open(partnership):
        assert open_ones == []
        return
    assert len(open_ones) <= 1
    for follow_up in open_ones:
        assert rows, partnership.id
        assert follow_up.created_by_rule == f"partnership.{rows[-1].transition}"
        assert follow_up.created_at == rows[-1].occurred_at
        assert follow_up.assignee_id == partnership.owner_id


def _assert_reminders_queued_when_due() -> None:
    """A follow-up that fell due while open had its reminder queued then, and no other."""
    now = utcnow()
    for follow_up in db.session.scalars(sa.select(FollowUp)):
        fell_due_open = follow_up.due_at < (follow_up.completed_at or now)
        expected = follow_up.due_at if fell_due_open else None
        assert follow_up.reminder_sent_at == expected, follow_up.id


@pytest.fixture
def demo(ctx):
    load_demo()
    db.session.flush()


# --- the demo ------------------------------------------------------------------------------


def test_demo_has_partnerships_in_every_stage_some_overdue(demo):
    wf = definition()
    now = utcnow()
    partnerships = _partnerships()
    organisations = db.session.scalar(sa.select(sa.func.count(Organisation.id)))

    per_state = Counter(p.state for p in partnerships)
    per_organisation = Counter(p.organisation_id for p in partnerships)
    overdue = [
        p
        for p in partnerships
        if engine.sla_status(wf, p.state, p.state_entered_at, now).is_overdue
    ]

    assert set(per_state) == set(wf.states)
    assert min(per_state.values()) >= 3, per_state
    assert len(partnerships) >= organisations * 0.8
    assert max(per_organisation.values()) == 1
    waiting_on = {wf.states[p.state].waiting_on for p in partnerships if is_open(p)}
    assert {"us", "employer"} <= waiting_on
    assert 3 <= len(overdue) <= 12
    assert {wf.states[p.state].waiting_on for p in overdue} == {"us", "employer"}


def test_demo_histories_and_follow_ups_are_what_the_app_writes(demo):
    wf = definition()
    histories = _histories()
    open_follow_ups = _open_follow_ups()

    scheduled = 0
    for partnership in _partnerships():
        rows = histories.get(partnership.id, [])
        open_ones = open_follow_ups.get(partnership.id, [])
        _assert_valid_history(partnership, rows, wf)
        _assert_guards_left_their_marks(partnership, rows, wf)
        _assert_follow_ups_match(partnership, rows, open_ones)
        assert partnership.workflow_version == wf.version
        last = wf.transition(rows[-1].transition) if rows else None
        if (
            is_open(partnership)
            and last
            and any(e.name == "schedule_follow_up" for e in last.effects)
        ):
            # Nobody ticks follow-ups off in the demo: the last step's reminder is still open.
            assert len(open_ones) == 1, partnership.id
            days = next(e.params["days"] for e in last.effects if e.name == "schedule_follow_up")
            assert open_ones[0].due_at == rows[-1].occurred_at + dt.timedelta(days=days)
            scheduled += 1
    assert sum(1 for rows in histories.values() if rows) >= 45
    assert max(len(rows) for rows in histories.values()) >= 7
    assert scheduled >= 25
    done = db.session.scalars(
        sa.select(FollowUp).where(FollowUp.status == FollowUpStatus.DONE)
    ).all()
    assert done
    for follow_up in done:
        assert follow_up.completed_at is not None
        assert follow_up.created_at <= follow_up.completed_at <= utcnow()
        assert follow_up.updated_at == follow_up.completed_at
    _assert_reminders_queued_when_due()


def test_demo_partnerships_are_ready_for_their_owners(demo):
    owners = {u.id: u for u in db.session.scalars(sa.select(User))}

    for partnership in _partnerships():
        options = options_for(partnership, owners[partnership.owner_id])
        if is_open(partnership):
            assert options, partnership.state
    # Had the scheduler been running, it would already have fired anything due now.
    assert fire_due_timers().fired == 0


# --- the generator -------------------------------------------------------------------------


def test_generate_writes_valid_histories(ctx):
    report = generate_register(
        ScaleTargets(organisations=50, contacts=150, activities=1000, partnerships=50)
    )
    wf = definition()
    histories = _histories()
    open_follow_ups = _open_follow_ups()
    names = {row.id: row.name for row in db.session.execute(sa.select(User.id, User.name))}
    partnerships = _partnerships()

    assert report.partnerships == len(partnerships) == 50
    assert report.transitions == sum(len(rows) for rows in histories.values())
    assert len({p.organisation_id for p in partnerships}) == 50
    for partnership in partnerships:
        rows = histories.get(partnership.id, [])
        assert len(rows) <= 8
        _assert_valid_history(partnership, rows, wf)
        _assert_guards_left_their_marks(partnership, rows, wf)
        _assert_follow_ups_match(partnership, rows, open_follow_ups.get(partnership.id, []))
        assert partnership.lock_version == 1
        assert partnership.workflow_version == wf.version
        for row in rows:
            assert (row.actor_kind, row.actor_user_id) == ("user", partnership.owner_id)
            assert row.actor_label == names[partnership.owner_id]
    assert len(Counter(p.state for p in partnerships)) >= 6
    assert open_follow_ups
    _assert_reminders_queued_when_due()
    done_by_owner = db.session.scalars(
        sa.select(FollowUp).where(FollowUp.completed_by_id.is_not(None))
    ).all()
    assert all(f.completed_by_id == f.assignee_id and f.completed_at for f in done_by_owner)
    snapshot = db.session.scalar(
        sa.select(WorkflowSnapshot).where(
            WorkflowSnapshot.workflow_name == wf.name, WorkflowSnapshot.version == wf.version
        )
    )
    assert snapshot is not None and snapshot.fingerprint == wf.fingerprint
    assert fire_due_timers().fired == 0


def test_generate_gives_every_active_organisation_one_partnership_by_default(ctx):
    generate_register(ScaleTargets(organisations=120, contacts=200, activities=500, seed=3))

    without = db.session.scalar(
        sa.select(sa.func.count(Organisation.id)).where(
            Organisation.archived_at.is_(None),
            ~sa.exists().where(Partnership.organisation_id == Organisation.id),
        )
    )
    on_archived = db.session.scalar(
        sa.select(sa.func.count(Partnership.id))
        .join(Organisation, Partnership.organisation_id == Organisation.id)
        .where(Organisation.archived_at.is_not(None))
    )
    active = db.session.scalar(
        sa.select(sa.func.count(Organisation.id)).where(Organisation.archived_at.is_(None))
    )
    assert (without, on_archived) == (0, 0)
    assert len(_partnerships()) == active


def test_generate_partnerships_option(app, ctx):
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "generate",
            "--organisations",
            "30",
            "--contacts",
            "60",
            "--activities",
            "200",
            "--partnerships",
            "12",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "Added 12 partnerships" in result.output
    assert len(_partnerships()) == 12
