"""The health configuration file: its checks with file and line, the app refusing a broken
one, and `crm workflows check` validating it beside the workflows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crm import create_app
from crm.health.config import HealthConfigError, load_config, parse_text
from tests.workflow.support import PACK_DIR, edited

FILE = "health.yaml"
TEXT = (PACK_DIR / FILE).read_text(encoding="utf-8")
OPEN_STATES = [
    "identified",
    "researched",
    "approached",
    "needs_analysed",
    "agreeing",
    "active",
    "under_review",
    "dormant",
]


def line_of(text: str, fragment: str, after: str = "") -> int:
    """The line number (from 1) of `fragment`, searching after `after`."""
    start = text.index(after) if after else 0
    return text[: text.index(fragment, start)].count("\n") + 1


def problems(text: str) -> list[str]:
    config, found = parse_text(text, FILE, OPEN_STATES)
    assert config is None
    return [str(p) for p in found]


def test_the_shipped_file_is_valid() -> None:
    config, found = parse_text(TEXT, FILE, OPEN_STATES)
    assert found == []
    assert config is not None
    assert sum(c.weight for _n, c in config.components.items()) == 100


def test_an_unknown_component() -> None:
    text = edited(TEXT, ("  follow_ups:\n", "  tea_breaks:\n"))
    assert problems(text) == [
        f"{FILE}:{line_of(TEXT, 'components:')}: components.follow_ups: "
        "missing component 'follow_ups'",
        f"{FILE}:{line_of(text, 'tea_breaks:')}: components.tea_breaks: unknown component "
        "'tea_breaks'; components are contact, stage, agreement, placements, satisfaction, "
        "responsiveness, follow_ups",
    ]


def test_an_unknown_key_in_a_component() -> None:
    text = edited(TEXT, ("    months: 24\n", "    months: 24\n    colour: green\n"))
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'colour:')}: components.satisfaction.colour: unknown key 'colour'"
    ]


def test_a_negative_weight() -> None:
    text = edited(TEXT, ("    weight: 20\n", "    weight: -20\n"))
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'weight: -20')}: components.contact.weight: "
        "a weight cannot be negative (found -20)",
        f"{FILE}:{line_of(text, 'components:')}: components: the weights add up to 60; they "
        "must add up to 100 so that a partnership losing nothing scores 100",
    ]


def test_weights_that_do_not_add_up_to_100() -> None:
    text = edited(TEXT, ("    weight: 20\n", "    weight: 25\n"))
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'components:')}: components: the weights add up to 105; they "
        "must add up to 100 so that a partnership losing nothing scores 100"
    ]


def test_thresholds_out_of_order() -> None:
    text = edited(
        TEXT,
        ("      - {after_days: 60, points: 10}\n", "      - {after_days: 20, points: 10}\n"),
        ("      - {below: 3, points: 10}\n", "      - {below: 4.5, points: 10}\n"),
    )
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'after_days: 20')}: components.contact.steps[1].after_days: "
        "steps out of order: after_days 20 must be greater than the step before (30)",
        f"{FILE}:{line_of(text, 'below: 4.5')}: components.satisfaction.steps[1].below: "
        "steps out of order: below 4.5 must be smaller than the step before (4.0)",
    ]


def test_a_later_step_losing_fewer_points() -> None:
    text = edited(
        TEXT, ("      - {at_least: 5, points: 10}\n", "      - {at_least: 5, points: 6}\n")
    )
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'at_least: 5')}: components.follow_ups.steps[2].points: "
        "a later step cannot lose fewer points than the step before (6 < 7)"
    ]


def test_a_step_losing_more_than_the_weight() -> None:
    step = "      - {after_days: 14, points: 10}\n\n  # Open follow-ups"
    text = edited(TEXT, (step, step.replace("points: 10", "points: 12")))
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'points: 12')}: components.responsiveness.steps[2].points: "
        "a step cannot lose more than the component's weight (10)"
    ]


def test_a_state_the_workflow_does_not_have_or_a_final_one() -> None:
    text = edited(
        TEXT, ("    states: [active, under_review]\n", "    states: [active, closed, busy]\n")
    )
    line = line_of(text, "[active, closed, busy]")
    assert problems(text) == [
        f"{FILE}:{line}: components.placements.states[1]: unknown or final state 'closed'; the "
        f"open states are {', '.join(OPEN_STATES)}",
        f"{FILE}:{line}: components.placements.states[2]: unknown or final state 'busy'; the "
        f"open states are {', '.join(OPEN_STATES)}",
    ]


def test_bands_out_of_order() -> None:
    text = edited(TEXT, ("  steady: 60\n", "  steady: 85\n"))
    assert problems(text) == [
        f"{FILE}:{line_of(text, 'bands:')}: bands: bands must be in order: thriving above "
        "steady above at_risk (found 80, 85, 40)"
    ]


def test_shape_errors_syntax_and_empty_files() -> None:
    assert problems(edited(TEXT, ("  thriving: 80\n", "  thriving: lots\n"))) == [
        f"{FILE}:{line_of(TEXT, 'thriving: 80')}: bands.thriving: Input should be a valid "
        "integer, unable to parse string as an integer"
    ]
    assert problems("version: 1\nbands: [\n") == [
        f"{FILE}:3: YAML syntax error: expected the node content, but found '<stream end>'"
    ]
    assert problems("") == [f"{FILE}: the file is empty"]
    assert problems("- a list\n") == [f"{FILE}:1: the health configuration must be a mapping"]


# --- the application and the check command --------------------------------------------------


def pack_with_health(directory: Path, text: str | None) -> Path:
    """The default workflows in `directory` with this health.yaml (none when None)."""
    for path in PACK_DIR.glob("*.yaml"):
        if path.name != FILE:
            shutil.copy(path, directory / path.name)
    if text is not None:
        (directory / FILE).write_text(text, encoding="utf-8")
    return directory


def settings(directory: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "CRM_WORKFLOWS_DIR": str(directory),
    }


def test_the_app_refuses_to_start_on_a_broken_file(tmp_path: Path) -> None:
    text = edited(
        TEXT,
        (
            "    weight: 15\n    steps:\n      - {after_days: 0",
            "    weight: 16\n    steps:\n      - {after_days: 0",
        ),
    )
    directory = pack_with_health(tmp_path, text)
    with pytest.raises(HealthConfigError) as raised:
        create_app(settings(directory))
    assert str(raised.value) == (
        "invalid health score configuration:\n"
        f"  {directory / FILE}:{line_of(text, 'components:')}: components: the weights add up "
        "to 101; they must add up to 100 so that a partnership losing nothing scores 100"
    )


def test_the_app_reads_the_weights_beside_its_workflows(tmp_path: Path) -> None:
    text = edited(TEXT, ("  thriving: 80\n", "  thriving: 85\n"))
    app = create_app(settings(pack_with_health(tmp_path, text)))
    loaded = app.extensions["crm_health"]
    assert loaded.source == str(tmp_path / FILE)
    assert loaded.config.bands.thriving == 85


def test_without_a_file_the_shipped_one_applies(tmp_path: Path) -> None:
    app = create_app(settings(pack_with_health(tmp_path, None)))
    loaded = app.extensions["crm_health"]
    assert loaded.config == load_config(PACK_DIR).config
    assert loaded.source.endswith(f"workflows/{FILE}")


def test_the_workflow_loader_skips_the_health_file() -> None:
    from crm.workflow.definitions import load_pack

    assert sorted(load_pack(PACK_DIR).definitions) == ["agreement", "partnership", "placement"]


def test_the_check_command_validates_the_health_file(app, ctx, tmp_path: Path) -> None:
    directory = pack_with_health(tmp_path, TEXT)
    original = app.config["CRM_WORKFLOWS_DIR"]
    app.config["CRM_WORKFLOWS_DIR"] = str(directory)
    try:
        good = app.test_cli_runner().invoke(args=["crm", "workflows", "check"])
        assert good.exit_code == 0, good.output
        assert good.stdout.splitlines()[-1] == (
            f"{directory / FILE}: ok — health score v1, 7 components weighing 20/15/15/15/15/10/10"
        )
        broken = edited(
            TEXT, ("      - {below: 3, points: 10}\n", "      - {below: 4.5, points: 10}\n")
        )
        (directory / FILE).write_text(broken, encoding="utf-8")
        bad = app.test_cli_runner().invoke(args=["crm", "workflows", "check"])
        assert bad.exit_code == 1
        assert bad.stderr.splitlines() == [
            f"{directory / FILE}:{line_of(broken, 'below: 4.5')}: "
            "components.satisfaction.steps[1].below: steps out of order: below 4.5 must be "
            "smaller than the step before (4.0)"
        ]
        assert not any(FILE in line for line in bad.stdout.splitlines())
    finally:
        app.config["CRM_WORKFLOWS_DIR"] = original
