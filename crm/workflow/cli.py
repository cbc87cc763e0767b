"""`flask crm workflows ...`: check, publish the schema, migrate records, fire timers."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from crm.extensions import db
from crm.workflow.definitions import Problem, WorkflowDef, json_schema, parse_file

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
    for path in paths:
        definition, problems = parse_file(path, _shown(path))
        if definition is not None:
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
    if failed:
        raise SystemExit(1)


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
