"""Programmes, learners and placements in the demo and in the generated register."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.contacts.models import Contact, ContactRole
from crm.db import utcnow
from crm.demo import generate_placements as generator
from crm.demo.demo import DEMO_USERS, demo_plan, load_demo
from crm.demo.generate import ScaleTargets, generate_register
from crm.demo.learners import DEMO_LEARNERS, DEMO_STORIES, demo_learner_plan
from crm.demo.rows import OfficerRow
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme, ProgrammeOutcome
from crm.learners.service import is_minor
from crm.organisations.models import Organisation
from crm.partnerships.service import definition as partnership_definition
from crm.placements.adapter import ADAPTER
from crm.placements.adapter import definition as placement_definition
from crm.placements.models import OVERLAP_CONSTRAINT, Placement
from crm.workflow import engine
from crm.workflow.models import WorkflowSnapshot, WorkflowTransition

NOT_STARTED = {"matched", "awaiting_employer", "confirmed", "declined", "agreement_out", "ready"}


def _placements() -> list[Placement]:
    return list(db.session.scalars(sa.select(Placement).order_by(Placement.id)))


def _histories(record_type: str) -> dict[int, list[WorkflowTransition]]:
    rows = db.session.scalars(
        sa.select(WorkflowTransition)
        .where(WorkflowTransition.record_type == record_type)
        .order_by(WorkflowTransition.occurred_at, WorkflowTransition.id)
    )
    histories: dict[int, list[WorkflowTransition]] = defaultdict(list)
    for row in rows:
        histories[row.record_id].append(row)
    return histories


def _overlapping_pairs() -> int:
    other = sa.orm.aliased(Placement)
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Placement)
            .join(
                other,
                sa.and_(
                    other.learner_id == Placement.learner_id,
                    other.id > Placement.id,
                    other.period_held,
                    other.start_date <= Placement.end_date,
                    Placement.start_date <= other.end_date,
                ),
            )
            .where(Placement.period_held)
        )
        or 0
    )


def _assert_valid_history(placement: Placement, rows: list[WorkflowTransition]) -> None:
    """The rows walk the placement workflow from its start to where the placement is."""
    wf = placement_definition()
    assert (placement.workflow_name, placement.workflow_version) == (wf.name, wf.version)
    if not rows:
        assert placement.state == wf.initial
        return
    assert rows[0].from_state == wf.initial
    for row, after in itertools.pairwise(rows):
        assert row.to_state == after.from_state, (placement.id, row.transition, after.transition)
        assert row.occurred_at < after.occurred_at
    for row in rows:
        transition = wf.transition(row.transition)
        assert row.from_state in wf.from_states_of(transition)
        assert (row.to_state, row.transition_label) == (transition.to, transition.label)
        assert row.actor_kind in transition.by or row.actor_kind == "user"
        if transition.comment == "required":
            assert row.comment.strip()
    assert placement.state == rows[-1].to_state
    assert placement.state_entered_at == rows[-1].occurred_at
    assert placement.created_at <= rows[0].occurred_at
    assert rows[-1].occurred_at <= utcnow()


def _assert_guards_held(placement: Placement, rows: list[WorkflowTransition]) -> None:
    """Every step's guards hold on the placement as it is now (the partnership's state at
    the time of a match is checked on its own history; agreements have no records yet)."""
    wf = placement_definition()
    facts = ADAPTER.facts(placement, utcnow())
    fired = [row.transition for row in rows]
    after_rematch = len(fired) - fired[::-1].index("rematch") if "rematch" in fired else 0
    for row in rows[after_rematch:]:
        step_facts = dataclasses.replace(
            facts,
            state=row.from_state,
            related_states={"partnership": "active", "agreement": "signed"},
        )
        failures = engine.guard_failures(wf, wf.transition(row.transition), step_facts)
        assert failures == [], (placement.id, placement.state, row.transition, failures)


def _partnership_state_at(rows: list[WorkflowTransition], moment: dt.datetime) -> str:
    state = partnership_definition().initial
    for row in rows:
        if row.occurred_at <= moment:
            state = row.to_state
    return state


@pytest.fixture
def demo(ctx):
    load_demo()
    db.session.flush()


# --- the demo ------------------------------------------------------------------------------


def test_demo_has_programmes_learners_and_placements_in_every_stage(demo):
    wf = placement_definition()
    placements = _placements()
    learners = list(db.session.scalars(sa.select(Learner)))
    programmes = list(db.session.scalars(sa.select(Programme)))
    outcomes = Counter(db.session.scalars(sa.select(ProgrammeOutcome.programme_id)))
    cohorts = Counter(db.session.scalars(sa.select(Cohort.programme_id)))

    per_state = Counter(p.state for p in placements)
    assert set(per_state) == set(wf.states), per_state
    assert len(placements) == sum(story.count for story in DEMO_STORIES)
    assert len(learners) == DEMO_LEARNERS
    assert len(programmes) == 6
    assert {p.sector for p in programmes} == {"C", "F", "G", "I", "J", "Q"}
    assert {p.eqf_level for p in programmes} == {3, 4, 5}
    assert all(5 <= outcomes[p.id] <= 8 for p in programmes)
    assert all(cohorts[p.id] in (2, 3) for p in programmes)
    officers = {u.id: u.email for u in db.session.scalars(sa.select(User))}
    assert {officers[learner.officer_id] for learner in learners} == {
        "officer@demo.test",
        "officer2@demo.test",
    }
    assert {learner.officer_id for learner in learners} >= {p.officer_id for p in placements}
    assert len({learner.consent_basis for learner in learners}) >= 3
    with_needs = [learner for learner in learners if learner.support_needs]
    assert 3 <= len(with_needs) <= 10
    minors = [
        learner
        for learner in learners
        if is_minor(learner.birth_date, db.session.get(Cohort, learner.cohort_id).starts_on)
    ]
    assert minors
    assert all(learner.guardian_name and learner.guardian_email for learner in minors)
    assert len({learner.email for learner in learners}) == len(learners)
    assert _overlapping_pairs() == 0


def test_demo_placements_are_what_the_workflow_allows(demo):
    histories = _histories("placement")
    partnership_histories = _histories("partnership")
    partnerships = {
        row.organisation_id: row.record_id
        for rows in partnership_histories.values()
        for row in rows
    }
    now = utcnow()

    for placement in _placements():
        rows = histories.get(placement.id, [])
        _assert_valid_history(placement, rows)
        _assert_guards_held(placement, rows)
        cohort = db.session.get(Cohort, db.session.get(Learner, placement.learner_id).cohort_id)
        assert cohort.starts_on <= placement.start_date <= placement.end_date <= cohort.ends_on
        assert placement.period_held == (placement.state != "cancelled")
        for row in rows:
            if row.actor_kind == "user":
                assert row.actor_user_id == placement.officer_id
            if row.transition == "match":  # the partnership was active then
                own = partnership_histories[partnerships[row.organisation_id]]
                assert _partnership_state_at(own, row.occurred_at) == "active", placement.id
        if placement.state in NOT_STARTED | {"postponed"} and placement.organisation_id:
            own = partnership_histories[partnerships[placement.organisation_id]]
            assert _partnership_state_at(own, now) == "active", placement.id
        if placement.supervisor_id is not None:
            supervisor = db.session.get(Contact, placement.supervisor_id)
            assert supervisor.organisation_id == placement.organisation_id
            assert supervisor.role is ContactRole.WORKPLACE_SUPERVISOR and supervisor.email
        if placement.state in ("completed", "evaluated"):
            assert (
                placement.hours_logged >= placement.hours_target or placement.hours_shortfall_reason
            )
        if any(row.transition == "send_agreement" for row in rows):
            learner = db.session.get(Learner, placement.learner_id)
            if is_minor(learner.birth_date, placement.start_date):
                assert placement.guardian_consent_on is not None, placement.id


def test_demo_placements_show_the_stories_an_officer_meets(demo):
    histories = _histories("placement")
    placements = _placements()
    learners = {learner.id: learner for learner in db.session.scalars(sa.select(Learner))}

    rematched = [p for p in placements if any(r.transition == "rematch" for r in histories[p.id])]
    assert {p.state for p in rematched} >= {"evaluated", "requested"}
    assert any(r.actor_kind == "employer" for rows in histories.values() for r in rows)
    assert any(r.actor_kind == "system" for rows in histories.values() for r in rows)
    blocked = [
        p
        for p in placements
        if p.state == "confirmed"
        and is_minor(learners[p.learner_id].birth_date, p.start_date)
        and p.guardian_consent_on is None
    ]
    assert blocked  # a minor's agreement waits for the guardian's consent
    twice = Counter(p.learner_id for p in placements)
    assert max(twice.values()) == 2
    # What the officer has to chase: links that expired unanswered (and whatever the workflow's
    # steps schedule); tests/demo/test_answers.py checks each against its link. Officers' own
    # follow-ups (visits) have no rule.
    wf = placement_definition()
    rules = {"placement.link_expired", ""} | {
        f"{wf.name}.{t.name}"
        for t in wf.transitions
        if any(call.name == "schedule_follow_up" for call in t.effects)
    }
    open_follow_ups = db.session.execute(
        sa.text(
            "SELECT record_id, created_by_rule FROM follow_ups "
            "WHERE record_type = 'placement' AND status = 'open'"
        )
    ).all()
    assert {rule for _, rule in open_follow_ups} <= rules
    states = {p.id: p.state for p in placements}
    assert "awaiting_employer" in {states[record_id] for record_id, _ in open_follow_ups}


def test_demo_plan_fits_every_time_of_the_year(ctx):
    """Whatever the day of loading, every story finds dates, a learner and a host."""
    wanted = Counter()
    for story in DEMO_STORIES:
        wanted[story.target] += story.count
    pw, lw = partnership_definition(), placement_definition()
    for offset in range(0, 365, 23):
        today = dt.date(2027, 1, 5) + dt.timedelta(days=offset)
        plan = demo_learner_plan(today, demo_plan(today), pw, lw)
        assert Counter(p.history.state for p in plan.placements) == wanted, today
        assert len(plan.learners) == DEMO_LEARNERS


def test_demo_placements_are_the_same_every_time(ctx):
    today = utcnow().date()
    pw, lw = partnership_definition(), placement_definition()
    first = demo_learner_plan(today, demo_plan(today), pw, lw)
    second = demo_learner_plan(today, demo_plan(today), pw, lw)

    assert [learner.email for learner in first.learners] == [
        learner.email for learner in second.learners
    ]
    assert [(p.start, p.host, p.history.steps) for p in first.placements] == [
        (p.start, p.host, p.history.steps) for p in second.placements
    ]


def test_demo_command_reports_learners_and_placements(app, ctx):
    result = app.test_cli_runner().invoke(args=["crm", "demo"])

    assert result.exit_code == 0, result.output
    placements = sum(story.count for story in DEMO_STORIES)
    assert f"{DEMO_LEARNERS} learners, {placements} placements" in result.output
    assert {u.email for u in DEMO_USERS} <= set(db.session.scalars(sa.select(User.email)))


# --- the generator -------------------------------------------------------------------------


def test_generate_adds_learners_and_placements_the_database_accepts(ctx):
    report = generate_register(
        ScaleTargets(
            organisations=80, contacts=320, activities=400, seed=5, placements=400, learners=150
        )
    )
    wf = placement_definition()
    placements = _placements()
    histories = _histories("placement")
    learners = {learner.id: learner for learner in db.session.scalars(sa.select(Learner))}
    cohorts = {cohort.id: cohort for cohort in db.session.scalars(sa.select(Cohort))}

    assert (report.learners.learners, report.learners.placements) == (150, 400)
    assert (len(learners), len(placements)) == (150, 400)
    assert report.learners.transitions == sum(len(rows) for rows in histories.values())
    assert len({c.name for c in cohorts.values()}) >= 4
    assert _overlapping_pairs() == 0
    per_state = Counter(p.state for p in placements)
    assert len(per_state) >= 8, per_state
    assert per_state["evaluated"] == max(per_state.values())
    for placement in placements:
        rows = histories.get(placement.id, [])
        _assert_valid_history(placement, rows)
        cohort = cohorts[learners[placement.learner_id].cohort_id]
        assert cohort.starts_on <= placement.start_date <= placement.end_date <= cohort.ends_on
        assert placement.officer_id == learners[placement.learner_id].officer_id
        assert learners[placement.learner_id].created_at <= placement.created_at
        if placement.state in ("completed", "evaluated"):
            assert (
                placement.hours_logged >= placement.hours_target or placement.hours_shortfall_reason
            )
    sample = [p for p in placements if p.state != "requested"][::7]
    for placement in sample:
        _assert_guards_held(placement, histories.get(placement.id, []))
    snapshot = db.session.scalar(
        sa.select(WorkflowSnapshot).where(
            WorkflowSnapshot.workflow_name == wf.name, WorkflowSnapshot.version == wf.version
        )
    )
    assert snapshot is not None and snapshot.fingerprint == wf.fingerprint


def test_generated_placements_went_through_the_overlap_rule(ctx):
    generate_register(
        ScaleTargets(
            organisations=30, contacts=90, activities=100, seed=2, placements=60, learners=20
        )
    )
    held = db.session.scalars(
        sa.select(Placement).where(Placement.period_held).order_by(Placement.id)
    ).first()
    assert held is not None
    twin = {
        column.key: getattr(held, column.key)
        for column in sa.inspect(Placement).column_attrs
        if column.key not in ("id",)
    }

    with pytest.raises(sa.exc.IntegrityError) as raised, db.session.begin_nested():
        db.session.execute(sa.insert(Placement.__table__), twin)
    assert OVERLAP_CONSTRAINT in str(raised.value)


def test_generate_command_takes_learners_and_placements(app, ctx):
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "generate",
            "--organisations",
            "30",
            "--contacts",
            "60",
            "--activities",
            "100",
            "--placements",
            "40",
            "--learners",
            "25",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "25 learners and 40 placements" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Placement.id))) == 40


def test_planning_in_a_second_process_gives_the_same_rows(ctx, monkeypatch):
    """Large runs plan in a forked process; what it hands back is what this one plans."""
    generate_register(ScaleTargets(organisations=40, contacts=160, activities=50, placements=0))
    organisations = list(db.session.scalars(sa.select(Organisation.id)))
    officer = db.session.scalars(sa.select(User)).first()

    def plan() -> generator._Plan:
        years = [generator.programme_year(y) for y in (2025, 2026)]
        return generator._Plan(
            placement_definition(),
            {p.code: n for n, p in enumerate(generator.PROGRAMMES)},
            {(p.code, y.name): 1 for p in generator.PROGRAMMES for y in years},
            years,
            generator.load_hosts(set(organisations), random.Random(3)),
            [OfficerRow(officer.id, officer.name)],
            dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
        )

    monkeypatch.setattr(generator, "LEARNERS_PER_BATCH", 7)
    here = list(generator._planned_batches(plan(), 30, 70, random.Random(4)))
    there = list(
        generator._planned_elsewhere(generator._planned_batches(plan(), 30, 70, random.Random(4)))
    )

    assert len(here) == 5
    assert here == there
