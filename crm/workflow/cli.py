"""`flask crm workflows ...`: check, publish the schema, migrate records, fire timers."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from crm.extensions import db
from crm.health.config import FILE_NAME as HEALTH_FILE
from crm.workflow.definitions import (
    NOT_WORKFLOWS,
    Problem,
    WorkflowDef,
    json_schema,
    parse_file,
)

workflows_cli = AppGroup("workflows", help="Check and manage workflow definitions.")


@workflows_cli.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def check_command(files: tuple[Path, ...]) -> None:
    """Validate workflow files (default: every file in the workflows folder)."""
    directory = Path(current_app.config["CRM_WORKFLOWS_DIR"])
    paths = list(files) or sorted(directory.glob("*.yaml"))
    if not paths:
        raise click.ClickException(f"no workflow files in {directory}")
    failed = 0
    checked: list[WorkflowDef] = []
    for path in paths:
        if path.name in NOT_WORKFLOWS:
            continue  # checked below, against the workflows
        definition, problems = parse_file(path, _shown(path))
        if definition is not None:
            checked.append(definition)
            problems = _compare_with_stored(definition, _shown(path))
        if problems:
            failed += 1
            for problem in problems:
                click.echo(str(problem), err=True)
        elif definition is not None:
            click.echo(
                f"{_shown(path)}: ok — {definition.name} v{definition.version}, "
                f"{len(definition.states)} states, {len(definition.transitions)} transitions"
            )
    for path in paths:
        if path.name == HEALTH_FILE and not _check_health(path, checked):
            failed += 1
    if failed:
        raise SystemExit(1)


def _check_health(path: Path, checked: list[WorkflowDef]) -> bool:
    """Validate the health score's configuration against the partnership workflow."""
    from crm.health.config import parse_text as parse_health

    partnership = next((d for d in checked if d.record == "partnership"), None)
    if partnership is None:
        pack = current_app.extensions.get("crm_workflows")
        partnership = pack.definitions.get("partnership") if pack is not None else None
    states = (
        [name for name, state in partnership.states.items() if not state.terminal]
        if partnership is not None
        else None
    )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        click.echo(f"{_shown(path)}: cannot read the file: {exc.strerror}", err=True)
        return False
    config, problems = parse_health(text, _shown(path), states)
    for problem in problems:
        click.echo(str(problem), err=True)
    if config is None:
        return False
    weights = "/".join(str(c.weight) for _name, c in config.components.items())
    click.echo(
        f"{_shown(path)}: ok — health score v{config.version}, "
        f"{len(config.components.items())} components weighing {weights}"
    )
    return True


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _compare_with_stored(definition: WorkflowDef, shown: str) -> list[Problem]:
    """A definition edited without a new version would change records already running on it."""
    import sqlalchemy as sa

    from crm.workflow.models import WorkflowSnapshot

    try:
        stored = db.session.scalar(
            sa.select(WorkflowSnapshot.fingerprint).where(
                WorkflowSnapshot.workflow_name == definition.name,
                WorkflowSnapshot.version == definition.version,
            )
        )
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return []  # no database (yet): nothing to compare with
    if stored is not None and stored != definition.fingerprint:
        return [
            Problem(
                shown,
                None,
                "version",
                f"version {definition.version} is already in use with different content; "
                f"give the changed workflow a new version number and run "
                f"'flask --app wsgi crm workflows migrate {definition.name} --map OLD=NEW ...'",
            )
        ]
    return []


@workflows_cli.command("schema")
@click.option("--output", type=click.Path(path_type=Path), help="Write to this file.")
def schema_command(output: Path | None) -> None:
    """Print (or write) the JSON Schema of the workflow format."""
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@workflows_cli.command("migrate")
@click.argument("workflow")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="OLD=NEW",
    help="State mapping; repeat for each state.",
)
@click.option("--from-version", type=int, help="Only move records on this version.")
def migrate_command(workflow: str, mappings: tuple[str, ...], from_version: int | None) -> None:
    """Move records of older versions of WORKFLOW onto the current version."""
    from crm.workflow.service import WorkflowError, migrate_records

    mapping: dict[str, str] = {}
    for item in mappings:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise click.ClickException(f"write each mapping as OLD=NEW, not {item!r}")
        mapping[old.strip()] = new.strip()
    try:
        moved = migrate_records(workflow, mapping, from_version)
    except (WorkflowError, KeyError) as exc:
        db.session.rollback()
        reasons = (
            exc.reasons if isinstance(exc, WorkflowError) else [f"unknown workflow {workflow!r}"]
        )
        for reason in reasons:
            click.echo(reason, err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"moved {moved} record(s) to the current version of {workflow}")


@workflows_cli.command("fire-timers")
def fire_timers_command() -> None:
    """Fire every timer transition that is due now (the scheduler does this periodically)."""
    from crm.workflow.service import fire_due_timers

    run = fire_due_timers()
    db.session.commit()
    click.echo(f"fired {run.fired}, skipped {run.skipped} (guards not met)")
