"""Validation of workflow files: every problem with its file, line, place and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.workflow.definitions import (
    Problem,
    WorkflowPackError,
    load_pack,
    parse_file,
    parse_text,
)
from tests.workflow.support import PACK_DIR, edited

pytestmark = pytest.mark.pure

FILE = "workflows/demo.yaml"

# A valid definition; the line numbers in the expected problems below refer to it.
BASE = """\
name: demo
version: 1
record: partnership
label: Demo
initial: new
states:
  new:
    label: New
    checklist:
      - key: a
        label: A
  done:
    label: Done
    terminal: true
transitions:
  - name: finish
    label: Finish
    from: new
    to: done
    by: [officer]
"""  # lines 21 and on: appended by some cases


def problems_of(text: str, expected_name: str = "demo") -> list[str]:
    definition, problems = parse_text(text, FILE, expected_name=expected_name)
    assert definition is None
    return [str(p) for p in problems]


def reported_line(text: str, problem: str) -> str:
    """The text of the line a problem points at."""
    line = int(problem.split(":")[1])
    return text.splitlines()[line - 1]


def test_the_base_definition_is_valid():
    definition, problems = parse_text(BASE, FILE, expected_name="demo")
    assert problems == []
    assert definition is not None
    assert list(definition.states) == ["new", "done"]


GUARD = "    guards:\n      - "
EFFECT = "    effects:\n      - "
SECOND = "  - name: finish\n    label: Again\n    from: new\n    to: done\n    by: [officer]\n"
ACTORS = "admin, manager, officer, employer, learner, system"
STATES = "states are new, done"
GUARDS = (
    "activity_logged, checklist_done, contact_with_role, date_passed, "
    "dates_within_programme_year, field_filled, guardian_consent_if_minor, hours_target_met, "
    "no_two_way_contact_for, related_in_state"
)
FIELDS = "needs_summary, memorandum_signed_on, review_notes, closed_reason"

# (text, the problems in order, a piece of text each problem's line must contain)
CASES = {
    "yaml-syntax-error": (
        edited(BASE, ("    label: Finish\n", "    label: Finish: now\n")),
        [f"{FILE}:17: YAML syntax error: mapping values are not allowed here"],
        ["Finish: now"],
    ),
    "yaml-tab": (
        edited(BASE, ("version: 1\n", "version: 1\n\tfoo: 1\n")),
        [f"{FILE}:3: YAML syntax error: found character '\\t' that cannot start any token"],
        ["\tfoo"],
    ),
    "not-a-mapping": (
        "# a list, not a workflow\n- a\n- b\n",
        [f"{FILE}:2: a workflow file must be a mapping"],
        ["- a"],
    ),
    "a-plain-string": ("hello\n", [f"{FILE}:1: a workflow file must be a mapping"], ["hello"]),
    "duplicate-key": (
        edited(BASE, ("label: Demo\n", "label: Demo\nlabel: Again\n")),
        [f"{FILE}:5: label: duplicate key 'label'"],
        ["label: Again"],
    ),
    "duplicate-nested-key": (
        edited(BASE, ("    to: done\n", "    to: done\n    to: new\n")),
        [
            f"{FILE}:20: transitions[0].to: duplicate key 'to'",
            # the last value wins, as in YAML, so `done` is out of reach too
            f"{FILE}:12: states.done: state 'done' cannot be reached from the initial state",
        ],
        ["to: new", "done:"],
    ),
    "unknown-key-in-a-state": (
        edited(BASE, ("    label: Done\n", "    label: Done\n    colour: red\n")),
        [f"{FILE}:14: states.done.colour: unknown key 'colour'"],
        ["colour"],
    ),
    "unknown-key-in-a-transition": (
        BASE + "    guard: checklist_done\n",
        [f"{FILE}:21: transitions[0].guard: unknown key 'guard'"],
        ["guard: checklist_done"],
    ),
    "missing-key-in-a-transition": (
        edited(BASE, ("    to: done\n", "")),
        [f"{FILE}:16: transitions[0].to: missing required key 'to'"],
        ["name: finish"],
    ),
    "missing-key-in-a-state": (
        edited(BASE, ("    label: Done\n", "")),
        [f"{FILE}:12: states.done.label: missing required key 'label'"],
        ["done:"],
    ),
    "missing-top-level-key": (
        edited(BASE, ("initial: new\n", "")),
        [f"{FILE}:1: initial: missing required key 'initial'"],
        ["name: demo"],
    ),
    "unknown-from-state": (
        edited(BASE, ("from: new", "from: [new, old]")),
        [f"{FILE}:18: transitions[0].from[1]: unknown state 'old'; {STATES}"],
        ["from: [new, old]"],
    ),
    "unknown-to-state": (
        edited(BASE, ("to: done", "to: finished")),
        [
            f"{FILE}:19: transitions[0].to: unknown state 'finished'; {STATES}",
            f"{FILE}:12: states.done: state 'done' cannot be reached from the initial state",
        ],
        ["to: finished", "done:"],
    ),
    "unknown-initial-state": (
        edited(BASE, ("initial: new", "initial: start")),
        [f"{FILE}:5: initial: unknown initial state 'start'; {STATES}"],
        ["initial: start"],
    ),
    "unknown-guard": (
        BASE + GUARD + "sunny_weather\n",
        [f"{FILE}:22: transitions[0].guards[0]: unknown guard 'sunny_weather'; known: {GUARDS}"],
        ["sunny_weather"],
    ),
    "unknown-effect": (
        BASE + EFFECT + "send_flowers: {to: boss}\n",
        [
            f"{FILE}:22: transitions[0].effects[0]: unknown effect 'send_flowers'; "
            "known: advance_agreement_subject, close_follow_ups, fire_related, issue_agreement, "
            "issue_agreement_version, schedule_follow_up, seal_agreement, send_action_link, "
            "send_email"
        ],
        ["send_flowers"],
    ),
    "guard-parameter-of-the-wrong-type": (
        BASE + GUARD + "no_two_way_contact_for: {days: many}\n",
        [
            f"{FILE}:22: transitions[0].guards[0].no_two_way_contact_for.days: "
            "no_two_way_contact_for: Input should be a valid integer, "
            "unable to parse string as an integer"
        ],
        ["days: many"],
    ),
    "guard-parameter-not-allowed": (
        BASE + GUARD + "contact_with_role: {role: ceo}\n",
        [
            f"{FILE}:22: transitions[0].guards[0].contact_with_role.role: contact_with_role: "
            "Input should be 'focal_person', 'decision_maker' or 'workplace_supervisor'"
        ],
        ["role: ceo"],
    ),
    "unknown-guard-parameter": (
        BASE + GUARD + "contact_with_role:\n          role: focal_person\n          urgent: yes\n",
        [
            f"{FILE}:24: transitions[0].guards[0].contact_with_role.urgent: "
            "contact_with_role: unknown parameter 'urgent'"
        ],
        ["urgent: yes"],
    ),
    "missing-guard-parameter": (
        BASE + GUARD + "field_filled\n",
        [
            f"{FILE}:22: transitions[0].guards[0].field_filled.field: "
            "field_filled: missing parameter 'field'"
        ],
        ["field_filled"],
    ),
    "missing-guard-parameter-in-empty-mapping": (
        BASE + GUARD + "field_filled: {}\n",
        [
            f"{FILE}:22: transitions[0].guards[0].field_filled.field: "
            "field_filled: missing parameter 'field'"
        ],
        ["field_filled: {}"],
    ),
    "guard-parameters-not-a-mapping": (
        BASE + GUARD + "field_filled: needs_summary\n",
        [
            f"{FILE}:22: transitions[0].guards[0]: "
            "the parameters of 'field_filled' must be a mapping"
        ],
        ["field_filled: needs_summary"],
    ),
    "guard-written-with-two-names": (
        BASE + GUARD + "{checklist_done: {}, field_filled: {field: needs_summary}}\n",
        [
            f"{FILE}:22: transitions[0].guards[0]: "
            "write a guard or effect as its name, or as {name: {parameter: value}}"
        ],
        ["checklist_done"],
    ),
    "bad-effect-parameter": (
        BASE + EFFECT + "schedule_follow_up: {days: -1, subject: Call}\n",
        [
            f"{FILE}:22: transitions[0].effects[0].schedule_follow_up.days: "
            "schedule_follow_up: Input should be greater than or equal to 0"
        ],
        ["days: -1"],
    ),
    "unknown-field-for-field-filled": (
        BASE + GUARD + "field_filled: {field: shoe_size}\n",
        [
            f"{FILE}:22: transitions[0].guards[0]: field_filled: unknown field 'shoe_size' "
            f"on partnership; known: {FIELDS}"
        ],
        ["shoe_size"],
    ),
    "unknown-relation": (
        edited(BASE, ("record: partnership", "record: placement"))
        + GUARD
        + "related_in_state: {relation: employer, states: [active]}\n",
        [
            f"{FILE}:22: transitions[0].guards[0]: related_in_state: unknown relation "
            "'employer' on placement; known: partnership, agreement"
        ],
        ["relation: employer"],
    ),
    "unknown-state-for-checklist-done": (
        BASE + GUARD + "checklist_done: {state: nowhere}\n",
        [f"{FILE}:22: transitions[0].guards[0]: checklist_done: unknown state 'nowhere'; {STATES}"],
        ["nowhere"],
    ),
    "guard-not-for-this-record-type": (
        BASE + GUARD + "hours_target_met\n",
        [
            f"{FILE}:22: transitions[0].guards[0]: "
            "'hours_target_met' cannot be used on partnership records"
        ],
        ["hours_target_met"],
    ),
    "effect-not-for-this-record-type": (
        BASE + EFFECT + "fire_related: {relation: agreement, transition: sign_all}\n",
        [
            f"{FILE}:22: transitions[0].effects[0]: 'fire_related' cannot be used on "
            "partnership records",
            f"{FILE}:22: transitions[0].effects[0]: fire_related: unknown relation "
            "'agreement' on partnership; known: none",
        ],
        ["fire_related", "fire_related"],
    ),
    "duplicate-transition-name": (
        BASE + SECOND,
        [f"{FILE}:21: transitions[1].name: duplicate transition name 'finish'"],
        ["name: finish"],
    ),
    "duplicate-checklist-key": (
        edited(
            BASE,
            ("        label: A\n", "        label: A\n      - key: a\n        label: A again\n"),
        ),
        [f"{FILE}:12: states.new.checklist[1]: duplicate checklist key 'a'"],
        ["key: a"],
    ),
    "unreachable-state": (
        edited(BASE, ("  done:\n", "  limbo:\n    label: Limbo\n  done:\n")),
        [f"{FILE}:12: states.limbo: state 'limbo' cannot be reached from the initial state"],
        ["limbo:"],
    ),
    "timer-without-system": (
        BASE + "    timer: {after_days: 3}\n",
        [
            f"{FILE}:20: transitions[0].by: "
            "a transition with a timer or event must include 'system' in 'by'"
        ],
        ["by: [officer]"],
    ),
    "event-without-system": (
        BASE + "    event: signed\n",
        [
            f"{FILE}:20: transitions[0].by: "
            "a transition with a timer or event must include 'system' in 'by'"
        ],
        ["by: [officer]"],
    ),
    "unknown-actor": (
        edited(BASE, ("by: [officer]", "by: [officer, intern]")),
        [f"{FILE}:20: transitions[0].by: unknown actor 'intern'; use {ACTORS}"],
        ["intern"],
    ),
    "name-does-not-match-the-file": (
        edited(BASE, ("name: demo", "name: demonstration")),
        [f"{FILE}:1: name: the workflow in demo.yaml must be named 'demo'"],
        ["name: demonstration"],
    ),
    "name-pattern": (
        edited(BASE, ("name: demo", "name: Demo-Flow")),
        [f"{FILE}:1: name: String should match pattern '^[a-z][a-z0-9_]*$'"],
        ["Demo-Flow"],
    ),
    "state-name-pattern": (
        edited(BASE, ("  done:\n", "  Done-State:\n"), ("to: done", "to: Done-State")),
        [f"{FILE}:12: states.Done-State: state names use lower-case letters, digits and _"],
        ["Done-State:"],
    ),
    "unknown-record-type": (
        edited(BASE, ("record: partnership", "record: invoice")),
        [f"{FILE}:3: record: unknown record type 'invoice'; use partnership, placement, agreement"],
        ["invoice"],
    ),
    "comment-label-without-comment": (
        BASE + "    comment: none\n    comment_label: Why?\n",
        [
            f"{FILE}:22: transitions[0].comment_label: "
            "comment_label needs comment: optional or required"
        ],
        ["comment_label"],
    ),
    "sla-out-of-range": (
        edited(BASE, ("    label: Done\n", "    label: Done\n    sla_days: 0\n")),
        [f"{FILE}:14: states.done.sla_days: Input should be greater than or equal to 1"],
        ["sla_days: 0"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_reported_with_file_line_place_and_message(case):
    text, expected, needles = CASES[case]
    problems = problems_of(text)
    assert problems == expected
    assert [
        needle in reported_line(text, p) for p, needle in zip(problems, needles, strict=True)
    ] == [True] * len(problems)


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing here yet\n"])
def test_an_empty_file(text):
    assert problems_of(text) == [f"{FILE}: the file is empty"]


def test_every_problem_of_a_file_is_reported_at_once():
    text = (
        edited(
            BASE,
            ("from: new", "from: old"),
            ("by: [officer]", "by: [officer, intern]"),
        )
        + GUARD
        + "sunny_weather\n"
    )
    problems = problems_of(text)
    assert problems == [f"{FILE}:20: transitions[0].by: unknown actor 'intern'; use {ACTORS}"]
    # Shape errors come first; once they are fixed the references are checked.
    text = edited(text, ("by: [officer, intern]", "by: [officer]"))
    assert problems_of(text) == [
        f"{FILE}:18: transitions[0].from[0]: unknown state 'old'; {STATES}",
        f"{FILE}:22: transitions[0].guards[0]: unknown guard 'sunny_weather'; known: {GUARDS}",
        f"{FILE}:12: states.done: state 'done' cannot be reached from the initial state",
    ]


def test_the_name_must_match_the_file_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(BASE, encoding="utf-8")
    definition, problems = parse_file(path, "workflows/other.yaml")
    assert definition is None
    assert [str(p) for p in problems] == [
        "workflows/other.yaml:1: name: the workflow in other.yaml must be named 'other'"
    ]


def test_a_file_that_cannot_be_read(tmp_path):
    definition, problems = parse_file(tmp_path / "missing.yaml", "workflows/missing.yaml")
    assert definition is None
    assert [str(p) for p in problems] == [
        "workflows/missing.yaml: cannot read the file: No such file or directory"
    ]


def test_problem_text_leaves_out_what_it_does_not_know():
    assert str(Problem("a.yaml", 3, "states.x", "bad")) == "a.yaml:3: states.x: bad"
    assert str(Problem("a.yaml", 3, "", "bad")) == "a.yaml:3: bad"
    assert str(Problem("a.yaml", None, "", "bad")) == "a.yaml: bad"


# --- the pack --------------------------------------------------------------------------------


def test_the_default_pack_loads():
    pack = load_pack(PACK_DIR)
    assert sorted(pack.definitions) == ["agreement", "partnership", "placement"]
    assert pack.for_record("placement").name == "placement"


def test_a_pack_without_files(tmp_path):
    with pytest.raises(WorkflowPackError) as raised:
        load_pack(tmp_path)
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path}: no workflow files (*.yaml) found"
    ]


def test_more_than_one_workflow_for_a_record_type(tmp_path):
    (tmp_path / "demo.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "other.yaml").write_text(
        edited(BASE, ("name: demo", "name: other")), encoding="utf-8"
    )
    with pytest.raises(WorkflowPackError) as raised:
        load_pack(tmp_path)
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path}: more than one workflow for partnership records: "
        f"{tmp_path / 'demo.yaml'}, {tmp_path / 'other.yaml'}"
    ]


def test_a_pack_reports_the_problems_of_every_file(tmp_path):
    (tmp_path / "agreement.yaml").write_text(
        (PACK_DIR / "agreement.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "demo.yaml").write_text(edited(BASE, ("to: done", "to: nowhere")), "utf-8")
    (tmp_path / "zeta.yaml").write_text("", encoding="utf-8")
    with pytest.raises(WorkflowPackError) as raised:
        load_pack(tmp_path)
    demo, zeta = tmp_path / "demo.yaml", tmp_path / "zeta.yaml"
    assert str(raised.value) == (
        "invalid workflow definitions:\n"
        f"  {demo}:19: transitions[0].to: unknown state 'nowhere'; {STATES}\n"
        f"  {demo}:12: states.done: state 'done' cannot be reached from the initial state\n"
        f"  {zeta}: the file is empty"
    )


def test_pack_files_are_named_relative_to_the_working_directory(monkeypatch):
    monkeypatch.chdir(PACK_DIR.parent)
    text = (PACK_DIR / "partnership.yaml").read_text(encoding="utf-8")
    definition, problems = parse_file(Path("workflows/partnership.yaml"))
    assert problems == []
    assert definition is not None
    assert definition.fingerprint == parse_text(text, "x", "partnership")[0].fingerprint
