"""The engine decides from a definition and hand-built facts: no database, no application."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import has_app_context

from crm.workflow import engine
from crm.workflow.definitions import WorkflowDef
from crm.workflow.engine import Actor, Facts
from tests.workflow.support import AGREEMENT, PARTNERSHIP, PLACEMENT, definition_from

pytestmark = pytest.mark.pure

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
OFFICER = Actor(kind="user", role="officer")
OTHER_OFFICER = Actor(kind="user", role="officer", may_edit=False)
MANAGER = Actor(kind="user", role="manager")
ADMIN = Actor(kind="user", role="admin")
EMPLOYER = Actor(kind="employer")
LEARNER = Actor(kind="learner")
SYSTEM = engine.SYSTEM
ACTORS = {
    "officer": OFFICER,
    "manager": MANAGER,
    "admin": ADMIN,
    "system": SYSTEM,
    "employer": EMPLOYER,
    "learner": LEARNER,
}


def test_these_tests_run_without_application_or_database():
    assert not has_app_context()


def facts(state: str, days_in_state: float = 1, **known: Any) -> Facts:
    """What the service would gather about a record in `state`."""
    return Facts(
        state=state, state_entered_at=NOW - dt.timedelta(days=days_in_state), now=NOW, **known
    )


def offered(definition: WorkflowDef, state: str, actor: Actor) -> list[str]:
    return [o.transition.name for o in engine.options(definition, facts(state), actor)]


# --- who sees what, from where -----------------------------------------------------------------

# state: (officer, added for managers and admins, system); employers and learners see nothing.
PARTNERSHIP_OPTIONS = {
    "identified": (["research", "close"], [], []),
    "researched": (["approach", "close"], [], []),
    "approached": (["analyse_needs", "go_dormant", "close"], [], ["go_dormant"]),
    "needs_analysed": (["issue_memorandum", "go_dormant", "close"], [], ["go_dormant"]),
    "agreeing": (["activate", "go_dormant", "close"], [], ["activate", "go_dormant"]),
    "active": (["start_review", "go_dormant", "close"], [], ["start_review", "go_dormant"]),
    "under_review": (["renew", "close"], [], []),
    "dormant": (["revive", "close"], [], []),
    "closed": ([], ["reopen"], []),
}


def test_the_table_covers_every_partnership_state():
    assert list(PARTNERSHIP_OPTIONS) == list(PARTNERSHIP.states)


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("state", list(PARTNERSHIP_OPTIONS))
def test_partnership_transitions_each_actor_is_offered(state, actor):
    officer, staff_extra, system = PARTNERSHIP_OPTIONS[state]
    expected = {
        "officer": officer,
        "manager": officer + staff_extra,
        "admin": officer + staff_extra,
        "system": system,
        "employer": [],
        "learner": [],
    }[actor]
    assert offered(PARTNERSHIP, state, ACTORS[actor]) == expected


@pytest.mark.parametrize(
    ("definition", "state", "actor", "expected"),
    [
        (AGREEMENT, "draft", "officer", ["issue", "supersede"]),
        (AGREEMENT, "draft", "employer", []),
        (AGREEMENT, "draft", "system", ["issue", "supersede"]),
        (AGREEMENT, "issued", "employer", ["sign_partly", "sign_all", "decline"]),
        (AGREEMENT, "issued", "learner", ["sign_partly", "sign_all", "decline"]),
        (AGREEMENT, "issued", "system", ["sign_partly", "sign_all", "supersede"]),
        # The provider signs in the app: the signing service fires sign_partly / sign_all
        # as the officer, manager or admin who signed for the provider.
        (
            AGREEMENT,
            "issued",
            "officer",
            ["reissue", "sign_partly", "sign_all", "decline", "supersede"],
        ),
        (AGREEMENT, "partially_signed", "employer", ["sign_all", "decline"]),
        (AGREEMENT, "signed", "officer", ["supersede"]),
        (AGREEMENT, "signed", "manager", ["supersede", "terminate"]),
        (AGREEMENT, "signed", "system", ["expire", "supersede"]),
        (AGREEMENT, "signed", "employer", []),
        (AGREEMENT, "declined", "manager", ["reissue", "supersede"]),
        (AGREEMENT, "declined", "employer", []),
        (PLACEMENT, "awaiting_employer", "employer", ["confirm", "decline", "propose_dates"]),
        (PLACEMENT, "awaiting_employer", "learner", []),
        (PLACEMENT, "completed", "employer", ["evaluate"]),
        (PLACEMENT, "agreement_out", "system", ["agreement_signed"]),
        (PLACEMENT, "agreement_out", "officer", ["postpone", "cancel"]),
        (PLACEMENT, "agreement_out", "manager", ["agreement_signed", "postpone", "cancel"]),
        (PLACEMENT, "evaluated", "admin", []),
    ],
)
def test_employer_learner_and_system_transitions(definition, state, actor, expected):
    assert offered(definition, state, ACTORS[actor]) == expected


def test_an_officer_on_someone_elses_record_sees_the_steps_but_may_fire_none():
    options = engine.options(PARTNERSHIP, facts("identified"), OTHER_OFFICER)
    assert [(o.transition.name, o.blocked) for o in options] == [
        ("research", ("You are not allowed to do this.",)),
        ("close", ("You are not allowed to do this.",)),
    ]


@pytest.mark.parametrize(
    ("by", "actor", "allowed"),
    [
        (["officer", "system"], OFFICER, True),
        (["officer", "system"], OTHER_OFFICER, False),
        (["officer", "system"], MANAGER, False),
        (["officer", "system"], SYSTEM, True),
        (["officer", "system"], EMPLOYER, False),
        (["manager", "admin"], ADMIN, True),
        (["manager", "admin"], OFFICER, False),
        (["employer"], EMPLOYER, True),
        (["employer"], LEARNER, False),
        (["learner"], LEARNER, True),
    ],
)
def test_may_fire_follows_by(by, actor, allowed):
    transition = PARTNERSHIP.transition("research").model_copy(update={"by": tuple(by)})
    assert engine.may_fire(transition, actor) is allowed


@pytest.mark.parametrize(
    ("state", "transition", "actor", "reason"),
    [
        ("identified", "approach", OFFICER, "This cannot be done from the stage Identified."),
        ("closed", "close", MANAGER, "This cannot be done from the stage Closed."),
        ("closed", "reopen", OFFICER, "You are not allowed to do this."),
        ("identified", "research", OTHER_OFFICER, "You are not allowed to do this."),
        ("identified", "research", EMPLOYER, "You are not allowed to do this."),
        ("active", "renew", SYSTEM, "This cannot be done from the stage Active."),
        ("under_review", "renew", SYSTEM, "You are not allowed to do this."),
    ],
)
def test_wrong_stage_or_actor_is_the_only_reason_given(state, transition, actor, reason):
    # The guards of `research` would also fail here; they are not worth reading first.
    blocked = engine.blocked_reasons(
        PARTNERSHIP, PARTNERSHIP.transition(transition), facts(state), actor
    )
    assert blocked == [reason]


# --- the partnership pack's guards, with the pack's own labels --------------------------------


@pytest.mark.parametrize(
    ("state", "transition", "known", "reasons"),
    [
        (
            "identified",
            "research",
            {},
            [
                "Tick the checklist before moving to Researched: Sector and size fit our "
                "programmes; Website and public information reviewed.",
                "Record a focal person before moving to Researched.",
                "Record a decision maker before moving to Researched.",
            ],
        ),
        (
            "identified",
            "research",
            {
                "checklist": {"identified": frozenset({"fit_checked"})},
                "contact_roles": frozenset({"focal_person", "other"}),
            },
            [
                "Tick the checklist before moving to Researched: "
                "Website and public information reviewed.",
                "Record a decision maker before moving to Researched.",
            ],
        ),
        (
            "identified",
            "research",
            {
                "checklist": {"identified": frozenset({"fit_checked", "website_reviewed"})},
                "contact_roles": frozenset({"focal_person", "decision_maker"}),
            },
            [],
        ),
        (
            "researched",
            "approach",
            {"activity_kinds_since_entered": frozenset({"note"})},
            [
                "Log a contact with the employer (call, e-mail, meeting, visit) "
                "before moving to Approached."
            ],
        ),
        ("researched", "approach", {"activity_kinds_since_entered": frozenset({"email"})}, []),
        (
            "approached",
            "analyse_needs",
            {"checklist": {"approached": frozenset({"meeting_held", "interests_discussed"})}},
            ["Fill in skill needs and engagement interests before moving to Needs analysed."],
        ),
        (
            "needs_analysed",
            "issue_memorandum",
            {"checklist": {"needs_analysed": frozenset({"scope_agreed"})}},
            [
                "Tick the checklist before moving to Agreeing: "
                "Capacity pledge recorded on the organisation."
            ],
        ),
        (
            "agreeing",
            "activate",
            {"fields": {"memorandum_signed_on": None}},
            ["Fill in the date the memorandum was signed before moving to Active."],
        ),
        (
            "agreeing",
            "activate",
            {"fields": {"memorandum_signed_on": dt.date(2025, 2, 1)}},
            [],
        ),
        (
            "under_review",
            "renew",
            {"fields": {"review_notes": "  "}},
            [
                "Tick the checklist before moving to Active: Review meeting held with the "
                "employer; Feedback from supervisors and learners collected.",
                "Fill in review notes before moving to Active.",
            ],
        ),
        (
            "active",
            "go_dormant",
            {"last_two_way_contact_at": NOW - dt.timedelta(days=30)},
            ["There was two-way contact 30 days ago."],
        ),
        (
            "active",
            "go_dormant",
            {"last_two_way_contact_at": NOW - dt.timedelta(days=90)},
            [],
        ),
        (
            "dormant",
            "revive",
            {"activity_kinds_since_entered": frozenset({"email", "note"})},
            ["Log a contact with the employer (call, meeting, visit) before moving to Approached."],
        ),
        ("dormant", "revive", {"activity_kinds_since_entered": frozenset({"visit"})}, []),
        ("identified", "close", {}, []),
    ],
)
def test_partnership_guards_say_what_to_do(state, transition, known, reasons):
    blocked = engine.blocked_reasons(
        PARTNERSHIP, PARTNERSHIP.transition(transition), facts(state, **known), OFFICER
    )
    assert blocked == reasons


def test_options_carry_the_blockers_of_each_transition():
    options = engine.options(
        PARTNERSHIP, facts("identified", contact_roles=frozenset({"focal_person"})), MANAGER
    )
    research, close = options
    assert not research.is_available
    assert research.blocked[-1] == "Record a decision maker before moving to Researched."
    assert close.is_available
    assert close.blocked == ()


# --- every guard, on a small workflow whose target stage is "Finish" --------------------------


def lab(record: str, *guards: str) -> WorkflowDef:
    """A three-stage workflow whose `go` transition carries `guards`."""
    guard_lines = "".join(f"      - {g}\n" for g in guards)
    return definition_from(
        f"""\
