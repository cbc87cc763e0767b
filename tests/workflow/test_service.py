"""Firing transitions through the database: guards, effects, history, atomicity, timers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.auth.models import Role, User
from crm.contacts.models import ContactRole
from crm.contacts.service import get_contact, set_archived
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import PartnershipValues, update_partnership
from crm.workflow import service
from crm.workflow.registry import EFFECTS
from crm.workflow.service import StaleRecord, TransitionBlocked, fire
from tests.factories import make_activity, make_contact, make_user
from tests.workflow.support import (
    at,
    follow_ups_of,
    history_of,
    make_partnership,
    state_in_database,
    tick_all,
)

STALE = "This record was changed by someone else meanwhile. Reload the page and try again."


def organisation_of(partnership: Partnership) -> Organisation:
    organisation = db.session.get(Organisation, partnership.organisation_id)
    assert organisation is not None
    return organisation


def add_contact(role: ContactRole) -> Callable[[Partnership], None]:
    def add(partnership: Partnership) -> None:
        make_contact(organisation_of(partnership), role=role)

    return add


def log(kind: ActivityKind, days_ago: float = 1 / 24) -> Callable[[Partnership], None]:
    def add(partnership: Partnership) -> None:
        owner = db.session.get(User, partnership.owner_id)
        make_activity(organisation_of(partnership), owner, kind, occurred_at=at(days_ago))

    return add


def fill(**values: object) -> Callable[[Partnership], None]:
    def update(partnership: Partnership) -> None:
        owner = db.session.get(User, partnership.owner_id)
        current = {
            "title": partnership.title,
            "needs_summary": partnership.needs_summary,
            "memorandum_signed_on": partnership.memorandum_signed_on,
            "review_notes": partnership.review_notes,
        }
        update_partnership(partnership, PartnershipValues(**{**current, **values}), owner)
        db.session.commit()

    return update


def archived_decision_maker(partnership: Partnership) -> None:
    contact = get_contact(
        make_contact(organisation_of(partnership), role=ContactRole.DECISION_MAKER).id
    )
    owner = db.session.get(User, partnership.owner_id)
    assert contact is not None and owner is not None
    set_archived(contact, True, owner)
    db.session.commit()


def steps(*actions: Callable[[Partnership], None]) -> Callable[[Partnership], None]:
    def run(partnership: Partnership) -> None:
        for action in actions:
            action(partnership)

    return run


@dataclass(frozen=True)
class GuardCase:
    state: str
    transition: str
    arrange: Callable[[Partnership], None]
    reason: str
    fix: Callable[[Partnership], None]
    to: str
    comment: str = ""


GUARD_CASES = {
    "research-needs-the-checklist": GuardCase(
        "identified",
        "research",
        steps(add_contact(ContactRole.FOCAL_PERSON), add_contact(ContactRole.DECISION_MAKER)),
        "Tick the checklist before moving to Researched: Sector and size fit our programmes; "
        "Website and public information reviewed.",
        tick_all,
        "researched",
    ),
    "research-needs-a-focal-person": GuardCase(
        "identified",
        "research",
        steps(tick_all, add_contact(ContactRole.DECISION_MAKER), add_contact(ContactRole.OTHER)),
        "Record a focal person before moving to Researched.",
        add_contact(ContactRole.FOCAL_PERSON),
        "researched",
    ),
    "research-needs-a-decision-maker-not-archived": GuardCase(
        "identified",
        "research",
        steps(tick_all, add_contact(ContactRole.FOCAL_PERSON), archived_decision_maker),
        "Record a decision maker before moving to Researched.",
        add_contact(ContactRole.DECISION_MAKER),
        "researched",
    ),
    "approach-needs-a-contact-since-the-stage-began": GuardCase(
        "researched",
        "approach",
        steps(log(ActivityKind.CALL, days_ago=3), log(ActivityKind.NOTE)),
        "Log a contact with the employer (call, e-mail, meeting, visit) "
        "before moving to Approached.",
        log(ActivityKind.EMAIL),
        "approached",
    ),
    "analyse-needs-needs-the-checklist": GuardCase(
        "approached",
        "analyse_needs",
        fill(needs_summary="Two welders a year; wants to co-design the CNC module."),
        "Tick the checklist before moving to Needs analysed: Needs-analysis meeting held; "
        "Engagement interests discussed (hosting, co-design, recruitment).",
        tick_all,
        "needs_analysed",
    ),
    "analyse-needs-needs-the-summary": GuardCase(
        "approached",
        "analyse_needs",
        steps(tick_all, fill(needs_summary="   ")),
        "Fill in skill needs and engagement interests before moving to Needs analysed.",
        fill(needs_summary="Two welders a year."),
        "needs_analysed",
    ),
    "issue-memorandum-needs-the-checklist": GuardCase(
        "needs_analysed",
        "issue_memorandum",
        lambda p: None,
        "Tick the checklist before moving to Agreeing: Scope agreed with the decision maker; "
        "Capacity pledge recorded on the organisation.",
        tick_all,
        "agreeing",
    ),
    "activate-needs-the-signing-date": GuardCase(
        "agreeing",
        "activate",
        lambda p: None,
        "Fill in the date the memorandum was signed before moving to Active.",
        fill(memorandum_signed_on=dt.date(2024, 5, 2)),
        "active",
    ),
    "renew-needs-the-checklist": GuardCase(
        "under_review",
        "renew",
        fill(review_notes="Hosted 3 of 4 pledged learners."),
        "Tick the checklist before moving to Active: Review meeting held with the employer; "
        "Feedback from supervisors and learners collected.",
        tick_all,
        "active",
        comment="Four learners next year.",
    ),
    "renew-needs-review-notes": GuardCase(
        "under_review",
        "renew",
        tick_all,
        "Fill in review notes before moving to Active.",
        fill(review_notes="Hosted 3 of 4 pledged learners."),
        "active",
        comment="Four learners next year.",
    ),
    "go-dormant-needs-90-days-without-two-way-contact": GuardCase(
        "active",
        "go_dormant",
        steps(log(ActivityKind.CALL, days_ago=100), log(ActivityKind.VISIT, days_ago=30)),
        "There was two-way contact 30 days ago.",
        # A visit is two-way contact; the e-mail and the note since are not.
        steps(log(ActivityKind.EMAIL, days_ago=2), log(ActivityKind.NOTE)),
        "dormant",
    ),
    "revive-needs-a-call-meeting-or-visit": GuardCase(
        "dormant",
        "revive",
        log(ActivityKind.EMAIL),
        "Log a contact with the employer (call, meeting, visit) before moving to Approached.",
        log(ActivityKind.MEETING),
        "approached",
    ),
}


@pytest.mark.parametrize("case", list(GUARD_CASES))
def test_each_guard_blocks_until_its_cause_is_fixed(ctx, officer, case):
    c = GUARD_CASES[case]
    partnership = make_partnership(officer, c.state, entered_at=at(2))
    c.arrange(partnership)
    before = state_in_database(partnership)
    with pytest.raises(TransitionBlocked) as blocked:
        fire(partnership, c.transition, user=officer, comment=c.comment)
    assert blocked.value.reasons == [c.reason]
    assert state_in_database(partnership) == before
    assert history_of(partnership) == []

    c.fix(partnership)
    # go_dormant's cause is fixed by time: 90 days after the last two-way contact.
    now = at(-60) if c.transition == "go_dormant" else None
    entry = fire(partnership, c.transition, user=officer, comment=c.comment, now=now)
    db.session.commit()
    assert (entry.from_state, entry.to_state) == (c.state, c.to)
    assert state_in_database(partnership)[0] == c.to


# --- effects and history -------------------------------------------------------------------


def ready_to_approach(officer, **kwargs) -> Partnership:
    partnership = make_partnership(officer, "researched", entered_at=at(3), **kwargs)
    log(ActivityKind.CALL)(partnership)
    return partnership


def test_approach_schedules_a_follow_up_for_the_owner(ctx, officer, manager):
    partnership = ready_to_approach(officer)
    now = utcnow()
    fire(partnership, "approach", user=manager, now=now)
    db.session.commit()
    (follow_up,) = follow_ups_of(partnership)
    assert (
        follow_up.subject,
        follow_up.due_at,
        follow_up.assignee_id,
        follow_up.status,
        follow_up.created_by_id,
        follow_up.created_by_rule,
        follow_up.organisation_id,
    ) == (
        "Follow up the first approach and book a needs-analysis meeting",
        now + dt.timedelta(days=7),
        officer.id,  # the owner, not the manager who moved it
        FollowUpStatus.OPEN,
        None,
        "partnership.approach",
        partnership.organisation_id,
    )


def test_the_next_step_closes_the_workflows_follow_ups_and_schedules_the_next(ctx, officer):
    partnership = ready_to_approach(officer)
    first_at = utcnow()
    fire(partnership, "approach", user=officer, now=first_at)
    manual = FollowUp(
        subject="Send the brochure",
        due_at=first_at + dt.timedelta(days=3),
        assignee_id=officer.id,
        record_type="partnership",
        record_id=partnership.id,
        organisation_id=partnership.organisation_id,
        created_by_id=officer.id,
    )
    elsewhere = make_partnership(officer, "researched", entered_at=at(3))
    log(ActivityKind.CALL)(elsewhere)
    fire(elsewhere, "approach", user=officer, now=first_at)
    db.session.add(manual)
    tick_all(partnership)
    fill(needs_summary="Apprentices in logistics.")(partnership)

    second_at = first_at + dt.timedelta(days=5)
    fire(partnership, "analyse_needs", user=officer, now=second_at)
    db.session.commit()
    db.session.expire_all()

    first, brochure, second = follow_ups_of(partnership)
    assert (first.status, first.completed_at) == (FollowUpStatus.DONE, second_at)
    assert (brochure.subject, brochure.status) == ("Send the brochure", FollowUpStatus.OPEN)
    assert (second.subject, second.status, second.due_at, second.created_by_rule) == (
        "Send the memorandum of understanding",
        FollowUpStatus.OPEN,
        second_at + dt.timedelta(days=14),
        "partnership.analyse_needs",
    )
    assert [f.status for f in follow_ups_of(elsewhere)] == [FollowUpStatus.OPEN]


def test_each_transition_writes_one_history_row(ctx, officer):
    partnership = make_partnership(officer, "dormant", entered_at=at(10))
    now = utcnow()
    entry = fire(partnership, "close", user=officer, comment="  Moved abroad.  ", now=now)
    db.session.commit()
    (row,) = history_of(partnership)
    assert row.id == entry.id
    assert {
        "record_type": row.record_type,
        "record_id": row.record_id,
        "organisation_id": row.organisation_id,
        "workflow": (row.workflow_name, row.workflow_version),
        "transition": (row.transition, row.transition_label),
        "from_to": (row.from_state, row.to_state),
        "who": (row.actor_kind, row.actor_user_id, row.actor_label),
        "comment": row.comment,
        "occurred_at": row.occurred_at,
    } == {
        "record_type": "partnership",
        "record_id": partnership.id,
        "organisation_id": partnership.organisation_id,
        "workflow": ("partnership", 1),
        "transition": ("close", "Close the partnership"),
        "from_to": ("dormant", "closed"),
        "who": ("user", officer.id, "Olga Officer"),
        "comment": "Moved abroad.",
        "occurred_at": now,
    }
    db.session.refresh(partnership)
    assert (partnership.state, partnership.state_entered_at) == ("closed", now)
    assert service.history("partnership", partnership.id) == [row]


def test_history_lists_newest_first(ctx, officer):
    partnership = make_partnership(officer, "dormant", entered_at=at(10))
    fire(partnership, "close", user=officer, comment="Gone.", now=at(2))
    manager = make_user(Role.MANAGER)
    fire(partnership, "reopen", user=manager, comment="Back.", now=at(1))
    db.session.commit()
    assert [
        (t.transition, t.actor_label) for t in service.history("partnership", partnership.id)
    ] == [
        ("reopen", manager.name),
        ("close", "Olga Officer"),
    ]


@pytest.mark.parametrize("comment", ["", "   \n "])
def test_a_required_comment_is_enforced(ctx, officer, comment):
    partnership = make_partnership(officer, "active", entered_at=at(10))
    before = state_in_database(partnership)
    with pytest.raises(TransitionBlocked) as blocked:
        fire(partnership, "close", user=officer, comment=comment)
    assert blocked.value.reasons == ["Give a reason or comment for this step."]
    assert state_in_database(partnership) == before
    assert history_of(partnership) == []


def test_the_missing_comment_is_listed_after_the_guards(ctx, officer):
    partnership = make_partnership(officer, "under_review", entered_at=at(10))
    with pytest.raises(TransitionBlocked) as blocked:
        fire(partnership, "renew", user=officer)
    assert blocked.value.reasons == [
        "Tick the checklist before moving to Active: Review meeting held with the employer; "
        "Feedback from supervisors and learners collected.",
        "Fill in review notes before moving to Active.",
        "Give a reason or comment for this step.",
    ]


def test_an_unknown_transition_is_refused(ctx, officer):
    partnership = make_partnership(officer)
    with pytest.raises(TransitionBlocked) as blocked:
        fire(partnership, "teleport", user=officer)
    assert blocked.value.reasons == ["This action does not exist."]


def test_an_officer_cannot_move_someone_elses_partnership(ctx, officer):
    colleague = make_user(Role.OFFICER)
    partnership = make_partnership(officer, "active", entered_at=at(10))
    before = state_in_database(partnership)
    with pytest.raises(TransitionBlocked) as blocked:
        fire(partnership, "close", user=colleague, comment="Mine now.")
    assert blocked.value.reasons == ["You are not allowed to do this."]
    assert state_in_database(partnership) == before


# --- all or nothing ----------------------------------------------------------------------------


def test_an_effect_that_fails_leaves_nothing_applied(ctx, officer, monkeypatch):
    partnership = ready_to_approach(officer)
    fire(partnership, "approach", user=officer, now=at(1))
    db.session.commit()
    tick_all(partnership)
    fill(needs_summary="Apprentices in logistics.")(partnership)
    before = state_in_database(partnership)

    spec = EFFECTS["schedule_follow_up"]

    def schedule_then_fail(params, context):
        spec.apply(params, context)  # the follow-up is added, close_follow_ups has run
        db.session.flush()
        raise RuntimeError("the mail server is down")

    monkeypatch.setitem(
        EFFECTS, "schedule_follow_up", dataclasses.replace(spec, apply=schedule_then_fail)
    )
    with pytest.raises(RuntimeError, match="the mail server is down"):
        fire(partnership, "analyse_needs", user=officer)
    # Whatever the caller does next (a job commits the records that did work), nothing of
    # the failed transition may reach the database.
    db.session.commit()
    db.session.expire_all()

    assert state_in_database(partnership) == before
    assert partnership.state == "approached"
    assert [h.transition for h in history_of(partnership)] == ["approach"]
    assert [(f.created_by_rule, f.status) for f in follow_ups_of(partnership)] == [
        ("partnership.approach", FollowUpStatus.OPEN)
    ]


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_stale_version_is_refused_and_nothing_applied(ctx, officer, offset):
    partnership = make_partnership(officer, "active", entered_at=at(10))
    before = state_in_database(partnership)
    with pytest.raises(StaleRecord) as stale:
        fire(
            partnership,
            "close",
            user=officer,
            comment="Gone.",
            expected_version=partnership.lock_version + offset,
        )
    assert stale.value.reasons == [STALE]
    assert state_in_database(partnership) == before
    assert history_of(partnership) == []
    assert follow_ups_of(partnership) == []


def test_a_change_by_someone_else_makes_the_version_stale(ctx, officer):
    partnership = ready_to_approach(officer)
    seen = partnership.lock_version
    # Someone else moves it meanwhile (another request, committed).
    db.session.execute(
        sa.update(Partnership)
        .where(Partnership.id == partnership.id)
        .values(state="closed", lock_version=Partnership.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(StaleRecord):
        fire(partnership, "approach", user=officer, expected_version=seen)
    assert state_in_database(partnership)[:2] == ("closed", seen + 1)
    assert history_of(partnership) == []
    assert follow_ups_of(partnership) == []


# --- timers ------------------------------------------------------------------------------------


def test_the_yearly_review_starts_365_days_after_activation(ctx, officer):
    now = utcnow()
    due = make_partnership(officer, "active", entered_at=at(365, now))
    not_yet = make_partnership(officer, "active", entered_at=at(364.9, now))
    log(ActivityKind.CALL, days_ago=5)(due)  # recent contact: not dormant
    log(ActivityKind.CALL, days_ago=5)(not_yet)

    run = service.fire_due_timers(now=now)
    db.session.commit()
    # `not_yet` was also checked for dormancy (90 days in the stage) and kept: recent call.
    assert (run.fired, run.skipped) == (1, 1)
    assert state_in_database(due)[0] == "under_review"
    assert state_in_database(not_yet)[0] == "active"
    (entry,) = history_of(due)
    assert (entry.transition, entry.actor_kind, entry.actor_user_id, entry.occurred_at) == (
        "start_review",
        "system",
        None,
        now,
    )
    (follow_up,) = follow_ups_of(due)
    assert (follow_up.subject, follow_up.due_at, follow_up.assignee_id) == (
        "Hold the review meeting with the employer",
        now + dt.timedelta(days=14),
        officer.id,
    )
    assert service.fire_due_timers(now=now).fired == 0  # nothing is due twice


@pytest.mark.parametrize(
    ("last_contact", "fired", "state"),
    [
        (None, 1, "dormant"),
        ((ActivityKind.CALL, 95), 1, "dormant"),
        ((ActivityKind.MEETING, 30), 0, "approached"),
        ((ActivityKind.VISIT, 89), 0, "approached"),
        ((ActivityKind.EMAIL, 5), 1, "dormant"),  # not two-way
        ((ActivityKind.NOTE, 5), 1, "dormant"),  # not two-way
    ],
)
def test_dormant_only_without_two_way_contact_for_90_days(ctx, officer, last_contact, fired, state):
    now = utcnow()
    partnership = make_partnership(officer, "approached", entered_at=at(100, now))
    if last_contact is not None:
        kind, days_ago = last_contact
        log(kind, days_ago=days_ago)(partnership)
    run = service.fire_due_timers(now=now)
    db.session.commit()
    assert (run.fired, run.skipped) == (fired, 1 - fired)
    assert state_in_database(partnership)[0] == state
    if fired:
        (entry,) = history_of(partnership)
        assert (entry.transition, entry.actor_kind) == ("go_dormant", "system")
        (follow_up,) = follow_ups_of(partnership)
        assert follow_up.subject == "Call the focal person to revive the partnership"
    else:
        assert history_of(partnership) == []


def test_dormancy_waits_90_days_in_the_stage(ctx, officer):
    now = utcnow()
    partnership = make_partnership(officer, "agreeing", entered_at=at(89, now))
    run = service.fire_due_timers(now=now)
    assert (run.fired, run.skipped) == (0, 0)
    run = service.fire_due_timers(now=now + dt.timedelta(days=1))
    assert (run.fired, run.skipped) == (1, 0)
    assert state_in_database(partnership)[0] == "dormant"


def test_a_year_without_contact_starts_the_review_not_dormancy(ctx, officer):
    now = utcnow()
    partnership = make_partnership(officer, "active", entered_at=at(400, now))
    run = service.fire_due_timers(now=now)
    assert (run.fired, run.skipped) == (1, 0)
    assert [h.transition for h in history_of(partnership)] == ["start_review"]


def test_the_timer_command_commits_what_fired(app, ctx, officer):
    partnership = make_partnership(officer, "active", entered_at=at(366))
    result = app.test_cli_runner().invoke(args=["crm", "workflows", "fire-timers"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "fired 1, skipped 0 (guards not met)\n"
    assert state_in_database(partnership)[0] == "under_review"


# --- bulk --------------------------------------------------------------------------------------


def test_fire_many_reports_each_record(ctx, officer):
    colleague = make_user(Role.OFFICER)
    ready = ready_to_approach(officer)
    no_contact = make_partnership(officer, "researched", entered_at=at(3))
    not_mine = ready_to_approach(colleague)
    elsewhere = make_partnership(officer, "closed", entered_at=at(3))

    results = service.fire_many([ready, no_contact, not_mine, elsewhere], "approach", officer)
    db.session.commit()
    assert [(r.record.id, r.ok, r.reasons) for r in results] == [
        (ready.id, True, []),
        (
            no_contact.id,
            False,
            [
                "Log a contact with the employer (call, e-mail, meeting, visit) "
                "before moving to Approached."
            ],
        ),
        (not_mine.id, False, ["You are not allowed to do this."]),
        (elsewhere.id, False, ["This cannot be done from the stage Closed."]),
    ]
    assert [state_in_database(p)[0] for p in (ready, no_contact, not_mine, elsewhere)] == [
        "approached",
        "researched",
        "researched",
        "closed",
    ]
    assert [len(history_of(p)) for p in (ready, no_contact, not_mine, elsewhere)] == [1, 0, 0, 0]


def test_fire_many_applies_the_comment_to_each(ctx, manager, officer):
    first = make_partnership(officer, "active", entered_at=at(3))
    second = make_partnership(officer, "dormant", entered_at=at(3))
    results = service.fire_many([first, second], "close", manager, comment="Programme ended.")
    assert [r.ok for r in results] == [True, True]
    assert [history_of(p)[0].comment for p in (first, second)] == ["Programme ended."] * 2

    results = service.fire_many([make_partnership(officer)], "close", manager)
    assert [(r.ok, r.reasons) for r in results] == [
        (False, ["Give a reason or comment for this step."])
    ]
