"""`flask crm workflows check`, and an application that will not start on a broken pack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm import create_app
from crm.config import PROJECT_ROOT
from crm.extensions import db
from crm.workflow.definitions import WorkflowPackError
from crm.workflow.models import WorkflowSnapshot
from tests.workflow.support import PACK_DIR, edited, pack_text

FLASK = Path(sys.executable).parent / "flask"

# Files are named relative to the working directory (the tests run the commands from the
# project folder, as the README does).
OK_LINES = [
    "workflows/agreement.yaml: ok — agreement v2, 8 states, 8 transitions",
    "workflows/partnership.yaml: ok — partnership v1, 9 states, 11 transitions",
    "workflows/placement.yaml: ok — placement v2, 12 states, 14 transitions",
    # Not a workflow, checked after them (crm.health.config).
    "workflows/health.yaml: ok — health score v1, 7 components weighing 20/15/15/15/15/10/10",
]

BROKEN = """\
name: broken
version: 1
record: partnership
label: Broken
initial: new
states:
  new:
    label: New
  done:
    label: Done
transitions:
  - name: finish
    label: Finish
    from: new
    to: finished
    by: [officer, intern]
  - name: wait
    label: Wait
    from: new
    to: new
    by: [officer]
    timer: {after_days: 3}
    guards:
      - sunny_weather
"""


def line_of(text: str, fragment: str) -> int:
    """The number of the only line containing `fragment`."""
    numbers = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(numbers) == 1, numbers
    return numbers[0]


@pytest.fixture(autouse=True)
def _in_the_project_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)


def check(app, *files: str):
    return app.test_cli_runner().invoke(args=["crm", "workflows", "check", *files])


def test_the_default_pack_passes_the_check(app, ctx):
    result = check(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == OK_LINES
    assert result.stderr == ""


def test_a_broken_file_gets_every_problem_and_exit_code_1(app, ctx, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = check(app, str(PACK_DIR / "agreement.yaml"), str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == OK_LINES[:1]
    assert result.stderr.splitlines() == [
        f"{path}:16: transitions[0].by: unknown actor 'intern'; "
        "use admin, manager, officer, employer, learner, system"
    ]

    path.write_text(edited(BROKEN, ("by: [officer, intern]", "by: [officer]")), "utf-8")
    result = check(app, str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:15: transitions[0].to: unknown state 'finished'; states are new, done",
        f"{path}:21: transitions[1].by: a transition with a timer or event must include "
        "'system' in 'by'",
        f"{path}:24: transitions[1].guards[0]: unknown guard 'sunny_weather'; known: "
        "activity_logged, checklist_done, contact_with_role, date_passed, "
        "dates_within_programme_year, field_filled, guardian_consent_if_minor, hours_target_met, "
        "no_two_way_contact_for, related_in_state",
        f"{path}:9: states.done: state 'done' cannot be reached from the initial state",
    ]


def test_the_check_notices_an_edit_without_a_new_version(app, ctx):
    db.session.add(
        WorkflowSnapshot(
            workflow_name="partnership", version=1, fingerprint="0" * 64, definition={}
        )
    )
    db.session.commit()
    result = check(app)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [OK_LINES[0], OK_LINES[2], OK_LINES[3]]
    assert result.stderr.splitlines() == [
        "workflows/partnership.yaml: version: version 1 is already in use with different "
        "content; give the changed workflow a new version number and run "
        "'flask --app wsgi crm workflows migrate partnership --map OLD=NEW ...'"
    ]


def test_the_check_accepts_the_stored_version_it_was_loaded_from(app, ctx):
    from crm.workflow.service import ensure_snapshot
    from tests.workflow.support import PARTNERSHIP

    ensure_snapshot(PARTNERSHIP)
    db.session.commit()
    result = check(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == OK_LINES


# --- the application refuses to start on a broken pack -----------------------------------------


def pack_copy(directory: Path, partnership_text: str) -> Path:
    """The default pack in `directory`, with partnership.yaml replaced."""
    for path in PACK_DIR.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    (directory / "partnership.yaml").write_text(partnership_text, encoding="utf-8")
    return directory


def settings(directory: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "CRM_WORKFLOWS_DIR": str(directory),
    }


def test_the_app_refuses_to_start_on_a_broken_pack(tmp_path):
    text = edited(pack_text("partnership"), ("initial: identified", "initial: found"))
    directory = pack_copy(tmp_path, text)
    with pytest.raises(WorkflowPackError) as raised:
        create_app(settings(directory))
    line = line_of(text, "initial: found")
    assert str(raised.value) == (
        "invalid workflow definitions:\n"
        f"  {directory / 'partnership.yaml'}:{line}: initial: unknown initial state 'found'; "
        "states are identified, researched, approached, needs_analysed, agreeing, active, "
        "under_review, dormant, closed"
    )


def test_the_app_loads_the_pack_from_the_configured_folder(tmp_path):
    text = edited(pack_text("partnership"), ("label: Partnership\n", "label: Employer link\n"))
    app = create_app(settings(pack_copy(tmp_path, text)))
    assert app.extensions["crm_workflows"].get("partnership").label == "Employer link"


def flask_command(tmp_path: Path, workflows: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CRM_WORKFLOWS_DIR": str(workflows),
        "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "CRM_ENV": "development",
    }
    return subprocess.run(
        [str(FLASK), "--app", "wsgi", "crm", "workflows", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_only_the_check_command_starts_on_a_broken_pack(tmp_path):
    text = edited(pack_text("partnership"), ("to: identified", "to: start_again"))
    (tmp_path / "pack").mkdir()
    directory = pack_copy(tmp_path / "pack", text)
    line = line_of(text, "to: start_again")

    checked = flask_command(tmp_path, directory, "check")
    assert checked.returncode == 1, checked.stderr
    assert checked.stderr.splitlines() == [
        f"{directory / 'partnership.yaml'}:{line}: transitions[10].to: unknown state "
        "'start_again'; states are identified, researched, approached, needs_analysed, "
        "agreeing, active, under_review, dormant, closed",
    ]
    assert checked.stdout.splitlines() == [
        f"{directory / 'agreement.yaml'}: ok — agreement v2, 8 states, 8 transitions",
        f"{directory / 'placement.yaml'}: ok — placement v2, 12 states, 14 transitions",
        f"{directory / 'health.yaml'}: ok — health score v1, 7 components weighing "
        "20/15/15/15/15/10/10",
    ]

    refused = flask_command(tmp_path, directory, "schema")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "WorkflowPackError: invalid workflow definitions:" in refused.stderr
    assert f"{directory / 'partnership.yaml'}:{line}: transitions[10].to:" in refused.stderr