name: lab
version: 1
record: {record}
label: Lab
initial: start
states:
  start:
    label: Start
    checklist:
      - key: alpha
        label: Alpha
      - key: beta
        label: Beta
  middle:
    label: Middle
    checklist:
      - key: gamma
        label: Gamma
  finish:
    label: Finish
    terminal: true
transitions:
  - name: step
    label: Step
    from: start
    to: middle
    by: [officer]
  - name: go
    label: Go
    from: [start, middle]
    to: finish
    by: [officer]
    guards:
{guard_lines}""",
        name="lab",
    )


def lab_reasons(record: str, guard: str, state: str = "start", **known: Any) -> list[str]:
    definition = lab(record, guard)
    return engine.blocked_reasons(
        definition, definition.transition("go"), facts(state, **known), OFFICER
    )


FIELD = "field_filled: {field: needs_summary}"
SIGNED = "field_filled: {field: memorandum_signed_on}"
NEEDS_SUMMARY = "Fill in skill needs and engagement interests before moving to Finish."


@pytest.mark.parametrize(
    ("record", "guard", "fields", "reasons"),
    [
        ("partnership", FIELD, {}, [NEEDS_SUMMARY]),
        ("partnership", FIELD, {"needs_summary": ""}, [NEEDS_SUMMARY]),
        ("partnership", FIELD, {"needs_summary": " \n\t"}, [NEEDS_SUMMARY]),
        ("partnership", FIELD, {"needs_summary": "Welders, two a year"}, []),
        (
            "partnership",
            SIGNED,
            {"memorandum_signed_on": None},
            ["Fill in the date the memorandum was signed before moving to Finish."],
        ),
        ("partnership", SIGNED, {"memorandum_signed_on": dt.date(2025, 1, 2)}, []),
        (
            "placement",
            "field_filled: {field: supervisor_email}",
            {},
            ["Fill in the workplace supervisor's e-mail address before moving to Finish."],
        ),
        (
            "agreement",
            "field_filled: {field: termination_reason}",
            {"termination_reason": ""},
            ["Fill in the reason for terminating before moving to Finish."],
        ),
    ],
)
def test_field_filled(record, guard, fields, reasons):
    assert lab_reasons(record, guard, fields=fields) == reasons


@pytest.mark.parametrize(
    ("guard", "state", "checklist", "reasons"),
    [
        (
            "checklist_done",
            "start",
            {},
            ["Tick the checklist before moving to Finish: Alpha; Beta."],
        ),
        (
            "checklist_done",
            "start",
            {"start": frozenset({"alpha"})},
            ["Tick the checklist before moving to Finish: Beta."],
        ),
        ("checklist_done", "start", {"start": frozenset({"alpha", "beta"})}, []),
        (
            "checklist_done",
            "start",
            {"middle": frozenset({"alpha", "beta"})},
            ["Tick the checklist before moving to Finish: Alpha; Beta."],
        ),
        (
            "checklist_done",
            "middle",
            {"start": frozenset({"alpha", "beta"})},
            ["Tick the checklist before moving to Finish: Gamma."],
        ),
        (
            "checklist_done: {state: start}",
            "middle",
            {"middle": frozenset({"gamma"})},
            ["Tick the checklist before moving to Finish: Alpha; Beta."],
        ),
        ("checklist_done: {state: start}", "middle", {"start": frozenset({"alpha", "beta"})}, []),
    ],
)
def test_checklist_done(guard, state, checklist, reasons):
    assert lab_reasons("partnership", guard, state, checklist=checklist) == reasons


@pytest.mark.parametrize(
    ("role", "sentence"),
    [
        ("focal_person", "Record a focal person before moving to Finish."),
        ("decision_maker", "Record a decision maker before moving to Finish."),
        ("workplace_supervisor", "Record a workplace supervisor before moving to Finish."),
    ],
)
@pytest.mark.parametrize("record", ["partnership", "placement"])
def test_contact_with_role(record, role, sentence):
    guard = f"contact_with_role: {{role: {role}}}"
    others = frozenset({"focal_person", "decision_maker", "workplace_supervisor", "other"}) - {role}
    assert lab_reasons(record, guard) == [sentence]
    assert lab_reasons(record, guard, contact_roles=others) == [sentence]
    assert lab_reasons(record, guard, contact_roles=others | {role}) == []


ALL_KINDS = (
    "Log a contact with the employer (call, e-mail, meeting, visit) before moving to Finish."
)


@pytest.mark.parametrize(
    ("guard", "kinds", "reasons"),
    [
        ("activity_logged", set(), [ALL_KINDS]),
        ("activity_logged", {"note"}, [ALL_KINDS]),
        ("activity_logged", {"email"}, []),
        ("activity_logged", {"note", "visit"}, []),
        (
            "activity_logged: {kinds: [call, meeting, visit]}",
            {"email", "note"},
            ["Log a contact with the employer (call, meeting, visit) before moving to Finish."],
        ),
        ("activity_logged: {kinds: [call, meeting, visit]}", {"meeting"}, []),
        (
            "activity_logged: {kinds: [note]}",
            {"call"},
            ["Log a contact with the employer (note) before moving to Finish."],
        ),
    ],
)
def test_activity_logged(guard, kinds, reasons):
    assert (
        lab_reasons("partnership", guard, activity_kinds_since_entered=frozenset(kinds)) == reasons
    )


@pytest.mark.parametrize(
    ("last_contact_ago", "reasons"),
    [
        (None, []),
        (dt.timedelta(days=90), []),
        (dt.timedelta(days=400), []),
        (dt.timedelta(days=89, hours=23), ["There was two-way contact 89 days ago."]),
        (dt.timedelta(days=1), ["There was two-way contact 1 day ago."]),
        (dt.timedelta(hours=3), ["There was two-way contact today."]),
    ],
)
def test_no_two_way_contact_for(last_contact_ago, reasons):
    last = None if last_contact_ago is None else NOW - last_contact_ago
    guard = "no_two_way_contact_for: {days: 90}"
    assert lab_reasons("partnership", guard, last_two_way_contact_at=last) == reasons


PARTNERSHIP_ACTIVE = "related_in_state: {relation: partnership, states: [active]}"


@pytest.mark.parametrize(
    ("record", "guard", "related", "reasons"),
    [
        (
            "placement",
            PARTNERSHIP_ACTIVE,
            {},
            ["Before moving to Finish, the partnership with the organisation must be: active."],
        ),
        (
            "placement",
            PARTNERSHIP_ACTIVE,
            {"partnership": "agreeing"},
            ["Before moving to Finish, the partnership with the organisation must be: active."],
        ),
        ("placement", PARTNERSHIP_ACTIVE, {"partnership": "active"}, []),
        (
            "placement",
            "related_in_state: {relation: agreement, states: [signed, partially_signed]}",
            {"agreement": None},
            ["Before moving to Finish, the agreement must be: signed, partially_signed."],
        ),
        (
            "agreement",
            "related_in_state: {relation: placement, states: [confirmed]}",
            {"placement": "requested"},
            ["Before moving to Finish, the placement must be: confirmed."],
        ),
        (
            "agreement",
            "related_in_state: {relation: placement, states: [confirmed]}",
            {"placement": "confirmed"},
            [],
        ),
    ],
)
def test_related_in_state(record, guard, related, reasons):
    assert lab_reasons(record, guard, related_states=related) == reasons


SHORT = "Log at least 120 hours (100 so far), or record why the target was not met."


@pytest.mark.parametrize(
    ("guard", "fields", "reasons"),
    [
        ("hours_target_met", {"hours_target": 120, "hours_logged": 100}, [SHORT]),
        ("hours_target_met", {"hours_target": 120, "hours_logged": 120}, []),
        ("hours_target_met", {"hours_target": 120, "hours_logged": 150}, []),
        (
            "hours_target_met",
            {"hours_target": 120, "hours_logged": None},
            ["Log at least 120 hours (0 so far), or record why the target was not met."],
        ),
        ("hours_target_met", {}, []),
        (
            "hours_target_met",
            {"hours_target": 120, "hours_logged": 100, "hours_shortfall_reason": "Ill 2 weeks"},
            [],
        ),
        (
            "hours_target_met",
            {"hours_target": 120, "hours_logged": 100, "hours_shortfall_reason": "  "},
            [SHORT],
        ),
        (
            "hours_target_met: {reason_field: null}",
            {"hours_target": 120, "hours_logged": 100, "hours_shortfall_reason": "Ill 2 weeks"},
            [SHORT],
        ),
    ],
)
def test_hours_target_met(guard, fields, reasons):
    assert lab_reasons("placement", guard, fields=fields) == reasons


YEAR = {"programme_starts_on": dt.date(2024, 9, 1), "programme_ends_on": dt.date(2025, 7, 31)}
OUTSIDE = "The dates must lie inside the programme year (2024-09-01 to 2025-07-31)."
NO_DATES = "Set the start and end dates before moving to Finish."


@pytest.mark.parametrize(
    ("start", "end", "year", "reasons"),
    [
        (None, None, YEAR, [NO_DATES]),
        (dt.date(2024, 10, 1), None, YEAR, [NO_DATES]),
        (None, dt.date(2024, 10, 1), YEAR, [NO_DATES]),
        (
            dt.date(2025, 3, 1),
            dt.date(2025, 2, 28),
            YEAR,
            ["The end date lies before the start date."],
        ),
        (dt.date(2024, 8, 31), dt.date(2024, 10, 31), YEAR, [OUTSIDE]),
        (dt.date(2025, 6, 1), dt.date(2025, 8, 1), YEAR, [OUTSIDE]),
        (dt.date(2024, 9, 1), dt.date(2025, 7, 31), YEAR, []),
        (dt.date(2025, 2, 3), dt.date(2025, 2, 3), YEAR, []),
        (dt.date(2023, 1, 1), dt.date(2023, 2, 1), {}, []),
    ],
)
def test_dates_within_programme_year(start, end, year, reasons):
    fields = {"start_date": start, "end_date": end, **year}
    assert lab_reasons("placement", "dates_within_programme_year", fields=fields) == reasons


MINOR = (
    "The learner is under 18 at the start: record the guardian's consent before moving to Finish."
)


@pytest.mark.parametrize(
    ("birth", "start", "consent", "reasons"),
    [
        # Born on 29 February: 18 on 1 March of a common year, never on 28 February.
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), None, [MINOR]),
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), None, []),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), dt.date(2026, 1, 10), []),
        (dt.date(2004, 2, 29), dt.date(2022, 2, 28), None, [MINOR]),
        (dt.date(2004, 2, 29), dt.date(2022, 3, 1), None, []),
        (dt.date(2008, 3, 1), dt.date(2026, 2, 28), None, [MINOR]),
        (dt.date(2008, 2, 28), dt.date(2026, 2, 28), None, []),
        (dt.date(2007, 6, 15), dt.date(2025, 6, 14), None, [MINOR]),
        (dt.date(2007, 6, 15), dt.date(2025, 6, 15), None, []),
        (dt.date(2007, 6, 15), dt.date(2025, 6, 14), "", [MINOR]),
        (None, dt.date(2025, 6, 14), None, []),
        (dt.date(2010, 1, 1), None, None, []),
    ],
)
def test_guardian_consent_if_minor(birth, start, consent, reasons):
    fields = {"learner_birth_date": birth, "start_date": start, "guardian_consent_on": consent}
    assert lab_reasons("placement", "guardian_consent_if_minor", fields=fields) == reasons


EXPIRES = "date_passed: {field: expires_on}"
NOT_PASSED = "Wait until the expiry date has passed."


@pytest.mark.parametrize(
    ("expires_on", "reasons"),
    [
        (None, ["Fill in the expiry date before moving to Finish."]),
        (NOW.date() + dt.timedelta(days=30), [NOT_PASSED]),
        # The agreement runs to the end of its last day: it expires the day after.
        (NOW.date(), [NOT_PASSED]),
        (NOW.date() - dt.timedelta(days=1), []),
        (dt.date(2020, 1, 1), []),
        (NOW + dt.timedelta(hours=1), [NOT_PASSED]),
        (NOW - dt.timedelta(days=2), []),
    ],
)
def test_date_passed(expires_on, reasons):
    assert lab_reasons("agreement", EXPIRES, fields={"expires_on": expires_on}) == reasons


def test_every_failing_guard_is_reported_in_the_order_written():
    definition = lab(
        "partnership", "checklist_done", FIELD, "contact_with_role: {role: focal_person}"
    )
    blocked = engine.blocked_reasons(
        definition, definition.transition("go"), facts("start"), OFFICER
    )
    assert blocked == [
        "Tick the checklist before moving to Finish: Alpha; Beta.",
        NEEDS_SUMMARY,
        "Record a focal person before moving to Finish.",
    ]


def test_the_lab_covers_every_registered_guard():
    from crm.workflow.registry import GUARDS

    tested = {
        "field_filled",
        "checklist_done",
        "contact_with_role",
        "activity_logged",
        "no_two_way_contact_for",
        "related_in_state",
        "hours_target_met",
        "dates_within_programme_year",
        "guardian_consent_if_minor",
        "date_passed",
    }
    assert set(GUARDS) == tested


# --- "from any stage" ---------------------------------------------------------------------------


def test_from_any_stage_means_every_stage_that_is_not_final():
    assert PARTNERSHIP.from_states_of(PARTNERSHIP.transition("close")) == [
        "identified",
        "researched",
        "approached",
        "needs_analysed",
        "agreeing",
        "active",
        "under_review",
        "dormant",
    ]
    assert PLACEMENT.from_states_of(PLACEMENT.transition("cancel")) == [
        "requested",
        "matched",
        "awaiting_employer",
        "confirmed",
        "declined",
        "agreement_out",
        "ready",
        "in_progress",
        "completed",
        "postponed",
    ]
    assert "close" not in offered(PARTNERSHIP, "closed", ADMIN)
    assert "cancel" not in offered(PLACEMENT, "evaluated", ADMIN)


ANY_STAGE = """\
name: lab
version: 1
record: partnership
label: Lab
initial: draft
states:
  draft: {label: Draft}
  live: {label: Live}
  paused: {label: Paused}
  gone: {label: Gone, terminal: true}
