"""The `flask crm ...` command group; each command calls the services and commits."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from crm.extensions import db

crm_cli = AppGroup("crm", help="Partnership CRM administration commands.")


@crm_cli.command("create-user")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice(["admin", "manager", "officer"]),
    default="officer",
    show_default=True,
)
@click.password_option(help="Password (asked for when not given).")
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from crm.auth.models import Role
    from crm.auth.service import AccountError, UserValues, create_user

    try:
        user = create_user(UserValues(email=email, name=name, role=Role(role)), password)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}")


@crm_cli.command("scheduler")
@click.option(
    "--once",
    is_flag=True,
    help="Run the jobs once, one after the other, and exit (for cron or a manual catch-up).",
)
@click.option(
    "--job",
    "job_names",
    multiple=True,
    metavar="NAME",
    help="With --once: only this job (repeatable). Jobs: workflow_timers, due_reminders, "
    "daily_digest, link_reminders, expired_links, clean_up, health_stale, health_nightly, "
    "dashboard_refresh, outbox_delivery.",
)
def scheduler_command(once: bool, job_names: tuple[str, ...]) -> None:
    """Run the scheduled jobs in this process until stopped (SIGTERM or Ctrl-C).

    Start exactly one beside the web server; never inside web workers. Every job runs once
    at start-up, then on its interval. The jobs claim their rows in the database, so a
    second scheduler started by mistake does no harm.
    """
    import logging

    from flask import current_app

    from crm.core.jobs import JOBS
    from crm.core.scheduler import run_job, run_scheduler

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    known = {job.name: job for job in JOBS}
    unknown = [name for name in job_names if name not in known]
    if unknown:
        raise click.BadParameter(f"unknown job {', '.join(unknown)}", param_hint="--job")
    if job_names and not once:
        raise click.UsageError("--job needs --once")
    if once:
        for job in JOBS:
            if not job_names or job.name in job_names:
                run_job(app, job)
        return
    run_scheduler(app)


def register_cli(app: Flask) -> None:
    """Attach the `crm` command group (and the data-set commands) to the app."""
    from crm.dashboard.cli import dashboard_cli
    from crm.demo.cli import register_data_commands
    from crm.health.cli import health_cli
    from crm.workflow.cli import workflows_cli

    register_data_commands(crm_cli)
    crm_cli.add_command(workflows_cli)
    crm_cli.add_command(health_cli)
    crm_cli.add_command(dashboard_cli)
    app.cli.add_command(crm_cli)