transitions:
  - {name: publish, label: Publish, from: draft, to: live, by: [officer]}
  - name: pause
    label: Pause
    from: "*"
    to: paused
    by: [officer, system]
    timer: {after_days: 30}
  - {name: restart, label: Restart, from: "*", to: draft, by: [officer]}
  - {name: drop, label: Drop, from: "*", to: gone, by: [officer]}
"""


def test_from_any_stage_leaves_out_the_target_itself():
    definition = definition_from(ANY_STAGE, name="lab")
    assert definition.from_states_of(definition.transition("pause")) == ["draft", "live"]
    assert definition.from_states_of(definition.transition("restart")) == ["live", "paused"]
    assert offered(definition, "draft", OFFICER) == ["publish", "pause", "drop"]
    assert offered(definition, "paused", OFFICER) == ["restart", "drop"]
    assert offered(definition, "gone", OFFICER) == []
    assert engine.blocked_reasons(
        definition, definition.transition("drop"), facts("gone"), OFFICER
    ) == ["This cannot be done from the stage Gone."]


def test_timers_from_any_stage_are_checked_in_each_stage():
    definition = definition_from(ANY_STAGE, name="lab")
    pairs = [(state, t.name) for state, t in engine.timer_transitions(definition)]
    assert pairs == [("draft", "pause"), ("live", "pause")]


# --- timers and SLAs ----------------------------------------------------------------------------


def test_the_pack_timers():
    assert [(s, t.name) for s, t in engine.timer_transitions(PARTNERSHIP)] == [
        ("active", "start_review"),
        ("approached", "go_dormant"),
        ("needs_analysed", "go_dormant"),
        ("agreeing", "go_dormant"),
        ("active", "go_dormant"),
    ]
    assert [(s, t.name) for s, t in engine.timer_transitions(AGREEMENT)] == [("signed", "expire")]
    assert engine.timer_transitions(PLACEMENT) == []


@pytest.mark.parametrize(
    ("transition", "waited", "due"),
    [
        ("start_review", dt.timedelta(days=364, hours=23, minutes=59), False),
        ("start_review", dt.timedelta(days=365), True),
        ("start_review", dt.timedelta(days=366), True),
        ("go_dormant", dt.timedelta(days=89, hours=23), False),
        ("go_dormant", dt.timedelta(days=90), True),
        ("go_dormant", dt.timedelta(seconds=0), False),
        ("research", dt.timedelta(days=5000), False),  # no timer at all
    ],
)
def test_timer_due(transition, waited, due):
    assert engine.timer_due(PARTNERSHIP.transition(transition), NOW - waited, NOW) is due


@pytest.mark.parametrize(
    ("state", "waited", "days_in_state", "sla_days", "overdue", "days_over"),
    [
        ("identified", dt.timedelta(0), 0, 21, False, 0),
        ("identified", dt.timedelta(days=21), 21, 21, False, 0),
        ("identified", dt.timedelta(days=21, hours=23, minutes=59), 21, 21, False, 0),
        ("identified", dt.timedelta(days=22), 22, 21, True, 1),
        ("identified", dt.timedelta(days=100), 100, 21, True, 79),
        ("active", dt.timedelta(days=365), 365, 365, False, 0),
        ("active", dt.timedelta(days=366), 366, 365, True, 1),
        ("closed", dt.timedelta(days=5000), 5000, None, False, 0),
        ("identified", -dt.timedelta(days=2), 0, 21, False, 0),  # clock skew: never negative
    ],
)
def test_sla_status(state, waited, days_in_state, sla_days, overdue, days_over):
    sla = engine.sla_status(PARTNERSHIP, state, NOW - waited, NOW)
    assert (sla.days_in_state, sla.sla_days, sla.is_overdue, sla.days_over) == (
        days_in_state,
        sla_days,
        overdue,
        days_over,
    )


@pytest.mark.parametrize(
    ("state", "waiting_on"),
    [("identified", "us"), ("approached", "employer"), ("agreeing", "employer")],
)
def test_sla_says_whose_move_it_is(state, waiting_on):
    assert engine.sla_status(PARTNERSHIP, state, NOW, NOW).waiting_on == waiting_on


def test_facts_count_whole_days_in_state():
    assert facts("identified", days_in_state=2.9).days_in_state == 2
    assert facts("identified", days_in_state=-1).days_in_state == 0


def test_checklist_missing_lists_labels_in_order():
    assert engine.checklist_missing(PARTNERSHIP, "approached", frozenset({"meeting_held"})) == [
        "Engagement interests discussed (hosting, co-design, recruitment)"
    ]
    assert engine.checklist_missing(PARTNERSHIP, "active", frozenset()) == []


# --- the workflow page's sentences --------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "transition", "index", "sentence"),
    [
        (
            PARTNERSHIP,
            "research",
            0,
            "Tick the checklist before moving to Researched: Sector and size fit our "
            "programmes; Website and public information reviewed.",
        ),
        (PARTNERSHIP, "research", 1, "Record a focal person before moving to Researched."),
        (PARTNERSHIP, "research", 2, "Record a decision maker before moving to Researched."),
        (
            PARTNERSHIP,
            "approach",
            0,
            "Log a contact with the employer (call, e-mail, meeting, visit) "
            "before moving to Approached.",
        ),
        (
            PARTNERSHIP,
            "analyse_needs",
            1,
            "Fill in skill needs and engagement interests before moving to Needs analysed.",
        ),
        (
            PARTNERSHIP,
            "activate",
            0,
            "Fill in the date the memorandum was signed before moving to Active.",
        ),
        (
            PLACEMENT,
            "match",
            0,
            "Before moving to Matched, the partnership with the organisation must be: active.",
        ),
        (PLACEMENT, "match", 1, "The start and end dates lie inside the programme year."),
        (AGREEMENT, "expire", 0, "Only once the expiry date has passed."),
    ],
)
def test_requirement_words_a_guard_for_the_workflow_page(definition, transition, index, sentence):
    t = definition.transition(transition)
    assert engine.requirement(definition, t, t.guards[index]) == sentence


def test_requirement_words_guards_that_need_a_record_as_rules():
    # An empty record passes these guards, so their failure sentence cannot be borrowed.
    definition = lab("placement", "hours_target_met: {reason_field: hours_shortfall_reason}")
    go = definition.transition("go")
    assert engine.requirement(definition, go, go.guards[0]) == (
        "The hours logged reach the hours target, or the shortfall is explained."
    )


def test_requirement_falls_back_to_the_guard_and_its_parameters(monkeypatch):
    # A guard registered without a wording of its own shows its name and parameters.
    monkeypatch.delitem(engine.REQUIREMENTS, "hours_target_met")
    definition = lab("placement", "hours_target_met: {reason_field: hours_shortfall_reason}")
    go = definition.transition("go")
    assert (
        engine.requirement(definition, go, go.guards[0])
        == "hours_target_met (reason_field: hours_shortfall_reason)"
    )
